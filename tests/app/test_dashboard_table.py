"""The dashboard's table of training jobs: only changed cells are written, sort (dialog and header),
filter (by status and with /), the frozen order, the cursor, the best row in every theme,
and the sparklines' shared scale (a diverged job, the label, z to zoom)."""

from __future__ import annotations

from dataclasses import replace

from textual.color import Color
from textual.widgets import DataTable, Input, OptionList, Static

from hpo_tui.app.screens.dashboard import COL_EPOCH, DashboardScreen
from hpo_tui.app.screens.dialogs import FilterDialog, SortDialog
from hpo_tui.app.widgets.training_jobs_table import COL_CURVE, COL_OBJECTIVE, CURVE_LABEL_WIDTH, fmt_scale
from tests.app.conftest import (
    SIZE,
    WriteCounter,
    cursor_key,
    dashboard_app,
    diverged_app,
    job_named,
    row_order,
    settle,
)
from tests.app.fake_backend import FakeBackend, ScriptedJob, diverged_run_jobs, mid_run_jobs, snapshot_of


def _frames_with_one_change():
    jobs = mid_run_jobs()
    first = snapshot_of(jobs)
    changed = list(jobs)
    # Job 4 (index 3) reports its third epoch: objective 0.9581 -- still not the best.
    changed[3] = replace(jobs[3], accuracy=jobs[3].accuracy + [0.9581], loss=jobs[3].loss + [0.14])
    second = snapshot_of(changed)
    old_points = set(first.new_points)
    # Points arrive in order: the new epoch's points come after everything already sent.
    points = first.new_points + tuple(p for p in second.new_points if p not in old_points)
    second = replace(second, new_points=points)
    return jobs, changed, first, second


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


def _contrast(a: Color, b: Color) -> float:
    def luminance(c: Color) -> float:
        def channel(v: int) -> float:
            v = v / 255
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
        return 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b)

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


