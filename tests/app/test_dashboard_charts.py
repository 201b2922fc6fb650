"""The dashboard's charts: distinct colours (down to 16) and, with NO_COLOR, markers; built off
the UI thread and sized to the terminal; axes within an accuracy's bounds; what is plotted
as finished; the sort and charts remembered between runs."""

from __future__ import annotations

import re
import threading
from dataclasses import replace

from rich.color import Color as RichColor, ColorSystem
from textual.widgets import DataTable, Static

from hpo_tui.app import settings
from hpo_tui.app.styles import SERIES_COLOURS
from tests.app.conftest import SIZE, dashboard_app, diverged_app, job_named, screen_text, settle
from tests.app.fake_backend import FakeBackend, ScriptedJob, diverged_run_snapshot, snapshot_of


def _legend_series(legend: Static) -> list[tuple[str, str]]:
    """(marker, colour) of each series in a legend, in order."""
    text = legend.content  # the rich Text the dashboard wrote
    out = []
    for span in text.spans:
        marker = text.plain[span.start:span.end].strip()
        if marker and span.style and getattr(span.style, "color", None) is not None:
            out.append((marker, str(span.style.color)))
    return out


def test_the_chart_series_colours_stay_distinct_down_to_16_colours():
    for system in (ColorSystem.TRUECOLOR, ColorSystem.EIGHT_BIT, ColorSystem.STANDARD):
        mapped = [RichColor.from_rgb(*rgb).downgrade(system) for rgb in SERIES_COLOURS[:5]]
        assert len({(c.number, c.triplet) for c in mapped}) == 5, system


