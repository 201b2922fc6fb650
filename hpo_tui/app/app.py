"""The Textual app: one factory (make_app) builds it for the CLI and for the tests."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Callable

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, WorkerState

from hpo_tui.app.commands import ScreenActions
from hpo_tui.app.messages import TuningJobLaunched
from hpo_tui.backends.base import Backend
from hpo_tui.spec import TuningSpec

START_SCREENS = ("configure", "dashboard", "jobs")


def reattach_hint(name: str, backend: str) -> str:
    command = f"hpo-tui attach {name}" + (f" --backend {backend}" if backend != "local" else "")
    return f"Tuning job {name} keeps running. Reattach with: {command}"


class HpoApp(App[None]):
    """Configure, launch and watch tuning jobs. Backends are built lazily, in workers."""

    CSS_PATH = "app.tcss"
    TITLE = "hpo-tui"
    COMMANDS = App.COMMANDS | {ScreenActions}
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", id="app.quit", show=False, priority=True)]

    def __init__(self, *, backend_name: str = "local", spec: TuningSpec | None = None,
                 spec_path: Path | None = None, attach: str | None = None, start: str = "configure",
                 interval: float | None = None, region: str | None = None, profile: str | None = None,
                 backend: Backend | None = None, clock: Callable[[], float] | None = None) -> None:
        super().__init__()
        if start not in START_SCREENS:
            raise ValueError(f"start must be one of {START_SCREENS}, not {start!r}")
        if start == "dashboard" and not attach:
            raise ValueError("start='dashboard' needs attach=<tuning job name>")
        self.backend_name = backend_name
        self.spec = spec
        self.spec_path = spec_path
        self.attach = attach
        self.start = start
        self.interval = interval
        self.region = region
        self.profile = profile
        # Injectable so snapshot tests can freeze every displayed time.
        self.clock: Callable[[], float] = clock or time.time
        self._injected = backend
        self._backends: dict[str, Backend] = {}
        self._sagemaker_target: tuple[str | None, str | None] = (None, None)
        self._backend_lock = threading.Lock()
        self.exit_hint: str | None = None

    def on_mount(self) -> None:
        self._restore_theme()
        if self.start == "dashboard":
            from hpo_tui.app.screens.dashboard import DashboardScreen

            self.push_screen(DashboardScreen(self.attach, backend_name=self.backend_name))
        elif self.start == "jobs":
            from hpo_tui.app.screens.jobs import TuningJobsScreen

            self.push_screen(TuningJobsScreen(backend_name=self.backend_name))
        else:
            from hpo_tui.app.screens.configure import ConfigureScreen

            self.push_screen(ConfigureScreen(self.spec or TuningSpec(), spec_path=self.spec_path,
                                             backend_name=self.backend_name if self.spec is None else None))

    def _restore_theme(self) -> None:
        """The theme chosen last time, if still known; a new choice is remembered."""
        from hpo_tui.app import settings

        remembered = settings.load(lambda message: self.notify(message, severity="warning", markup=False))
        if remembered.theme and remembered.theme in self.available_themes:
            self.theme = remembered.theme
        self.theme_changed_signal.subscribe(
            self, lambda theme: settings.update(lambda m: self.notify(m, severity="warning"), theme=theme.name))

    # --- backends -------------------------------------------------------------------

    def backend_for(self, name: str | None = None, *, region: str | None = None,
                    profile: str | None = None) -> Backend:
        """The backend called `name`, built on first use. Call from a worker: building a
        SageMaker backend imports boto3 and the SDK, which must not block the UI."""
        if self._injected is not None:
            return self._injected
        name = name or self.backend_name
        region = region or self.region
        profile = profile or self.profile
        with self._backend_lock:
            backend = self._backends.get(name)
            if backend is None or (name == "sagemaker" and (region, profile) != self._sagemaker_target):
                from hpo_tui.backends import make_backend

                backend = make_backend(name, region=region, profile=profile)
                self._backends[name] = backend
                if name == "sagemaker":
                    self._sagemaker_target = (region, profile)
            return backend

    # --- launch ---------------------------------------------------------------------

    def launch_tuning_job(self, spec: TuningSpec) -> None:
        """Launch in a worker; the dashboard opens on success, an ErrorDialog on failure."""
        self.notify(f"Launching on {spec.backend}…", title="Launch", markup=False)
        self._launch_worker(spec)

    @work(thread=True, exclusive=True, group="launch", exit_on_error=False)
    def _launch_worker(self, spec: TuningSpec) -> None:
        backend = self.backend_for(spec.backend, region=spec.sagemaker.region, profile=spec.sagemaker.profile)
        name = backend.launch(spec)
        self.post_message(TuningJobLaunched(name, backend))

    @on(TuningJobLaunched)
    def _launched(self, message: TuningJobLaunched) -> None:
        from hpo_tui.app.screens.dashboard import DashboardScreen

        self.clear_notifications()  # "Launching…" is over: it must not sit on the new dashboard's charts

        self.push_screen(DashboardScreen(message.name, backend_name=message.backend.name))

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "launch" and event.state == WorkerState.ERROR:
            from hpo_tui.app.screens.dialogs import ErrorDialog
            from hpo_tui.errors import UserError

            error = event.worker.error
            if isinstance(error, UserError):
                message = str(error)
            else:
                message = f"{type(error).__name__}: {error}\nCheck the spec and the backend, then launch again."
            self.push_screen(ErrorDialog("Launch failed", message))

    # --- quit -----------------------------------------------------------------------

    def watched_dashboard(self):
        """The topmost dashboard on the screen stack, if any."""
        if "hpo_tui.app.screens.dashboard" not in sys.modules:
            return None  # never opened one: don't import the charts just to quit
        from hpo_tui.app.screens.dashboard import DashboardScreen

        for screen in reversed(self.screen_stack):
            if isinstance(screen, DashboardScreen):
                return screen
        return None

    async def action_quit(self) -> None:
        from hpo_tui.app.screens.dialogs import ConfirmDialog

        dashboard = self.watched_dashboard()
        if dashboard is None or not dashboard.watched_is_running or isinstance(self.screen, ConfirmDialog):
            self.exit()
            return
        backend = dashboard.snapshot.tuning_job.backend if dashboard.snapshot else (
            dashboard.backend_name or self.backend_name)
        hint = reattach_hint(dashboard.tuning_job, backend)

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit_hint = hint  # the CLI prints it once the terminal is restored
                self.exit()

        self.push_screen(ConfirmDialog("Quit hpo-tui?", hint + "\nStop it first with s to end it now.",
                                       confirm="Quit", variant="warning"), answered)


def make_app(*, backend_name: str = "local", spec: TuningSpec | None = None, attach: str | None = None,
             start: str = "configure", interval: float | None = None, region: str | None = None,
             profile: str | None = None, backend: Backend | None = None, spec_path: Path | None = None,
             clock: Callable[[], float] | None = None) -> HpoApp:
    """Build the app (the CLI and the tests both call this)."""
    return HpoApp(backend_name=backend_name, spec=spec, spec_path=spec_path, attach=attach, start=start,
                  interval=interval, region=region, profile=profile, backend=backend, clock=clock)
