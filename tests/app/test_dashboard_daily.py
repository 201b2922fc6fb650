"""The dashboard for daily use (issue 12, part B): / filter, j/k/g/G, header sort, frozen
order, readable cursor, distinct curves (also with NO_COLOR), one sparkline scale,
a layout that adapts to the terminal, and remembered settings."""

from __future__ import annotations

import re
import threading
from dataclasses import replace

from rich.color import Color as RichColor
from rich.color import ColorSystem
from textual.color import Color
from textual.widgets import DataTable, Input, Static

from hpo_tui.app import settings
from hpo_tui.app.screens.dashboard import COL_CURVE, DashboardScreen
from hpo_tui.app.styles import SERIES_COLOURS
from tests.app.conftest import dashboard_app, settle
from tests.app.fake_backend import FakeBackend, ScriptedJob, mid_run_jobs, snapshot_of


def _order(table: DataTable) -> list[str]:
    return [row.key.value for row in table.ordered_rows]


def _cursor(table: DataTable) -> str:
    return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value


async def test_slash_filters_by_name_status_and_hyperparameter_values(mid_run_backend):
    app = dashboard_app(mid_run_backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        table = screen.query_one("#jobs-table", DataTable)
        jobs = {j.name: j for j in screen.snapshot.training_jobs}
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"adam")  # a hyperparameter value, any case
        await settle(pilot)
        assert sorted(_order(table)) == sorted(n for n, j in jobs.items() if j.hyperparameters["optimizer"] == "Adam")
        bar = str(screen.query_one("#filter-bar", Static).render())
        assert "/adam" in bar and "3 of 6 jobs shown" in bar
        await pilot.press("space", *"failed")  # every word must match: Adam and Failed
        await settle(pilot)
        assert [jobs[n].status for n in _order(table)] == ["Failed"]
        await pilot.press("enter")  # keeps the filter, back to the table
        assert app.focused is table
        assert table.row_count == 1


async def test_a_filter_that_matches_nothing_says_so_instead_of_a_blank_table(mid_run_backend):
    app = dashboard_app(mid_run_backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        await pilot.press("slash", *"rmsprop")
        await settle(pilot)
        no_match = screen.query_one("#no-match", Static)
        assert no_match.display and "No training jobs match /rmsprop" in str(no_match.render())
        assert not screen.query_one("#jobs-table").display
        await pilot.press("escape")  # clears the filter (the dashboard stays)
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        assert screen.query_one("#jobs-table", DataTable).row_count == 6
        assert not no_match.display and not screen.query_one("#filter-bar").display


async def test_the_filter_summary_is_not_cut_at_80_columns(mid_run_backend):
    app = dashboard_app(mid_run_backend)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"sgd")
        await settle(pilot)
        bar = app.screen.query_one("#filter-bar", Static)
        assert "3 of 6 jobs shown" in str(bar.render())
        assert bar.size.width <= 80 and bar.size.height >= 1


