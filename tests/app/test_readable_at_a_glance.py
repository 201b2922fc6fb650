"""Issue 26 (readable at a glance): scales that survive a diverged job, a layout that fits,
and keys that do what k9s and lazygit users expect. One test per defect the issue lists."""

from __future__ import annotations

import re
from dataclasses import replace

from textual.containers import VerticalScroll
from textual.widgets import Button, DataTable, Input, Static

from hpo_tui.app.app import make_app
from hpo_tui.app.screens.configure import ConfigureScreen
from hpo_tui.app.screens.dashboard import DashboardScreen
from hpo_tui.app.screens.dialogs import ConfirmDialog
from hpo_tui.app.widgets.training_jobs_table import COL_CURVE, COL_OBJECTIVE, CURVE_LABEL_WIDTH, fmt_scale
from tests.app.conftest import dashboard_app, record_tuning_job, settle
from tests.app.fake_backend import (
    FakeBackend,
    ScriptedJob,
    diverged_run_jobs,
    diverged_run_snapshot,
    mid_run_jobs,
    snapshot_of,
)
from tests.app.test_daily_use import _keep_every_notification, wait_for_note, wait_until  # noqa: F401

SIZE = (120, 40)


def screen_text(app) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


def diverged_app():
    return dashboard_app(FakeBackend([diverged_run_snapshot()], jobs=diverged_run_jobs()))


def job_named(index: int) -> str:
    return diverged_run_jobs()[index].name


# --- scales -------------------------------------------------------------------------------------


async def test_a_diverged_job_leaves_the_sgd_sparklines_distinct_and_is_marked():
    app = diverged_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#jobs-table", DataTable)
        sgd_done = [j.name for j in diverged_run_jobs()
                    if j.hyperparameters["optimizer"] == "sgd" and j.status == "Completed"]
        curves = [table.get_cell(name, COL_CURVE).plain for name in sgd_done]
        # On a scale stretched to the collapsed job's 0.098 they all read ▇▇██.
        assert len(set(curves)) == len(curves), curves
        assert table.get_cell(job_named(12), COL_CURVE).plain == "↓diverged"
        label = table.columns[COL_CURVE].label.plain  # type: ignore[index]
        assert label == "▁.91 █.98"


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


def test_the_sparkline_scale_label_fits_its_column():
    assert len(fmt_scale(0.089, 0.98)) <= CURVE_LABEL_WIDTH  # was "▁.089 █.98"
    assert len(fmt_scale(-0.0123, 1234.5)) <= CURVE_LABEL_WIDTH


async def test_z_zooms_the_scales_to_the_top_jobs_and_back():
    app = diverged_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#jobs-table", DataTable)
        whole = table.columns[COL_CURVE].label.plain  # type: ignore[index]
        await pilot.press("z")
        await settle(pilot)
        zoomed = table.columns[COL_CURVE].label.plain  # type: ignore[index]
        assert zoomed != whole and zoomed.startswith("▁.96")
        assert "zoomed to the top jobs" in str(app.screen.query_one("#status-bar", Static).render())
        assert "↓" in table.get_cell(job_named(4), COL_CURVE).plain  # early epochs below the zoom
        await pilot.press("z")
        await settle(pilot)
        assert table.columns[COL_CURVE].label.plain == whole  # type: ignore[index]


async def test_the_detail_view_says_a_job_diverged():
    app = diverged_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#jobs-table", DataTable)
        table.move_cursor(row=table.get_row_index(job_named(12)))
        await pilot.press("enter")
        await settle(pilot)
        info = str(app.screen.query_one("#detail-info", Static).render())
        assert "diverged" in info and "0.9552" in info  # its objective against the median


# --- layout -------------------------------------------------------------------------------------


async def test_the_header_keeps_every_counter_whole_at_120_and_80_columns():
    for size, wanted in (((120, 40), "ep 41/58"), ((80, 24), "ep 41/58")):
        app = diverged_app()
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            header = " ".join(screen_text(app)[:4])
            for counter in ("ETA 36m02s", "10/15", "3/4 run (3 cpu)", "1 fail", "1 stop", "8 ", wanted):
                assert counter in header, (size, counter, header)


async def test_on_a_narrow_screen_the_ranges_come_first_on_configure():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.screen.query_one("#form").children[0].id == "form-right"
        assert "Hyperparameter ranges" in screen_text(app)[1]  # in view at start
        await pilot.resize_terminal(120, 40)
        await settle(pilot)
        assert app.screen.query_one("#form").children[0].id == "form-left"


