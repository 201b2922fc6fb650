"""Screens of hpo-tui reach their app typed: in an HpoScreen, `self.app` is the HpoApp (the
methods screens call on it are checked, with no getattr and no `type: ignore`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from textual.screen import ModalScreen, Screen

if TYPE_CHECKING:
    from hpo_tui.app.app import HpoApp

ResultType = TypeVar("ResultType")


class HpoScreen(Screen[ResultType]):
    """A full screen of the app."""

    if TYPE_CHECKING:
        @property
        def app(self) -> HpoApp: ...


class HpoModalScreen(ModalScreen[ResultType]):
    """A dialog of the app."""

    if TYPE_CHECKING:
        @property
        def app(self) -> HpoApp: ...
