"""FormDialog: what the configure screen's modal forms share. Inputs are re-checked as
you type; enter or OK submits; escape or Cancel closes the dialog with None."""

from __future__ import annotations

from typing import ClassVar, TypeVar

from textual import on
from textual.screen import ModalScreen
from textual.widgets import Button, Input

ResultType = TypeVar("ResultType")


class FormDialog(ModalScreen[ResultType]):
    OK_ID: ClassVar[str] = "ok"
    CANCEL_ID: ClassVar[str] = "cancel"

    def check_form(self) -> None:
        """Re-check the inputs and show what is wrong (called on every change)."""

    def submit_form(self) -> None:
        """Dismiss with the result, or show why it can't be accepted yet."""
        raise NotImplementedError

    @on(Input.Changed)
    def _form_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.check_form()

    @on(Input.Submitted)
    def _form_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit_form()

    @on(Button.Pressed)
    def _form_button(self, event: Button.Pressed) -> None:
        if event.button.id == self.OK_ID:
            event.stop()
            self.submit_form()
        elif event.button.id == self.CANCEL_ID:
            event.stop()
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
