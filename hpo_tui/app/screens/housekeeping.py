"""Deleting tuning jobs from the tuning jobs list (d): what goes is read in a thread, said in
a dialog whose default is Cancel, and deleted in a thread. The deleting itself, and why it is
safe beside the runners, is hpo_tui.backends.local_housekeeping's."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Label, Static

from hpo_tui.app.screens.dialogs import ConfirmDialog
from hpo_tui.app.screens.form_dialog import FormDialog
from hpo_tui.app.screens.spec_dialogs import DIALOG_CSS


class DeleteDialog(ConfirmDialog):
    """A destructive question: Cancel has the focus, so enter keeps everything."""

    def on_mount(self, event: events.Mount) -> None:
        event.prevent_default()  # ConfirmDialog's own on_mount would focus the confirm button
        self.query_one("#cancel", Button).focus()


@dataclass
class DeletionPlanned(Message):
    """What deleting the named tuning jobs removes (plans), or why it cannot (refusal)."""

    plans: list
    refusal: str | None = None
    none_note: str | None = None  # said when there is nothing to delete (prune)


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


class PruneDialog(FormDialog[str | None]):
    """Ask how old an ended tuning job must be to go (prune); dismisses with the age typed."""

    DEFAULT_CSS = DIALOG_CSS.format(cls="PruneDialog")
    OK_ID = "prune-ok"
    CANCEL_ID = "prune-cancel"
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prune.cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as dialog:
            dialog.border_title = "Prune old tuning jobs"
            yield Static("Ended local tuning jobs that ended longer ago than this are listed next, "
                         "with what goes, before anything is deleted.")
            with Horizontal(classes="dialog-row"):
                yield Label("Older than")
                yield Input("30d", placeholder="e.g. 30d, 12h, 2w", id="prune-age")
            yield Static(id="prune-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="prune-cancel")
                yield Button("List them", id="prune-ok", variant="primary")

    def on_mount(self) -> None:
        self.check_form()
        self.query_one("#prune-age", Input).focus()

    def _problem(self) -> str | None:
        from hpo_tui.backends.local_housekeeping import parse_age
        from hpo_tui.errors import UserError

        try:
            parse_age(self.query_one("#prune-age", Input).value)
        except UserError as err:
            return str(err).replace("--older-than", "older than")
        return None

    def check_form(self) -> None:
        problem = self._problem()
        error = self.query_one("#prune-error", Static)
        error.update(Text(problem or ""))
        error.display = problem is not None
        self.query_one("#prune-ok", Button).disabled = problem is not None

    def submit_form(self) -> None:
        if self._problem():
            self.app.bell()
            return
        self.dismiss(self.query_one("#prune-age", Input).value.strip())
