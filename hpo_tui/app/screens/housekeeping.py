"""Deleting tuning jobs from the tuning jobs list (d): what goes is read in a thread, said in
a dialog whose default is Cancel, and deleted in a thread. The deleting itself, and why it is
safe beside the runners, is hpo_tui.backends.local_housekeeping's."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message
from textual.widgets import Button

from hpo_tui.app.screens.dialogs import ConfirmDialog


class DeleteDialog(ConfirmDialog):
    """A destructive question: Cancel has the focus, so enter keeps everything."""

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()


@dataclass
class DeletionPlanned(Message):
    """What deleting the named tuning jobs removes (plans), or why it cannot (refusal)."""

    plans: list
    refusal: str | None = None


@dataclass
class TuningJobsDeleted(Message):
    deleted: list[str]
    freed: int
    error: str | None = None


def deletion_question(plans: list) -> tuple[str, str]:
    from hpo_tui.backends.local_housekeeping import fmt_bytes

    total = sum(p.folder_bytes for p in plans)
    title = (f"Delete {plans[0].name}?" if len(plans) == 1
             else f"Delete {len(plans)} tuning jobs?") + f" ({fmt_bytes(total)} on disk)"
    body = "\n".join(f"• {p.describe()}" for p in plans)
    return title, body + "\n\nThis cannot be undone. Enter keeps them (Cancel has the focus)."