async def test_poll_without_changes_writes_nothing_and_one_changed_job_writes_only_its_cells():
    jobs, changed, first, second = _frames_with_one_change()
    backend = FakeBackend([first, first, second], jobs=changed)
    app = dashboard_app(backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        table = screen.query_one("#jobs-table", DataTable)
        assert table.row_count == 6
        # Put the cursor on job 2 (0.9552): job 4 will overtake it in the default sort.
        job2, job4 = jobs[1].name, jobs[3].name
        table.move_cursor(row=table.get_row_index(job2))
        counter = WriteCounter(table)

        backend.frame = 1
        await pilot.press("r")
        await settle(pilot)
        assert backend.polls == 2
        assert counter.total == 0, counter.updates

        backend.frame = 2
        await pilot.press("r")
        await settle(pilot)
        assert backend.polls == 3
        assert counter.adds == [] and counter.removes == []
        assert {row for row, _ in counter.updates} == {job4}
        assert sorted(col for _, col in counter.updates) == sorted([COL_OBJECTIVE, COL_EPOCH, COL_CURVE])
        assert table.get_cell(job4, COL_EPOCH).plain == "3/5"
        assert table.get_cell(job4, COL_OBJECTIVE).plain == "0.9581"
        # Re-sorted on raw values, and the cursor stayed on its job, not on its old row index.
        order = row_order(table)
        assert order.index(job4) < order.index(job2)
        assert cursor_key(table) == job2


async def test_best_job_is_marked_and_sorted_first_and_jobs_without_objective_last(mid_run_backend):
    app = dashboard_app(mid_run_backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#jobs-table", DataTable)
        snapshot = app.screen.snapshot
        best = snapshot.tuning_job.best_training_job
        order = row_order(table)
        assert order[0] == best
        assert table.get_cell(best, ":job").plain.startswith("★")
        assert sum(table.get_cell(name, ":job").plain.startswith("★") for name in order) == 1
        no_objective = [j.name for j in snapshot.training_jobs if j.final_objective is None]
        assert order[-len(no_objective):] == no_objective
        assert cursor_key(table) == best
        # The failed job's reason is shown shortened, without its terminal escapes.
        failed = next(j for j in snapshot.training_jobs if j.status == "Failed")
        reason = table.get_cell(failed.name, ":reason").plain
        assert reason.startswith("AlgorithmError") and "\x1b" not in reason and len(reason) <= 28


async def test_changing_the_theme_recolours_the_best_row(finished_backend):
    app = dashboard_app(finished_backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#jobs-table", DataTable)
        best = app.screen.snapshot.tuning_job.best_training_job
        before = table.get_cell(best, ":objective").style
        app.theme = "nord"  # its success colour differs from the default theme's
        await settle(pilot)
        after = table.get_cell(best, ":objective").style
        assert str(after) != str(before)
        assert str(after.color.name).lower() == app.theme_variables["success"].lower()


async def test_the_cursor_on_the_best_row_is_readable_in_every_theme(finished_backend):
    app = dashboard_app(finished_backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for theme in ("textual-dark", "textual-light", "nord", "gruvbox"):
            app.theme = theme
            await settle(pilot)
            table = app.screen.query_one("#jobs-table", DataTable)
            assert cursor_key(table) == app.screen.snapshot.tuning_job.best_training_job
            success = Color.parse(app.theme_variables["success"])
            strip = table.render_line(1)  # the first row, under the cursor
            text_segments = [s for s in strip if s.text.strip()]
            assert "★" in "".join(s.text for s in text_segments)
            for segment in text_segments:
                fg, bg = Color.from_rich_color(segment.style.color), Color.from_rich_color(segment.style.bgcolor)
                assert fg != success, f"{theme}: best row's green kept under the cursor"
                assert _contrast(fg, bg) >= 3.0, f"{theme}: {segment.text!r} unreadable under the cursor"


async def test_sort_dialog_orders_by_raw_hyperparameter_values_and_keeps_the_cursor_row(mid_run_backend):
    app = dashboard_app(mid_run_backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#jobs-table", DataTable)
        selected = cursor_key(table)
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, SortDialog)
        options = app.screen.query_one(OptionList)
        options.highlighted = options.get_option_index("learning_rate")
        await pilot.press("enter")
        await settle(pilot)
        jobs = {j.name: j for j in app.screen.snapshot.training_jobs}
        rates = [float(jobs[name].hyperparameters["learning_rate"]) for name in row_order(table)]
        assert rates == sorted(rates)  # numerically: "0.0456" < "0.1375" < "0.198"
        assert cursor_key(table) == selected
        # Choosing the same column again reverses it.
        await pilot.press("o")
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        rates = [float(jobs[name].hyperparameters["learning_rate"]) for name in row_order(table)]
        assert rates == sorted(rates, reverse=True)


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
        rates = [float(jobs[n].hyperparameters["learning_rate"]) for n in row_order(table)]
        assert rates == sorted(rates)
        assert "sort: learning_rate" in str(app.screen.query_one("#status-bar", Static).render())
        await pilot.click("#jobs-table", offset=(x + 2, 0))
        await settle(pilot)
        rates = [float(jobs[n].hyperparameters["learning_rate"]) for n in row_order(table)]
        assert rates == sorted(rates, reverse=True)


async def test_p_freezes_the_row_order_so_down_enter_opens_the_row_that_was_under_the_eye():
    from hpo_tui.app.screens.detail import DetailScreen

    jobs, backend = _overtaking_frames()
    app = dashboard_app(backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#jobs-table", DataTable)
        before = row_order(table)
        await pilot.press("p")
        backend.frame = 1
        await pilot.press("r")
        await settle(pilot)
        assert row_order(table) == before  # the poll moved nothing
        assert "order frozen" in str(app.screen.query_one("#status-bar", Static).render())
        await pilot.press("down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, DetailScreen) and app.screen.job == before[1]
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("p")  # resume: the new leader goes on top at once
        await settle(pilot)
        assert row_order(table)[0] == jobs[4].name


async def test_live_resorting_without_freeze_keeps_the_cursor_on_its_job():
    jobs, backend = _overtaking_frames()
    app = dashboard_app(backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#jobs-table", DataTable)
        await pilot.press("down")
        selected = cursor_key(table)
        backend.frame = 1
        await pilot.press("r")
        await settle(pilot)
        assert row_order(table)[0] == jobs[4].name
        assert cursor_key(table) == selected


async def test_j_k_g_G_move_the_cursor_like_vi(mid_run_backend):
    app = dashboard_app(mid_run_backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#jobs-table", DataTable)
        order = row_order(table)
        await pilot.press("j", "j")
        assert cursor_key(table) == order[2]
        await pilot.press("k")
        assert cursor_key(table) == order[1]
        await pilot.press("G")
        assert cursor_key(table) == order[-1]
        await pilot.press("g")
        assert cursor_key(table) == order[0]


async def test_filter_by_status_shows_only_those_jobs_and_all_restores_them(mid_run_backend):
    app = dashboard_app(mid_run_backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#jobs-table", DataTable)
        await pilot.press("f")
        await pilot.pause()
        assert isinstance(app.screen, FilterDialog)
        for status in ("InProgress", "Completed", "Stopping", "Stopped"):
            app.screen.query_one(f"#filter-{status}").value = False
        await pilot.click("#apply")
        await settle(pilot)
        shown = row_order(table)
        statuses = {j.name: j.status for j in app.screen.snapshot.training_jobs}
        assert [statuses[n] for n in shown] == ["Failed"]
        await pilot.press("f")
        await pilot.pause()
        await pilot.click("#all")
        await settle(pilot)
        assert table.row_count == 6


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
        assert sorted(row_order(table)) == sorted(n for n, j in jobs.items() if j.hyperparameters["optimizer"] == "Adam")
        bar = str(screen.query_one("#filter-bar", Static).render())
        assert "/adam" in bar and "3 of 6 jobs shown" in bar
        await pilot.press("space", *"failed")  # every word must match: Adam and Failed
        await settle(pilot)
        assert [jobs[n].status for n in row_order(table)] == ["Failed"]
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


async def test_a_new_sparkline_scale_rewrites_only_curve_cells():
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


def test_the_sparkline_scale_label_fits_its_column():
    assert len(fmt_scale(0.089, 0.98)) <= CURVE_LABEL_WIDTH  # was "▁.089 █.98"
    assert len(fmt_scale(-0.0123, 1234.5)) <= CURVE_LABEL_WIDTH


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
