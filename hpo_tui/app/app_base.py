"""What screens use of the app beyond Textual's App, typed: HpoApp (app.py) implements it.

A screen says `app: HpoAppBase` and gets its app's attributes checked, without importing
app.py, which imports the screens (an import cycle)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from textual.app import App
from textual.screen import Screen

from hpo_tui.app.session import WatchedJobs

if TYPE_CHECKING:
    from hpo_tui.backends.base import Backend
    from hpo_tui.views import Snapshot


class HpoAppBase(App[None]):
    """The app as its screens see it."""

    clock: Callable[[], float]  # injectable, so tests can freeze every displayed time
    interval: float | None  # the poll interval asked for (None: the backend's)
    watched: WatchedJobs  # the tuning jobs opened in this session

    def backend_for(self, name: str | None = None, *, region: str | None = None,
                    profile: str | None = None) -> Backend:
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