async def test_j_k_g_G_move_the_cursor_like_vi(mid_run_backend):
    app = dashboard_app(mid_run_backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#jobs-table", DataTable)
        order = _order(table)
        await pilot.press("j", "j")
        assert _cursor(table) == order[2]
        await pilot.press("k")
        assert _cursor(table) == order[1]
        await pilot.press("G")
        assert _cursor(table) == order[-1]
        await pilot.press("g")
        assert _cursor(table) == order[0]


async def test_clicking_a_header_sorts_by_it_and_a_second_click_reverses(mid_run_backend):
    app = dashboard_app(mid_run_backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#jobs-table", DataTable)
        jobs = {j.name: j for j in app.screen.snapshot.training_jobs}
        x = 0
        for column in table.ordered_columns:
            if column.key.value == "learning_rate":
                break
            x += column.get_render_width(table)
        await pilot.click("#jobs-table", offset=(x + 2, 0))
        await settle(pilot)
        rates = [float(jobs[n].hyperparameters["learning_rate"]) for n in _order(table)]
        assert rates == sorted(rates)
        assert "sort: learning_rate" in str(app.screen.query_one("#status-bar", Static).render())
        await pilot.click("#jobs-table", offset=(x + 2, 0))
        await settle(pilot)
        rates = [float(jobs[n].hyperparameters["learning_rate"]) for n in _order(table)]
        assert rates == sorted(rates, reverse=True)


def _overtaking_frames():
    """Two polls: in the second, job 5 (now 4th) reports an epoch that puts it on top."""
    jobs = mid_run_jobs()
    first = snapshot_of(jobs)
    later = list(jobs)
    later[4] = replace(jobs[4], accuracy=jobs[4].accuracy + [0.9901])
    second = snapshot_of(later)
    old = set(first.new_points)
    return jobs, FakeBackend([first, replace(second, new_points=first.new_points + tuple(
        p for p in second.new_points if p not in old))], jobs=later)


async def test_p_freezes_the_row_order_so_down_enter_opens_the_row_that_was_under_the_eye():
    from hpo_tui.app.screens.detail import DetailScreen

    jobs, backend = _overtaking_frames()
    app = dashboard_app(backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#jobs-table", DataTable)
        before = _order(table)
        await pilot.press("p")
        backend.frame = 1
        await pilot.press("r")
        await settle(pilot)
        assert _order(table) == before  # the poll moved nothing
        assert "order frozen" in str(app.screen.query_one("#status-bar", Static).render())
        await pilot.press("down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, DetailScreen) and app.screen.job == before[1]
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("p")  # resume: the new leader goes on top at once
        await settle(pilot)
        assert _order(table)[0] == jobs[4].name


async def test_live_resorting_without_freeze_keeps_the_cursor_on_its_job():
    jobs, backend = _overtaking_frames()
    app = dashboard_app(backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#jobs-table", DataTable)
        await pilot.press("down")
        selected = _cursor(table)
        backend.frame = 1
        await pilot.press("r")
        await settle(pilot)
        assert _order(table)[0] == jobs[4].name
        assert _cursor(table) == selected


def _contrast(a: Color, b: Color) -> float:
    def luminance(c: Color) -> float:
        def channel(v: int) -> float:
            v = v / 255
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
        return 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b)

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


async def test_the_cursor_on_the_best_row_is_readable_in_every_theme(finished_backend):
    app = dashboard_app(finished_backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for theme in ("textual-dark", "textual-light", "nord", "gruvbox"):
            app.theme = theme
            await settle(pilot)
            table = app.screen.query_one("#jobs-table", DataTable)
            assert _cursor(table) == app.screen.snapshot.tuning_job.best_training_job
            success = Color.parse(app.theme_variables["success"])
            strip = table.render_line(1)  # the first row, under the cursor
            text_segments = [s for s in strip if s.text.strip()]
            assert "★" in "".join(s.text for s in text_segments)
            for segment in text_segments:
                fg, bg = Color.from_rich_color(segment.style.color), Color.from_rich_color(segment.style.bgcolor)
                assert fg != success, f"{theme}: best row's green kept under the cursor"
                assert _contrast(fg, bg) >= 3.0, f"{theme}: {segment.text!r} unreadable under the cursor"


def test_the_chart_series_colours_stay_distinct_down_to_16_colours():
    for system in (ColorSystem.TRUECOLOR, ColorSystem.EIGHT_BIT, ColorSystem.STANDARD):
        mapped = [RichColor.from_rgb(*rgb).downgrade(system) for rgb in SERIES_COLOURS[:5]]
        assert len({(c.number, c.triplet) for c in mapped}) == 5, system


def _legend_series(legend: Static) -> list[tuple[str, str]]:
    """(marker, colour) of each series in a legend, in order."""
    text = legend.content  # the rich Text the dashboard wrote
    out = []
    for span in text.spans:
        marker = text.plain[span.start:span.end].strip()
        if marker and span.style and getattr(span.style, "color", None) is not None:
            out.append((marker, str(span.style.color)))
    return out


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


async def test_sparklines_share_one_scale_and_the_header_shows_it():
    # The case: 0.49 -> 0.86 and 0.07 -> 0.14 both drew ▁█ on per-row scales.
    jobs = [ScriptedJob(0, "Completed", {"optimizer": "sgd", "learning_rate": "0.1", "num_epoch": "2"},
                        [0.49, 0.86], start=0, duration=30),
            ScriptedJob(1, "Completed", {"optimizer": "sgd", "learning_rate": "0.9", "num_epoch": "2"},
                        [0.07, 0.14], start=0, duration=30)]
    app = dashboard_app(FakeBackend([snapshot_of(jobs, "Completed")], jobs=jobs))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#jobs-table", DataTable)
        high = table.get_cell(jobs[0].name, COL_CURVE).plain
        low = table.get_cell(jobs[1].name, COL_CURVE).plain
        assert high == "▅█" and low == "▁▂"
        label = table.columns[COL_CURVE].label.plain  # type: ignore[index]
        assert label == "▁.07 █.86"


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


def _jobs_list_app():
    from hpo_tui.app.app import make_app
    from tests.app.fake_backend import NOW, T0, finished_jobs, tuning_view

    jobs = finished_jobs()
    older = replace(tuning_view(mid_run_jobs()[:3], "Stopped", ended=T0 - 3000.0), name="mnist-hpo-251127-0930",
                    created_at=T0 - 86_400.0, strategy="Random")
    failed = replace(tuning_view([], "Failed", ended=T0 - 90_000), name="cifar-hpo-251126-2210",
                     created_at=T0 - 2 * 86_400.0)
    backend = FakeBackend([snapshot_of(jobs, "Completed", ended=NOW - 60.0)], jobs=jobs, others=[failed, older])
    return make_app(backend=backend, start="jobs", interval=3600.0, clock=lambda: NOW)


async def test_jobs_list_filters_with_slash_and_moves_with_j_k_g_G():
    app = _jobs_list_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#tuning-jobs-table", DataTable)
        newest_first = _order(table)
        assert len(newest_first) == 3
        await pilot.press("j")
        assert _cursor(table) == newest_first[1]
        await pilot.press("G")
        assert _cursor(table) == newest_first[2]
        await pilot.press("g", "k")
        assert _cursor(table) == newest_first[0]
        await pilot.press("slash", *"mnist")
        await settle(pilot)
        assert all(name.startswith("mnist") for name in _order(table)) and table.row_count == 2
        await pilot.press("space", *"random")  # the strategy too
        await settle(pilot)
        assert _order(table) == ["mnist-hpo-251127-0930"]
        await pilot.press(*"zzz")
        await settle(pilot)
        no_match = app.screen.query_one("#jobs-no-match", Static)
        assert no_match.display and "No tuning jobs match" in str(no_match.render())
        await pilot.press("escape")
        await settle(pilot)
        assert _order(table) == newest_first and table.display


async def test_jobs_list_sorts_by_a_clicked_header():
    app = _jobs_list_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#tuning-jobs-table", DataTable)
        await pilot.click("#tuning-jobs-table", offset=(3, 0))  # the "tuning job" header
        await settle(pilot)
        assert _order(table) == sorted(_order(table))
        await pilot.click("#tuning-jobs-table", offset=(3, 0))
        await settle(pilot)
        assert _order(table) == sorted(_order(table), reverse=True)


async def test_at_80x24_configure_stacks_its_columns_and_no_table_is_cut():
    from hpo_tui.app.app import make_app

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for selector in ("#ranges-table", "#metrics-table"):
            table = app.screen.query_one(selector, DataTable)
            table.scroll_visible(animate=False)
            await settle(pilot)
            assert table.virtual_size.width <= table.scrollable_content_region.width, selector
        await pilot.resize_terminal(120, 40)  # wide again: side by side
        await settle(pilot)
        left, right = app.screen.query_one("#form-left"), app.screen.query_one("#form-right")
        assert left.region.y == right.region.y and left.region.x < right.region.x


async def test_progress_is_weighted_by_epochs_and_the_header_shows_an_eta():
    from textual.widgets import ProgressBar

    # The run: 0/9 finished for 1m33s while its jobs were 15/34, 14/15 and 13/37 epochs in.
    jobs = [ScriptedJob(i, "InProgress", {"optimizer": "sgd", "learning_rate": "0.1", "num_epoch": str(n)},
                        [0.9 + k * 1e-3 for k in range(done)], start=0)
            for i, (done, n) in enumerate(((15, 34), (14, 15), (13, 37)))]
    snap = snapshot_of(jobs)
    from hpo_tui.app.app import make_app
    from tests.app.fake_backend import TUNING_JOB

    now = snap.tuning_job.created_at + 94.0
    app = make_app(backend=FakeBackend([replace(snap, fetched_at=now)], jobs=jobs), attach=TUNING_JOB,
                   start="dashboard", interval=3600.0, clock=lambda: now)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        bar = app.screen.query_one("#dash-progress", ProgressBar)
        assert bar.percentage is not None and bar.percentage > 0.05  # not "0%" any more
        counters = str(app.screen.query_one("#dash-counters", Static).render())
        assert re.search(r"ETA \d+m\d\ds", counters), counters
        assert "0/9 finished" in counters and "epochs 42/" in counters


async def test_a_new_sparkline_scale_rewrites_only_curve_cells():
    from tests.app.test_dashboard import WriteCounter

    jobs = mid_run_jobs()
    first = snapshot_of(jobs)
    later = list(jobs)
    later[3] = replace(jobs[3], accuracy=jobs[3].accuracy + [0.9912])  # a new maximum: the scale grows
    second = snapshot_of(later)
    old = set(first.new_points)
    backend = FakeBackend([first, replace(second, new_points=first.new_points + tuple(
        p for p in second.new_points if p not in old))], jobs=later)
    app = dashboard_app(backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#jobs-table", DataTable)
        before = table.columns[COL_CURVE].label.plain  # type: ignore[index]
        counter = WriteCounter(table)
        backend.frame = 1
        await pilot.press("r")
        await settle(pilot)
        assert table.columns[COL_CURVE].label.plain != before  # type: ignore[index]
        others = [(row, col) for row, col in counter.updates if row != jobs[3].name]
        assert others and {col for _, col in others} == {COL_CURVE}
        assert counter.adds == [] and counter.removes == []
