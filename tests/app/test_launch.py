"""HpoApp.launch_tuning_job: success opens the dashboard; a failure shows a dialog and
leaves the configure screen and its values as they were."""

from __future__ import annotations

from textual.widgets import Button, Input

from hpo_tui.app.app import make_app
from hpo_tui.app.screens.dashboard import DashboardScreen
from hpo_tui.app.screens.dialogs import ErrorDialog
from hpo_tui.backends.base import BackendError
from tests.app.conftest import settle
from tests.app.fake_backend import NOW, TUNING_JOB, FakeBackend, mid_run_jobs, snapshot_of


class RefusingBackend(FakeBackend):
    def launch(self, spec):
        raise BackendError("no SageMaker execution role: set sagemaker.role_arn or SAGEMAKER_ROLE_ARN")


async def test_launch_error_shows_a_dialog_and_keeps_the_form():
    jobs = mid_run_jobs()
    app = make_app(backend=RefusingBackend([snapshot_of(jobs)], jobs=jobs), interval=3600.0, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        configure = app.screen
        configure.query_one("#max-jobs", Input).value = "4"
        await pilot.pause()
        await pilot.click("#launch")
        await settle(pilot)
        assert isinstance(app.screen, ErrorDialog)
        assert "SAGEMAKER_ROLE_ARN" in str(app.screen.query_one("#error-message").render())
        await pilot.click("#close")
        await pilot.pause()
        assert app.screen is configure
        assert configure.query_one("#max-jobs", Input).value == "4"
        assert not configure.query_one("#launch", Button).disabled


async def test_launch_opens_the_dashboard_of_the_new_tuning_job():
    jobs = mid_run_jobs()
    backend = FakeBackend([snapshot_of(jobs)], jobs=jobs)
    app = make_app(backend=backend, interval=3600.0, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        configure = app.screen
        configure.query_one("#max-jobs", Input).value = "4"
        await pilot.pause()
        await pilot.click("#launch")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen) and app.screen.tuning_job == TUNING_JOB
        assert backend.launched[0].max_jobs == 4  # the form's values, as launched
        await pilot.press("escape")  # back to the form, which kept its values
        await pilot.pause()
        assert app.screen is configure
