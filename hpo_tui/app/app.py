"""The Textual app: one factory (make_app) builds it for the CLI and for the tests."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from hpo_tui.app.commands import Navigation, ScreenActions
from hpo_tui.app.messages import BestHyperparametersFound, SpecFetched, TuningJobLaunched
from hpo_tui.app.session import WatchedJobs, reattach_hint  # noqa: F401 (reattach_hint: public here)
from hpo_tui.app.threads import DaemonThreadExecutor
from hpo_tui.app.typed import HpoAppBase
from hpo_tui.spec import TuningSpec

if TYPE_CHECKING:
    from hpo_tui.backends.base import Backend
    from hpo_tui.views import Snapshot
    from textual.widget import AwaitMount

START_SCREENS = ("configure", "dashboard", "jobs")


class HpoApp(HpoAppBase):
    """Configure, launch and watch tuning jobs. Backends are built lazily, in workers."""

    # The configure screen's styles load with the app's: loaded as the screen is pushed, they made
    # Textual parse every style sheet again before its first frame.
    CSS_PATH = ["app.tcss", "screens/configure.tcss"]
    TITLE = "hpo-tui"
    COMMANDS = App.COMMANDS | {ScreenActions, Navigation}
    # One navigation model: from any screen, the jobs list, the last dashboard and a configure
    # screen are a key away (and in the command palette, see commands.Navigation).
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", id="app.quit", show=False, priority=True),
        Binding("ctrl+t", "tuning_jobs", "Tuning jobs", id="app.tuning_jobs", show=False),
        Binding("ctrl+g", "watch", "Go to dashboard", id="app.watch", show=False),
        Binding("ctrl+n", "new_tuning_job", "New tuning job", id="app.new_tuning_job", show=False),
        Binding("question_mark", "help", "Help", id="app.help"),
    ]

    def __init__(self, *, backend_name: str = "local", spec: TuningSpec | None = None,
                 spec_path: Path | None = None, attach: str | None = None, start: str = "configure",
                 interval: float | None = None, region: str | None = None, profile: str | None = None,
                 backend: Backend | None = None, clock: Callable[[], float] | None = None,
                 notice: str | None = None) -> None:
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
        self.served = False  # in a browser tab (`hpo-tui serve`); still known after exit
        self.watched = WatchedJobs()
        self.draft_spec: TuningSpec | None = None  # a configure form left by navigation
        self._launches = 0  # launches whose tuning job is not on a dashboard (or an error) yet
        self._first_poll: Snapshot | None = None  # see adopt_backend
        self.notice = notice  # shown once the app is up (e.g. why local training can't run here)

    def on_load(self) -> None:
        # Thread workers on daemon threads: quitting never waits for a blocked poll.
        asyncio.get_running_loop().set_default_executor(DaemonThreadExecutor())

    def on_mount(self) -> None:
        self.served = self.is_web
        self._restore_theme()
        # Textual holds every repaint until the app's own mount is over, and a frame drawn
        # before then is thrown away, not shown later: a start screen pushed here would
        # draw its first frame (the attached job's rows) into that void, and the terminal
        # would stay blank until the next one, after all the work queued for "after the
        # first frame" (0.2-0.4 s at 1,000 jobs). Pushed from the app's queue, it draws
        # after the app's mount, and its first frame is the one shown.
        self.call_later(self._open_start_screen)
        if self.notice:
            self.notify(self.notice, title="Local training unavailable", severity="warning", timeout=20,
                        markup=False)

    async def _open_start_screen(self) -> None:
        if self.start == "dashboard":
            await self.open_dashboard(self.attach, self.backend_name)
        elif self.start == "jobs":
            from hpo_tui.app.screens.jobs import TuningJobsScreen

            await self.push_screen(TuningJobsScreen(backend_name=self.backend_name))
        else:
            from hpo_tui.app.screens.configure import ConfigureScreen

            await self.push_screen(ConfigureScreen(self.spec or TuningSpec(), spec_path=self.spec_path,
                                                   backend_name=self.backend_name if self.spec is None else None))

    def update_styles(self, node: DOMNode, animate: bool = True) -> None:
        """As App's, but a node not in the DOM yet is left alone: it is styled as it mounts.
        Button and Input set classes in their constructors, and each one had the widget
        styled there and then, for nothing."""
        if node is not self and not node.is_attached:
            return
        super().update_styles(node, animate)

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

                backend = make_backend(name, region=region, profile=profile, interactive=True)
                self._backends[name] = backend
                if name == "sagemaker":
                    self._sagemaker_target = (region, profile)
            return backend

    def adopt_backend(self, backend: Backend, *, region: str | None = None, profile: str | None = None,
                      first_poll: Snapshot | None = None) -> None:
        """Use a backend the caller built already (the CLI checks a job exists before opening).
        first_poll: the rows-only poll the caller made of the tuning job being attached; the
        dashboard shows it in its first frame instead of polling again."""
        if first_poll is not None:
            self._first_poll = first_poll
        with self._backend_lock:
            self._backends[backend.name] = backend
            if backend.name == "sagemaker":
                self._sagemaker_target = (region or self.region, profile or self.profile)

    # --- launch ---------------------------------------------------------------------

    def launch_tuning_job(self, spec: TuningSpec) -> None:
        """Launch in a worker; the dashboard opens on success, an ErrorDialog on failure."""
        self.notify(f"Launching on {spec.backend}…", title="Launch", markup=False)
        self._launches += 1
        self._launch_worker(spec)

    @property
    def launching(self) -> bool:
        """A launch is in flight: its tuning job may exist without anyone watching it yet."""
        return self._launches > 0

    @work(thread=True, exclusive=True, group="launch", exit_on_error=False)
    def _launch_worker(self, spec: TuningSpec) -> None:
        backend = self.backend_for(spec.backend, region=spec.sagemaker.region, profile=spec.sagemaker.profile)
        name = backend.launch(spec)
        self.post_message(TuningJobLaunched(name, backend))

    @on(TuningJobLaunched)
    def _launched(self, message: TuningJobLaunched) -> None:
        # Just launched, so running, even before the dashboard's first poll says so.
        self._launches -= 1
        self.clear_notifications()  # "Launching…" is over: it must not sit on the new dashboard's charts
        self.open_dashboard(message.name, message.backend.name, status="InProgress")

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "launch" and event.state in (WorkerState.ERROR, WorkerState.CANCELLED):
            self._launches -= 1
        if event.worker.group == "launch" and event.state == WorkerState.ERROR:
            from hpo_tui.app.screens.dialogs import ErrorDialog
            from hpo_tui.errors import UserError

            error = event.worker.error
            if isinstance(error, UserError):
                message = str(error)
            else:
                message = f"{type(error).__name__}: {error}\nCheck the spec and the backend, then launch again."
            self.push_screen(ErrorDialog("Launch failed", message))
        elif event.worker.group in ("clone", "copy") and event.state == WorkerState.ERROR:
            from hpo_tui.app.format import shorten

            title = "Clone" if event.worker.group == "clone" else "Copy best hyperparameters"
            self.notify(shorten(str(event.worker.error) or type(event.worker.error).__name__, 300), title=title,
                        severity="error", markup=False, timeout=8)

    # --- navigation: jobs list, dashboards, configure ---------------------------------

    def _screen_of(self, kind: type, match: Callable[[Screen], bool] = lambda s: True) -> Screen | None:
        """The topmost screen of a kind on the stack (the default screen excluded)."""
        for screen in reversed(self.screen_stack[1:]):
            if isinstance(screen, kind) and match(screen):
                return screen
        return None

    def _pop_to(self, target: Screen) -> None:
        """Pop every screen above target. A configure screen's form is kept as the draft."""
        while self.screen is not target and len(self.screen_stack) > 2:
            current = self.screen
            draft = getattr(current, "current_spec", None)
            if draft is not None:
                self.draft_spec = draft()
            self.pop_screen()

    def open_dashboard(self, name: str, backend_name: str | None = None, *,
                       status: str | None = None) -> AwaitMount | None:
        """Show the dashboard of a tuning job: the one already open, else a new one (the
        push's awaitable: awaited, the dashboard is mounted)."""
        from hpo_tui.app.screens.dashboard import DashboardScreen

        backend_name = backend_name or self.backend_name
        self.watched.add(name, backend_name, status)
        existing = self._screen_of(DashboardScreen, lambda s: s.tuning_job == name)
        if existing is not None:
            self._pop_to(existing)
        else:
            first = self._first_poll if self._first_poll is not None and self._first_poll.tuning_job.name == name else None
            self._first_poll = None
            return self.push_screen(DashboardScreen(name, backend_name=backend_name, first_poll=first))
        return None

    def action_tuning_jobs(self) -> None:
        """The tuning jobs list: the one already open, else a new one."""
        from hpo_tui.app.screens.jobs import TuningJobsScreen

        existing = self._screen_of(TuningJobsScreen)
        if existing is not None:
            self._pop_to(existing)
        else:
            self.push_screen(TuningJobsScreen(backend_name=self.backend_name))

    def action_new_tuning_job(self, spec: TuningSpec | None = None) -> None:
        """The configure screen: a clone of `spec`, else the open form (or the last draft)."""
        from hpo_tui.app.screens.configure import ConfigureScreen

        existing = self._screen_of(ConfigureScreen)
        if spec is None and existing is not None:
            self._pop_to(existing)
            return
        if spec is not None:
            self.push_screen(ConfigureScreen(spec))
        elif self.draft_spec is not None:
            self.push_screen(ConfigureScreen(self.draft_spec, spec_path=self.spec_path))
        else:
            self.push_screen(ConfigureScreen(self.spec or TuningSpec(), spec_path=self.spec_path,
                                             backend_name=self.backend_name if self.spec is None else None))

    def action_watch(self) -> None:
        """Back to the dashboard of the tuning job watched last (a running one first)."""
        job = self.watched.latest()
        if job is None:
            self.notify("No tuning job launched or attached yet: ctrl+t lists them.", title="Dashboard",
                        severity="warning")
            return
        self.open_dashboard(job.name, job.backend)

    def tuning_job_missing(self, screen: Screen, name: str, message: str) -> None:
        """A dashboard's tuning job does not exist: say so and show the jobs list instead."""
        self.watched.forget(name)
        self.notify(message, title="No such tuning job", severity="error", markup=False, timeout=8)
        if screen is self.screen:
            if len(self.screen_stack) > 2:
                self.pop_screen()
            else:
                from hpo_tui.app.screens.jobs import TuningJobsScreen

                self.switch_screen(TuningJobsScreen(backend_name=screen.backend_name or self.backend_name))
                return
        self.action_tuning_jobs()

    # --- clone, copy best hyperparameters ----------------------------------------------

    def clone_tuning_job(self, name: str, backend_name: str | None = None, *, warm_start: bool = False) -> None:
        """Open a configure screen pre-filled with the spec `name` was launched with (and a
        warm start from it, for a Stopped one: it stays stopped, as on SageMaker)."""
        self._fetch_spec(name, backend_name, warm_start)

    @work(thread=True, group="clone", exit_on_error=False)
    def _fetch_spec(self, name: str, backend_name: str | None, warm_start: bool = False) -> None:
        from hpo_tui.errors import UserError

        backend = self.backend_for(backend_name)
        fetch = getattr(backend, "tuning_spec", None)
        if fetch is None:
            raise UserError(f"The spec of {backend.name} tuning job {name} cannot be read back yet: open its spec "
                            "file with ctrl+o on the configure screen (ctrl+n) instead.")
        self.post_message(SpecFetched(name, fetch(name), warm_start))

    @on(SpecFetched)
    def _spec_fetched(self, message: SpecFetched) -> None:
        from hpo_tui.app.clone import clone_spec

        self.action_new_tuning_job(clone_spec(message.spec, warm_from=message.source if message.warm_start else None))
        how = (f"warm-starting from {message.source} (a stopped tuning job stays stopped)" if message.warm_start
               else f"from {message.source}")
        self.notify(f"New tuning job {how}: change what you like, then ctrl+l launches it.",
                    title="Clone", markup=False)

    def copy_best_hyperparameters(self, name: str, backend_name: str | None = None, *, as_toml: bool = False,
                                  snapshot: Snapshot | None = None) -> None:
        """Copy the best training job's hyperparameters (CLI arguments, or TOML) to the clipboard."""
        self._fetch_best(name, backend_name, as_toml, snapshot)

    @work(thread=True, group="copy", exit_on_error=False)
    def _fetch_best(self, name: str, backend_name: str | None, as_toml: bool, snapshot: Snapshot | None) -> None:
        from hpo_tui.app.clipboard import copy_with_tool
        from hpo_tui.app.clone import as_cli_args, as_toml as to_toml, best_hyperparameters
        from hpo_tui.backends.base import poll_rows

        backend = self.backend_for(backend_name)
        fetch = getattr(backend, "tuning_spec", None)
        spec = fetch(name) if fetch is not None else None
        best, values = best_hyperparameters(snapshot or poll_rows(backend, name), spec)
        text = (to_toml(values) if as_toml else as_cli_args(values)) if best is not None else ""
        # A tool that says it copied, where one can reach the user's clipboard (not headless).
        copied_by = copy_with_tool(text) if text and not self.is_headless and not self.is_web else None
        self.post_message(BestHyperparametersFound(name, best, values, spec is not None, as_toml, text, copied_by))

    @on(BestHyperparametersFound)
    def _best_found(self, message: BestHyperparametersFound) -> None:
        from hpo_tui.app.clipboard import copy_outcome

        if message.training_job is None:
            self.notify(f"{message.tuning_job} has no training job with an objective value yet: nothing to copy.",
                        title="Copy best hyperparameters", severity="warning", markup=False)
            return
        text = message.text
        # Also the app's own clipboard (ctrl+v in its inputs), and OSC 52 for the terminal.
        self.copy_to_clipboard(text)
        title, how = copy_outcome(message.copied_by, headless=self.is_headless, web=self.is_web)
        what = "TOML" if message.as_toml else "command-line arguments"
        note = "" if message.static_known else "\n(tuned ones only: the static ones are not known for this job)"
        self.notify(f"The hyperparameters of {message.training_job} as {what}, {how}:\n{text.strip()}{note}",
                    title=title, markup=False, timeout=8, severity="information" if message.copied_by else "warning")

    # --- help -----------------------------------------------------------------------

    def action_help(self) -> None:
        """The keys of the current screen (and the app's own), from their bindings."""
        from hpo_tui.app.screens.dialogs import HelpScreen, screen_keys

        screen = self.screen
        own = getattr(screen, "action_help", None)
        if own is not None:
            own()  # a screen with notes of its own (the dashboard)
            return
        if isinstance(screen, HelpScreen):
            return
        title = getattr(screen, "HELP_TITLE", None) or f"{type(screen).__name__.removesuffix('Screen')} keys"
        self.push_screen(HelpScreen(title, screen_keys(self, screen) + [("ctrl+p", "Command palette")]))

    # --- quit -----------------------------------------------------------------------

    async def action_quit(self) -> None:
        from hpo_tui.app.screens.dialogs import ConfirmDialog

        if isinstance(self.screen, ConfirmDialog) and self.screen.id == "quit-dialog":
            self._exit_with_notes()  # ctrl+q twice: yes
            return
        notes = self._quit_notes()
        if not notes:
            self.exit()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._exit_with_notes()

        if self._edited_forms():
            # Losing typed work: the question says so, and Cancel is the default.
            self.push_screen(ConfirmDialog("Discard changes?", "\n".join(notes), confirm="Discard and quit",
                                           variant="error", id="quit-dialog"), answered)
            return
        self.push_screen(ConfirmDialog("Quit hpo-tui?", "\n".join(notes) + "\nStop a tuning job first with s "
                                       "on its dashboard to end it now.", confirm="Quit", variant="warning",
                                       id="quit-dialog"), answered)

    def _edited_forms(self) -> int:
        """Configure screens whose form has changes not saved or launched."""
        return sum(1 for screen in self.screen_stack if getattr(screen, "is_edited", False))

    def _quit_notes(self) -> list[str]:
        notes = [job.quit_note() for job in self.watched.maybe_running()]
        if self._edited_forms():
            notes.insert(0, "The configure form has changes that are not saved (ctrl+s saves them to a spec "
                            "file): quitting discards them.")
        if self.launching:
            notes.insert(0, "A launch is in progress: quitting now may leave the new tuning job running "
                            "unwatched; `hpo-tui jobs` lists it.")
        return notes

    def _exit_with_notes(self) -> None:
        notes = self._quit_notes()
        self.exit_hint = "\n".join(notes) or None  # the CLI prints it once the terminal is restored
        self.exit()

    def on_unmount(self) -> None:
        # The app built these backends: close them (without waiting on a poll in progress).
        for backend in self._backends.values():
            close = getattr(backend, "close", None)
            if close is not None:
                close()


def make_app(*, backend_name: str = "local", spec: TuningSpec | None = None, attach: str | None = None,
             start: str = "configure", interval: float | None = None, region: str | None = None,
             profile: str | None = None, backend: Backend | None = None, spec_path: Path | None = None,
             clock: Callable[[], float] | None = None, notice: str | None = None) -> HpoApp:
    """Build the app (the CLI and the tests both call this)."""
    return HpoApp(backend_name=backend_name, spec=spec, spec_path=spec_path, attach=attach, start=start,
                  interval=interval, region=region, profile=profile, backend=backend, clock=clock,
                  notice=notice)