# --- keys ---------------------------------------------------------------------------------------


async def test_escape_after_an_applied_filter_clears_it_before_leaving():
    backend = FakeBackend([snapshot_of(mid_run_jobs())], jobs=mid_run_jobs())
    app = dashboard_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#jobs-table", DataTable)
        every = table.row_count
        await pilot.press("slash", "s", "g", "d", "enter")
        await settle(pilot)
        assert table.row_count < every and app.focused is table
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)  # the filter went, not the dashboard
        assert table.row_count == every and table.text_filter == ""
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, DashboardScreen)


async def test_ctrl_q_on_an_edited_form_asks_to_discard_and_defaults_to_cancel():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        field = app.screen.query_one("#max-jobs", Input)
        field.focus()
        await pilot.press("end", "0")
        await settle(pilot)
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog) and "Discard changes?" in screen_text_of_dialog(app)
        assert isinstance(app.focused, Button) and app.focused.id == "cancel"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfigureScreen) and app.is_running
        assert field.value == "90"


def screen_text_of_dialog(app) -> str:
    return " ".join(str(label.render()) for label in app.screen.query(".dialog-title"))


async def test_tab_into_an_input_keeps_its_text_and_never_stops_on_a_column():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        seen = []
        for _ in range(40):
            await pilot.press("tab")
            focused = app.focused
            assert not (isinstance(focused, VerticalScroll) and "form-column" in focused.classes), focused
            seen.append(focused)
            if isinstance(focused, Input) and focused.id == "max-jobs":
                break
        assert isinstance(app.focused, Input) and app.focused.id == "max-jobs"
        await pilot.press("7")
        assert app.focused.value == "97"  # was "7": the text was selected and replaced


async def test_the_stop_dialog_defaults_to_cancel(mid_run_backend):
    app = dashboard_app(mid_run_backend)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.focused, Button) and app.focused.id == "cancel"
        await pilot.press("enter")
        await settle(pilot)
        assert mid_run_backend.stopped == []


async def test_the_palette_finds_slice(mid_run_backend):
    from textual.command import CommandList

    app = dashboard_app(mid_run_backend)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"slice")

        def shown() -> str:
            lists = app.screen.query(CommandList)
            return " ".join(str(lists.first().get_option_at_index(i).prompt)
                            for i in range(lists.first().option_count)) if lists else ""

        await wait_until(pilot, lambda: "Search views" in shown(), "the search views command")


async def test_y_says_copied_only_when_a_clipboard_took_it(mid_run_backend):
    app = dashboard_app(mid_run_backend)  # headless: no clipboard the app can see
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("y")
        await wait_for_note(pilot, "not copied: this session has no clipboard")
        assert app.clipboard.startswith("--optimizer")  # still in the app's own clipboard (paste)
        titles = [n.title for n in app._notifications]
        assert "Copied" not in titles


async def test_a_clone_keeps_the_ranges_order():
    from hpo_tui.spec import TuningSpec

    spec = TuningSpec()
    assert list(spec.ranges) == ["optimizer", "learning_rate", "num_epoch"]  # not alphabetical
    record_tuning_job("done-before", spec)
    app = make_app(start="jobs", interval=3600.0)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.screen.jobs, "the jobs list")
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfigureScreen), "the configure screen")
        assert list(app.screen.current_spec().ranges) == ["optimizer", "learning_rate", "num_epoch"]
        ranges = app.screen.query_one("#ranges-table", DataTable)
        assert [row.value for row in ranges.rows] == ["optimizer", "learning_rate", "num_epoch"]


async def test_log_lines_wrap_in_the_detail_view():
    long_reason = "AlgorithmError: " + "a very long traceback line " * 12
    jobs = mid_run_jobs()
    jobs[2] = replace(jobs[2], failure_reason=long_reason)
    app = dashboard_app(FakeBackend([snapshot_of(jobs)], jobs=jobs))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#jobs-table", DataTable)
        table.move_cursor(row=table.get_row_index(jobs[2].name))
        await pilot.press("enter")
        await settle(pilot)
        log = app.screen.query_one("#detail-log")
        await wait_until(pilot, lambda: log.raw_lines, "the log")
        assert any(line.strip() == long_reason.strip() for line in log.raw_lines)  # the pager gets it whole
        assert log.virtual_size.width <= log.size.width  # no sideways scrolling: it wraps
        assert any(line.startswith("  ↪ ") for line in log.lines)
