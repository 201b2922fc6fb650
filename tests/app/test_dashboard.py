"""Dashboard behaviour on scripted data: table diffing, sort, filter, export, stop, quit,
polling pauses, and the command palette."""

from __future__ import annotations

import csv
import json
import time
from dataclasses import replace

from textual.widgets import DataTable, OptionList

from hpo_tui.app.screens.dashboard import COL_CURVE, COL_EPOCH, COL_OBJECTIVE, DashboardScreen
from hpo_tui.app.screens.dialogs import ConfirmDialog, ExportDialog, FilterDialog, HelpScreen, SortDialog
from tests.app.conftest import dashboard_app, settle
from tests.app.fake_backend import TUNING_JOB, FakeBackend, mid_run_jobs, snapshot_of


def _row_order(table: DataTable) -> list[str]:
    return [row.key.value for row in table.ordered_rows]


def _cursor_key(table: DataTable) -> str:
    return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value


class WriteCounter:
    """Counts the table writes (cell updates, add_row, remove_row) and lets them through.

    The training-jobs table writes cells through its own _set_cell (it keeps the other
    cells' renders); other tables through DataTable.update_cell."""

    def __init__(self, table: DataTable) -> None:
        self.updates: list[tuple[str, str]] = []
        self.adds: list[str] = []
        self.removes: list[str] = []
        cell_writer = "_set_cell" if hasattr(table, "_set_cell") else "update_cell"
        update_cell, add_row, remove_row = getattr(table, cell_writer), table.add_row, table.remove_row

        def counting_update(row_key, column_key, value, **kw):
            self.updates.append((str(getattr(row_key, "value", row_key)), str(getattr(column_key, "value", column_key))))
            return update_cell(row_key, column_key, value, **kw)

        def counting_add(*cells, **kw):
            self.adds.append(kw.get("key"))
            return add_row(*cells, **kw)

        def counting_remove(row_key):
            self.removes.append(str(getattr(row_key, "value", row_key)))
            return remove_row(row_key)

        setattr(table, cell_writer, counting_update)
        table.add_row, table.remove_row = counting_add, counting_remove

    @property
    def total(self) -> int:
        return len(self.updates) + len(self.adds) + len(self.removes)


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
        order = _row_order(table)
        assert order.index(job4) < order.index(job2)
        assert _cursor_key(table) == job2


async def test_best_job_is_marked_and_sorted_first_and_jobs_without_objective_last(mid_run_backend):
    app = dashboard_app(mid_run_backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#jobs-table", DataTable)
        snapshot = app.screen.snapshot
        best = snapshot.tuning_job.best_training_job
        order = _row_order(table)
        assert order[0] == best
        assert table.get_cell(best, ":job").plain.startswith("★")
        assert sum(table.get_cell(name, ":job").plain.startswith("★") for name in order) == 1
        no_objective = [j.name for j in snapshot.training_jobs if j.final_objective is None]
        assert order[-len(no_objective):] == no_objective
        assert _cursor_key(table) == best
        # The failed job's reason is shown shortened, without its terminal escapes.
        failed = next(j for j in snapshot.training_jobs if j.status == "Failed")
        reason = table.get_cell(failed.name, ":reason").plain
        assert reason.startswith("AlgorithmError") and "\x1b" not in reason and len(reason) <= 28


async def test_sort_dialog_orders_by_raw_hyperparameter_values_and_keeps_the_cursor_row(mid_run_backend):
    app = dashboard_app(mid_run_backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#jobs-table", DataTable)
        selected = _cursor_key(table)
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, SortDialog)
        options = app.screen.query_one(OptionList)
        options.highlighted = options.get_option_index("learning_rate")
        await pilot.press("enter")
        await settle(pilot)
        jobs = {j.name: j for j in app.screen.snapshot.training_jobs}
        rates = [float(jobs[name].hyperparameters["learning_rate"]) for name in _row_order(table)]
        assert rates == sorted(rates)  # numerically: "0.0456" < "0.1375" < "0.198"
        assert _cursor_key(table) == selected
        # Choosing the same column again reverses it.
        await pilot.press("o")
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        rates = [float(jobs[name].hyperparameters["learning_rate"]) for name in _row_order(table)]
        assert rates == sorted(rates, reverse=True)


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
        shown = _row_order(table)
        statuses = {j.name: j.status for j in app.screen.snapshot.training_jobs}
        assert [statuses[n] for n in shown] == ["Failed"]
        await pilot.press("f")
        await pilot.pause()
        await pilot.click("#all")
        await settle(pilot)
        assert table.row_count == 6


async def test_export_writes_one_row_per_training_job(mid_run_backend, tmp_path):
    app = dashboard_app(mid_run_backend)
    target = tmp_path / "out" / "jobs.csv"
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ExportDialog)
        app.screen.query_one("#export-path").value = str(target)
        await pilot.click("#export")
        await settle(pilot)
        rows = list(csv.DictReader(target.open()))
        assert len(rows) == 6
        assert {r["name"] for r in rows} == {j.name for j in app.screen.snapshot.training_jobs}
        assert rows[0]["learning_rate"] == "0.1375212"  # the exact string, not the display format
        assert [r["status"] for r in rows].count("Failed") == 1
        # JSON too, chosen in the dialog.
        await pilot.press("e")
        await pilot.pause()
        await pilot.click("#format-json")
        json_path = tmp_path / "jobs.json"
        app.screen.query_one("#export-path").value = str(json_path)
        await pilot.click("#export")
        await settle(pilot)
        data = json.loads(json_path.read_text())
        assert len(data) == 6 and sum(r["final_objective"] is None for r in data) == 1