async def test_five_curves_have_five_colours(finished_backend):
    app = dashboard_app(finished_backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        series = _legend_series(app.screen.query_one("#curves-legend", Static))
        assert len(series) >= 5
        assert len({colour for _, colour in series[:5]}) == 5


async def test_with_no_color_each_curve_has_its_own_marker_and_the_legend_says_which(finished_backend,
                                                                                       monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = dashboard_app(finished_backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.no_color
        legend = app.screen.query_one("#curves-legend", Static)
        markers = [marker for marker, _ in _legend_series(legend)]
        assert len(markers) >= 5 and len(set(markers[:5])) == 5
        plot = app.screen.query_one("#curves-chart")
        drawn = "".join(str(line) for line in plot.render_lines(plot.region.reset_offset))
        assert all(marker in drawn for marker in markers[:5])
        assert "━" not in legend.content.plain  # no line sample that only colour could tell apart  # no braille-only line style in the legend


async def test_the_charts_are_built_off_the_ui_thread_and_follow_a_resize(finished_backend, monkeypatch):
    # plotext's build of a dashboard chart is 12-25 ms: on the UI thread, every poll where a
    # top job reported an epoch held keys and the table back that long.
    from textual_plotext.plot import Plot

    threads: list[threading.Thread] = []
    build = Plot.build

    def recording_build(self):
        threads.append(threading.current_thread())
        return build(self)

    monkeypatch.setattr(Plot, "build", recording_build)
    app = dashboard_app(finished_backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        plot = app.screen.query_one("#curves-chart")
        legend = app.screen.query_one("#curves-legend", Static)

        def drawn() -> list[str]:
            return [line.text for line in plot.render_lines(plot.region.reset_offset)]

        lines = drawn()
        assert threads and threading.main_thread() not in threads
        assert any("per epoch" in line for line in lines)  # the title: a chart, not a blank
        assert len(lines) == plot.size.height and all(len(line) == plot.size.width for line in lines)
        assert _legend_series(legend)  # the top jobs' curves have a legend
        await pilot.resize_terminal(160, 50)
        await settle(pilot)
        wider = drawn()
        assert plot.size.width > len(lines[0]) and all(len(line) == plot.size.width for line in wider)
        axis = next(line for line in wider if "└" in line)
        assert len(axis.rstrip()) > len(lines[0])  # drawn again at the new width, not padded
        assert threading.main_thread() not in threads


async def test_at_80x24_the_charts_are_compact_and_the_table_keeps_ten_rows():
    from hpo_tui.app.widgets.dashboard_charts import COMPACT_HEIGHT
    from tests.app.fake_backend import twelve_job_snapshot

    app = dashboard_app(FakeBackend([twelve_job_snapshot()]))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        # Compact charts from 24 rows (they used to hide below 30).
        charts = screen.query_one("#charts")
        assert charts.display and charts.size.height == COMPACT_HEIGHT
        table = screen.query_one("#jobs-table", DataTable)
        assert table.size.height - 2 >= 10  # the table keeps 10 rows (its header, a sideways scrollbar)
        assert "charts hidden" not in str(screen.query_one("#status-bar", Static).render())
        # The job and status columns stay put when the table scrolls sideways.
        assert table.fixed_columns == 2


async def test_at_200x60_the_charts_grow_and_at_100_columns_the_reference_spec_fits():
    from tests.app.fake_backend import twelve_job_snapshot

    snap = twelve_job_snapshot()
    # The reference spec, run without a failure: no failure reason column.
    snap = replace(snap, training_jobs=tuple(replace(j, failure_reason=None) for j in snap.training_jobs))
    app = dashboard_app(FakeBackend([snap]))
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(pilot)
        assert app.screen.query_one("#charts").size.height > 13
        await pilot.resize_terminal(100, 30)
        await settle(pilot)
        table = app.screen.query_one("#jobs-table", DataTable)
        assert app.screen.query_one("#charts").display
        assert table.virtual_size.width <= table.scrollable_content_region.width
        assert not table.show_horizontal_scrollbar


async def test_one_finished_job_draws_on_an_axis_within_zero_and_one():
    jobs = [ScriptedJob(0, "Completed", {"optimizer": "sgd", "learning_rate": "0.1", "num_epoch": "2"},
                        [0.95, 0.98], start=0, duration=30),
            ScriptedJob(1, "InProgress", {"optimizer": "sgd", "learning_rate": "0.2", "num_epoch": "2"},
                        [0.97], start=10)]
    app = dashboard_app(FakeBackend([snapshot_of(jobs)], jobs=jobs))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        ticks = [float(t) for line in screen_text(app) for t in re.findall(r"(\d+\.\d+)┤", line)]
        assert ticks and max(ticks) <= 1.0, ticks  # was 0.49-1.47 for one job at 0.98
        assert min(ticks) >= 0.9


async def test_the_slice_plots_never_pass_an_accuracys_bounds():
    jobs = [ScriptedJob(0, "Completed", {"optimizer": "sgd", "learning_rate": "0.1", "num_epoch": "2"},
                        [0.95, 0.995], start=0, duration=30),
            ScriptedJob(1, "Completed", {"optimizer": "Adam", "learning_rate": "0.02", "num_epoch": "2"},
                        [0.70, 0.60], start=0, duration=30)]
    app = dashboard_app(FakeBackend([snapshot_of(jobs, "Completed")], jobs=jobs))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("v")
        await settle(pilot)
        ticks = [float(t) for line in screen_text(app) for t in re.findall(r"(\d+\.\d+)┤", line)]
        assert ticks and max(ticks) <= 1.0, ticks  # went to 1.02


async def test_a_failed_partial_job_is_neither_ranked_nor_plotted_as_finished():
    snap = diverged_run_snapshot()
    failed = job_named(2)  # failed at epoch 3 with 0.969: better than all but one finished job
    assert failed not in snap.leaders
    assert 3 not in [x for x, _ in snap.finished_objectives]
    app = diverged_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#jobs-table", DataTable)
        order = table.rows_between(0, table.row_count)
        assert order[-1] == failed  # sorted with the jobs that have no result
        legend = str(app.screen.query_one("#curves-legend", Static).render())
        assert failed.split("-")[-2] not in legend  # not among the top 5 curves


async def test_sort_and_charts_are_remembered_and_a_corrupt_settings_file_is_ignored(mid_run_backend):
    app = dashboard_app(mid_run_backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.screen.sort_by("learning_rate", reverse=True)
        await pilot.press("c")
        app.theme = "nord"
        await settle(pilot)
    remembered = settings.load(lambda m: None)
    assert (remembered.sort_key, remembered.sort_reverse, remembered.charts, remembered.theme) == \
        ("learning_rate", True, False, "nord")
    again = dashboard_app(mid_run_backend)
    async with again.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert again.theme == "nord"
        assert not again.screen.query_one("#charts").display
        assert "sort: learning_rate (reversed)" in str(again.screen.query_one("#status-bar", Static).render())

    settings.settings_path().write_text("theme = [unclosed\n")
    notices: list[str] = []
    third = dashboard_app(mid_run_backend)
    async with third.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        notices = [n.message for n in third._notifications]
        assert third.screen.query_one("#charts").display  # the defaults
        assert any("Ignored the settings file" in n for n in notices)
