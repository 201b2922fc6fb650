"""Pilot tests of the real app on the real local backend (real MXNet jobs, tiny spec)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Log, Static

from hpo_tui.app.app import make_app
from hpo_tui.app.screens.dashboard import DashboardScreen
from hpo_tui.app.screens.detail import DetailScreen
from hpo_tui.app.screens.dialogs import ConfirmDialog
from hpo_tui.spec import CategoricalParameter, ContinuousParameter, TuningSpec
from tests.app.conftest import wait_until


def tiny_spec(channels: Path, *, max_jobs: int, parallel: int) -> TuningSpec:
    spec = TuningSpec()
    spec.ranges = {
        "optimizer": CategoricalParameter(["sgd", "adam"]),
        "learning_rate": ContinuousParameter(0.05, 0.2),
    }
    spec.estimator.hyperparameters = {"batch_size": 100, "num_epoch": 1, "max_train_samples": 3000}
    spec.max_jobs = max_jobs
    spec.max_parallel_jobs = parallel
    spec.strategy = "Random"
    spec.random_seed = 7
    spec.channels.train = str(channels / "train")
    spec.channels.test = str(channels / "test")
    return spec


@pytest.fixture
def local_runs():
    """Names of tuning jobs a test launched; stopped and waited for at teardown."""
    names: list[str] = []
    yield names
    from hpo_tui.backends.local import LocalBackend

    backend = LocalBackend()
    try:
        import time

        for name in names:
            backend.stop(name)
            deadline = time.monotonic() + 60
            while not backend.poll(name).tuning_job.is_terminal and time.monotonic() < deadline:
                time.sleep(0.2)
    finally:
        backend.close()


def _statuses(table: DataTable) -> dict[str, str]:
    return {row.key.value: table.get_cell(row.key, ":status").plain for row in table.ordered_rows}


async def _edit_range(pilot: Pilot, name: str, low: str, high: str) -> Static:
    app = pilot.app
    ranges = app.screen.query_one("#ranges-table", DataTable)
    ranges.move_cursor(row=ranges.get_row_index(name))
    await pilot.click("#edit-range")
    await pilot.pause()
    editor = app.screen
    editor.query_one("#range-min").value = low
    editor.query_one("#range-max").value = high
    await pilot.pause()
    errors = editor.query_one("#range-errors", Static)
    shown = str(errors.render())
    await pilot.click("#range-ok")
    await pilot.pause()
    return shown


async def test_configure_launch_watch_detail_stop_quit(mnist_channels, local_runs):
    # max_jobs leaves room: the stop below must find the tuning job still running.
    app = make_app(spec=tiny_spec(mnist_channels, max_jobs=12, parallel=2), interval=0.5)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        configure = app.screen
        launch = configure.query_one("#launch", Button)
        assert not launch.disabled

        # An invalid range (min > max): the modal says so and refuses it; cancelled, the
        # spec is still valid.
        shown = await _edit_range(pilot, "learning_rate", "0.5", "0.05")
        assert "must be less than max" in shown
        assert app.screen is not configure and app.screen.query_one("#range-ok", Button).disabled
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is configure and not launch.disabled
        await _edit_range(pilot, "learning_rate", "0.05", "0.2")
        assert not launch.disabled

        await pilot.click("#launch")
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "the dashboard")
        dashboard = app.screen
        local_runs.append(dashboard.tuning_job)
        table = dashboard.query_one("#jobs-table", DataTable)
        await wait_until(pilot, lambda: table.row_count >= 2, "rows of training jobs")
        await wait_until(pilot, lambda: list(_statuses(table).values()).count("Completed") >= 2,
                         "two Completed training jobs")

        # The ★ row is the best job: the highest last Validation-accuracy, sorted first.
        view = dashboard.snapshot.tuning_job
        completed = [j for j in dashboard.snapshot.training_jobs if j.final_objective is not None]
        best = max(completed, key=lambda j: j.final_objective)
        assert view.best_training_job == best.name
        starred = [row.key.value for row in table.ordered_rows
                   if table.get_cell(row.key, ":job").plain.startswith("★")]
        assert starred == [best.name]
        assert table.ordered_rows[0].key.value == best.name

        # Its detail shows its real log.
        table.move_cursor(row=table.get_row_index(best.name))
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen), "the detail screen")
        log = app.screen.query_one("#detail-log", Log)
        await wait_until(pilot, lambda: any("Validation-accuracy=" in line for line in log.lines), "the job's log")
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is dashboard

        # Stop (confirmed), and the tuning job ends with no job left running.
        assert not dashboard.snapshot.tuning_job.is_terminal, "raise max_jobs: the tuning job ended too soon"
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.click("#confirm")
        await wait_until(pilot, lambda: dashboard.snapshot.tuning_job.is_terminal
                         and "InProgress" not in _statuses(table).values(), "the tuning job to stop")
        assert dashboard.snapshot.tuning_job.status == "Stopped"
        finished = dashboard.snapshot.tuning_job.status_counters.finished
        assert finished < 12

        await pilot.press("q")  # a finished job: no question asked
        await pilot.pause()
    assert app.return_code == 0


async def test_quit_while_running_then_reattach_shows_the_same_jobs(mnist_channels, local_runs):
    app = make_app(spec=tiny_spec(mnist_channels, max_jobs=4, parallel=2), interval=0.5)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.click("#launch")
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "the dashboard")
        dashboard = app.screen
        name = dashboard.tuning_job
        local_runs.append(name)
        table = dashboard.query_one("#jobs-table", DataTable)
        await wait_until(pilot, lambda: table.row_count >= 2, "rows of training jobs")
        seen = set(_statuses(table))
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.click("#confirm")
        await pilot.pause()
    assert app.exit_hint is not None and f"hpo-tui attach {name}" in app.exit_hint

    attached = make_app(attach=name, start="dashboard", interval=0.5)
    async with attached.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        dashboard = attached.screen
        assert isinstance(dashboard, DashboardScreen) and dashboard.tuning_job == name
        table = dashboard.query_one("#jobs-table", DataTable)
        await wait_until(pilot, lambda: seen <= set(_statuses(table)), "the same training jobs")
        assert str(dashboard.query_one("#dash-title", Static).render()).startswith(name)
