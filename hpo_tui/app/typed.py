"""What screens may ask of the app, typed: HpoAppBase declares it and HpoApp (app.py)
implements it. In an HpoScreen, `self.app` is an HpoAppBase, so the calls screens make on
the app are checked, with no getattr and no `type: ignore`, and without importing app.py
(which imports the screens)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable, TypeVar

from textual.app import App
from textual.screen import ModalScreen, Screen

if TYPE_CHECKING:  # for the types only: the configure screen's first frame needs none of them
    from textual.widget import AwaitMount

    from hpo_tui.app.session import WatchedJobs
    from hpo_tui.backends.base import Backend
    from hpo_tui.spec import TuningSpec
    from hpo_tui.views import Snapshot

ResultType = TypeVar("ResultType")


class HpoAppBase(App[None]):
    """The app as its screens see it."""

    backend_name: str
    spec_path: Path | None
    interval: float | None  # poll this often (None: each backend's default)
    clock: Callable[[], float]  # injectable, so snapshots can freeze every time shown
    watched: WatchedJobs

    def backend_for(self, name: str | None = None, *, region: str | None = None,
                    profile: str | None = None) -> Backend:
        raise NotImplementedError

    def launch_tuning_job(self, spec: TuningSpec) -> None:
        raise NotImplementedError

    def open_dashboard(self, name: str, backend_name: str | None = None, *,
                       status: str | None = None) -> AwaitMount | None:
        raise NotImplementedError

    def tuning_job_missing(self, screen: Screen, name: str, message: str) -> None:
        raise NotImplementedError

    def clone_tuning_job(self, name: str, backend_name: str | None = None, *, warm_start: bool = False) -> None:
        raise NotImplementedError

    def copy_best_hyperparameters(self, name: str, backend_name: str | None = None, *, as_toml: bool = False,
                                  snapshot: Snapshot | None = None) -> None:
        raise NotImplementedError

    def action_tuning_jobs(self) -> None:
        raise NotImplementedError

    def action_new_tuning_job(self, spec: TuningSpec | None = None) -> None:
        raise NotImplementedError

    def action_help(self) -> None:
        raise NotImplementedError


class HpoScreen(Screen[ResultType]):
    """A full screen of the app."""

    if TYPE_CHECKING:
        @property
        def app(self) -> HpoAppBase: ...


class HpoModalScreen(ModalScreen[ResultType]):
    """A dialog of the app."""

    if TYPE_CHECKING:
        @property
        def app(self) -> HpoAppBase: ...