async def test_stop_asks_first_then_stops_the_tuning_job(mid_run_backend):
    app = dashboard_app(mid_run_backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.click("#cancel")
        await settle(pilot)
        assert mid_run_backend.stopped == []
        await pilot.press("s")
        await pilot.pause()
        await pilot.click("#confirm")
        await settle(pilot)
        assert mid_run_backend.stopped == [TUNING_JOB]


async def test_quit_while_running_says_it_keeps_running_and_how_to_reattach(mid_run_backend):
    app = dashboard_app(mid_run_backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        body = str(app.screen.query_one(".dialog-body").render())
        assert f"hpo-tui attach {TUNING_JOB}" in body and "keeps running" in body
        await pilot.click("#confirm")
        await pilot.pause()
    assert app.exit_hint is not None and f"hpo-tui attach {TUNING_JOB}" in app.exit_hint
    assert mid_run_backend.stopped == []


async def test_quit_on_a_finished_job_exits_at_once(finished_backend):
    app = dashboard_app(finished_backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmDialog)
    assert app.return_code == 0 and app.exit_hint is None


async def test_polling_pauses_while_another_screen_is_on_top(mid_run_backend):
    from hpo_tui.app.app import make_app
    from tests.app.fake_backend import NOW

    async def until(condition, what: str, timeout: float = 30.0) -> None:
        # Event-based waits: a loaded machine may take far longer than the poll interval.
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            await pilot.pause(0.05)

    app = make_app(backend=mid_run_backend, attach=TUNING_JOB, start="dashboard", interval=0.05, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: mid_run_backend.polls >= 2, "a second poll (re-armed after each poll)")
        await pilot.press("question_mark")
        await until(lambda: isinstance(app.screen, HelpScreen), "the help screen")
        await app.workers.wait_for_complete()  # a poll already in flight may still finish
        paused_at = mid_run_backend.polls
        await pilot.pause(0.4)
        assert mid_run_backend.polls == paused_at
        await pilot.press("escape")
        await until(lambda: mid_run_backend.polls > paused_at, "polling to resume")


async def test_command_palette_offers_the_dashboard_actions(mid_run_backend):
    app = dashboard_app(mid_run_backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"filter by status")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert isinstance(app.screen, FilterDialog)


async def test_detail_shows_the_log_without_markup_or_escapes(mid_run_backend):
    from textual.widgets import Log

    from hpo_tui.app.screens.detail import DetailScreen

    app = dashboard_app(mid_run_backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        failed = next(j for j in app.screen.snapshot.training_jobs if j.status == "Failed")
        table = app.screen.query_one("#jobs-table", DataTable)
        table.move_cursor(row=table.get_row_index(failed.name))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DetailScreen) and app.screen.job == failed.name
        log = app.screen.query_one("#detail-log", Log)
        text = "\n".join(log.lines)
        assert "[bold]not markup[/bold]" in text
        assert "Traceback (most recent call last):" in text and "\x1b" not in text
        info = str(app.screen.query_one("#detail-info").render())
        assert "loss became NaN" in info and "learning_rate=0.1980001" in info
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)


async def test_tuning_jobs_screen_lists_newest_first_and_enter_attaches():
    from dataclasses import replace as dc_replace

    from hpo_tui.app.app import make_app
    from tests.app.fake_backend import NOW, T0, tuning_view

    jobs = mid_run_jobs()
    older = dc_replace(tuning_view(jobs[:2], "Completed", ended=T0 - 10), name="mnist-hpo-older", created_at=T0 - 7200)
    backend = FakeBackend([snapshot_of(jobs)], jobs=jobs, others=[older])
    app = make_app(backend=backend, start="jobs", interval=3600.0, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#tuning-jobs-table", DataTable)
        assert _row_order(table) == [TUNING_JOB, "mnist-hpo-older"]
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen) and app.screen.tuning_job == TUNING_JOB
        assert app.screen.query_one("#jobs-table", DataTable).row_count == 6
        await pilot.press("escape")  # back to the list
        await pilot.pause()
        assert app.screen.query_one("#tuning-jobs-table", DataTable).row_count == 2


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


async def test_tuning_jobs_screen_updates_changed_cells_in_place():
    from hpo_tui.app.app import make_app
    from tests.app.fake_backend import NOW, finished_jobs

    jobs = mid_run_jobs()
    backend = FakeBackend([snapshot_of(jobs), snapshot_of(finished_jobs(), "Completed", ended=NOW - 5)], jobs=jobs)
    app = make_app(backend=backend, start="jobs", interval=3600.0, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#tuning-jobs-table", DataTable)
        assert table.get_cell(TUNING_JOB, "status").plain == "InProgress"
        counter = WriteCounter(table)
        backend.frame = 1
        await pilot.press("r")
        await settle(pilot)
        assert table.get_cell(TUNING_JOB, "status").plain == "Completed"
        assert table.get_cell(TUNING_JOB, "progress").plain == "9/9"
        assert counter.adds == [] and counter.removes == []
        assert {col for _, col in counter.updates} == {"status", "progress", "best", "best_job"}


async def test_a_tuning_job_completed_early_says_why_in_the_header():
    from textual.widgets import Static

    from tests.app.fake_backend import finished_jobs

    done = snapshot_of(finished_jobs(), "Completed", ended=None)
    early = replace(done, tuning_job=replace(done.tuning_job, completion_reason="target objective value reached"))
    app = dashboard_app(FakeBackend([early]))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        title = str(app.screen.query_one("#dash-title", Static).render())
        assert "Completed" in title and "(target objective value reached)" in title


async def test_detail_of_a_sagemaker_job_shows_console_and_cloudwatch_links_and_cost():
    from hpo_tui.app.screens.detail import DetailScreen

    jobs = mid_run_jobs()
    base = snapshot_of(jobs)
    # A SageMaker tuning job in GovCloud: links go to that partition's console.
    sagemaker = replace(base, tuning_job=replace(base.tuning_job, backend="sagemaker", region="us-gov-west-1"),
                        training_jobs=tuple(replace(j, billable_seconds=540.0, instance_hours=0.15,
                                                    secondary_status="Training" if j.status == "InProgress" else None)
                                            for j in base.training_jobs))
    app = dashboard_app(FakeBackend([sagemaker], jobs=jobs))
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        counters = str(app.screen.query_one("#dash-counters").render())
        assert "instance-hours" in counters
        running = next(j for j in sagemaker.training_jobs if j.status == "InProgress")
        table = app.screen.query_one("#jobs-table", DataTable)
        table.move_cursor(row=table.get_row_index(running.name))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DetailScreen)
        info = str(app.screen.query_one("#detail-info").render())
        assert f"console https://console.amazonaws-us-gov.com/sagemaker/home?region=us-gov-west-1#/jobs/{running.name}" in info
        assert "logs https://console.amazonaws-us-gov.com/cloudwatch/home?region=us-gov-west-1#logsV2:" in info
        assert "SageMaker: Training" in info and "billed 9m" in info


async def test_attach_shows_the_rows_it_polled_in_the_first_frame_and_does_not_poll_again():
    """`hpo-tui attach` reads the rows to check the tuning job exists; the dashboard shows
    that poll at once instead of starting with an empty table and reading them again."""
    jobs = mid_run_jobs()
    backend = FakeBackend([snapshot_of(jobs)], jobs=jobs)
    first = backend.poll(TUNING_JOB)  # what cmd_attach read
    app = dashboard_app(backend)
    app.adopt_backend(backend, first_poll=first)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        assert screen.table.row_count == len(jobs)
        assert jobs[0].name.rsplit("-", 2)[-2] in "".join(s.text for s in screen.table.render_lines(
            screen.table.region.reset_offset))  # drawn, not only added
        await settle(pilot)
        assert backend.polls == 1, "the dashboard polled again instead of using the attach poll"
        await pilot.press("r")
        await settle(pilot)
        assert backend.polls == 2
