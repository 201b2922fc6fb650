"""What the dashboard does for the user: polls (the first frame, paused under another screen),
export, stop (cancel by default), resume, copy best, clone, and the launch toast."""

from __future__ import annotations

import csv
import json
import time

import pytest
from textual.widgets import Button

from hpo_tui.app.app import make_app
from hpo_tui.app.screens.configure import ConfigureScreen
from hpo_tui.app.screens.dashboard import DashboardScreen
from hpo_tui.app.screens.dialogs import ConfirmDialog, ExportDialog, HelpScreen
from tests.app.conftest import (
    SIZE,
    dashboard_app,
    record_tuning_job,
    reference_like_spec,
    settle,
    wait_for_note,
    wait_until,
)
from tests.app.fake_backend import NOW, TUNING_JOB, FakeBackend, finished_jobs, mid_run_jobs, snapshot_of


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


async def test_the_launching_toast_is_gone_once_the_dashboard_opens(mid_run_backend):
    from hpo_tui.spec import TuningSpec

    app = make_app(backend=mid_run_backend, interval=3600.0, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.launch_tuning_job(TuningSpec())
        await settle(pilot)  # well within the toast's own 5 s timeout
        assert type(app.screen).__name__ == "DashboardScreen"
        assert not any("Launching" in n.message for n in app._notifications)


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


async def test_export_goes_to_the_exports_folder_and_says_where(mid_run_backend, hpo_home):
    app = dashboard_app(mid_run_backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await pilot.pause()
        suggested = app.screen.query_one("#export-path").value
        assert suggested.startswith(str(hpo_home / "exports"))
        app.screen.query_one("#export-path").value = "mine.json"
        await pilot.click("#format-json")
        await pilot.click("#export")
        await settle(pilot)
        written = hpo_home / "exports" / "mine.json"
        assert written.exists()
        assert any(str(written) in n.message for n in app._notifications)


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


async def test_resume_from_the_dashboard_asks_first_and_a_stopped_job_is_offered_a_warm_start():
    # A Stopped tuning job is never resumed: R asks, and offers a new one warm-starting from it.
    record_tuning_job("stopped-before", reference_like_spec(), status="Stopped",
                      best={"optimizer": "Adam", "learning_rate": "0.0871"})
    app = make_app(attach="stopped-before", start="dashboard", interval=3600.0)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.screen.snapshot is not None, "the first poll")
        await pilot.press("R")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
        assert "stays stopped" in str(app.screen.query_one(".dialog-title").render())
        assert "stopped at 1/5" in " ".join(str(app.screen.query_one(".dialog-body").render()).split())
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfigureScreen), "the configure screen")
        assert app.screen.current_spec().warm_start.parents == ["stopped-before"]
    from hpo_tui.backends.local import LocalBackend

    backend = LocalBackend()
    try:
        assert backend.poll("stopped-before").tuning_job.status == "Stopped"
    finally:
        backend.close()


async def test_resume_of_a_job_whose_runner_died_runs_only_once_confirmed():
    jobs = finished_jobs()
    backend = FakeBackend([snapshot_of(jobs, "Failed", ended=NOW - 60.0)], jobs=jobs)
    app = dashboard_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("R")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
        body = str(app.screen.query_one(".dialog-body").render())
        assert "ended and are kept" in body
        await pilot.press("escape")  # cancelled: nothing resumed
        await settle(pilot)
        assert backend.resumed == []
        await pilot.press("R")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
        await pilot.press("enter")
        await wait_until(pilot, lambda: backend.resumed == [TUNING_JOB], "the resume")
        await wait_for_note(pilot, f"Resumed {TUNING_JOB}")


async def test_copy_best_hyperparameters_as_cli_arguments_or_toml():
    record_tuning_job("done-before", reference_like_spec(),
                      best={"optimizer": "Adam", "learning_rate": "0.0871"})
    app = make_app(attach="done-before", start="dashboard", interval=3600.0)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.screen.snapshot is not None, "the first poll")
        await pilot.press("y")
        await wait_until(pilot, lambda: app.clipboard, "the clipboard")
        assert app.clipboard == "--batch_size 64 --num_epoch 2 --optimizer Adam --learning_rate 0.0871"
        await wait_for_note(pilot, app.clipboard)
        await pilot.press("Y")
        await wait_until(pilot, lambda: app.clipboard.startswith("["), "the TOML")
        assert app.clipboard == ('[estimator.hyperparameters]\nbatch_size = 64\nnum_epoch = 2\n'
                                 'optimizer = "Adam"\nlearning_rate = 0.0871\n')


async def test_copy_best_says_so_when_nothing_has_an_objective_yet():
    jobs = [j for j in mid_run_jobs() if j.status == "InProgress"]
    backend = FakeBackend([snapshot_of(jobs)], jobs=jobs)
    app = dashboard_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        await wait_for_note(pilot, "nothing to copy")
        assert app.clipboard == ""


async def test_y_says_copied_only_when_a_clipboard_took_it(mid_run_backend):
    app = dashboard_app(mid_run_backend)  # headless: no clipboard the app can see
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("y")
        await wait_for_note(pilot, "not copied: this session has no clipboard")
        assert app.clipboard.startswith("--optimizer")  # still in the app's own clipboard (paste)
        titles = [n.title for n in app._notifications]
        assert "Copied" not in titles


@pytest.mark.parametrize("start", ["dashboard", "jobs"])
async def test_clone_on_a_backend_that_cannot_give_the_spec_back_says_so(start, mid_run_backend):
    app = make_app(backend=mid_run_backend, attach=TUNING_JOB, start=start, interval=3600.0, clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await wait_for_note(pilot, "cannot be read back yet")
        assert not isinstance(app.screen, ConfigureScreen)


async def test_the_export_dialog_says_what_is_wrong_after_the_configure_screen_was_shown(mid_run_backend):
    """The configure screen's styles hid every `.field-error` line until it had one to show;
    loaded once, they also hid the export dialog's, which is shown by its text alone."""
    app = make_app(backend=mid_run_backend, interval=3600.0, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ConfigureScreen)
        await app.open_dashboard(TUNING_JOB, "local")
        await settle(pilot)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ExportDialog)
        app.screen.query_one("#export-path").value = "  "
        await pilot.click("#export")
        await pilot.pause()
        error = app.screen.query_one("#export-error")
        assert "Enter a file name" in str(error.render())
        assert error.display and error.region.height == 1
