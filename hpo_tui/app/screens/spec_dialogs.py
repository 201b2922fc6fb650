"""Modal dialogs of the configure screen: load/save a spec file, preview the SageMaker request,
and edit one metric definition."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static, TextArea

from hpo_tui.app.screens.form_dialog import FormDialog
from hpo_tui.errors import UserError
from hpo_tui.sanitize import sanitize

DIALOG_CSS = """
{cls} {{
    align: center middle;
    background: $background 60%;
}}
{cls} > .dialog {{
    width: 72;
    height: auto;
    max-height: 90%;
    border: thick $primary 80%;
    border-title-color: $text-primary;
    border-title-style: bold;
    background: $surface;
    padding: 1 2;
}}
{cls} .dialog-row {{
    height: auto;
    margin-bottom: 1;
}}
{cls} .dialog-row > Label {{
    width: 8;
    padding-top: 1;
    color: $text-muted;
}}
{cls} .dialog-row > Input {{
    width: 1fr;
}}
{cls} .dialog-error {{
    height: auto;
    color: $text-error;
    margin-bottom: 1;
}}
{cls} .dialog-buttons {{
    height: auto;
    align-horizontal: right;
}}
{cls} .dialog-buttons > Button {{
    margin-left: 1;
}}
"""


class SpecFileDialog(FormDialog[Any]):
    """Ask for a spec file path and run ``action(path)`` on OK.

    A UserError or OSError from the action is shown in the dialog (which stays open so the
    path can be fixed); on success the dialog returns the action's result.
    """

    DEFAULT_CSS = DIALOG_CSS.format(cls="SpecFileDialog")

    OK_ID = "spec-file-ok"
    CANCEL_ID = "spec-file-cancel"
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="spec_file.cancel")]

    def __init__(self, title: str, path: Path, action: Callable[[Path], Any], *, verb: str) -> None:
        super().__init__()
        self._title = title
        self._path = path
        self._action = action
        self._verb = verb

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as dialog:
            dialog.border_title = self._title
            with Horizontal(classes="dialog-row"):
                yield Label("File")
                yield Input(str(self._path), placeholder="path to a .toml spec", id="spec-file-path")
            yield Static(id="spec-file-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="spec-file-cancel")
                yield Button(self._verb, id="spec-file-ok", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#spec-file-error").display = False
        self.query_one("#spec-file-path", Input).focus()

    def submit_form(self) -> None:
        text = self.query_one("#spec-file-path", Input).value.strip()
        error = self.query_one("#spec-file-error", Static)
        if not text:
            error.update(Content("Type the path of a spec file (TOML)."))
            error.display = True
            return
        path = Path(text).expanduser()
        try:
            result = self._action(path)
        except (UserError, OSError) as exc:
            message = str(exc)
            if isinstance(exc, OSError) and not isinstance(exc, UserError):
                message = f"{exc.strerror or exc}: {path}. Check the path and its permissions."
            error.update(Content(message))
            error.display = True
            return
        self.dismiss(result)


class RequestPreview(ModalScreen[None]):
    """The exact CreateHyperParameterTuningJob request, read-only and scrollable."""

    DEFAULT_CSS = DIALOG_CSS.format(cls="RequestPreview") + """
    RequestPreview #request-dialog {
        width: 90%;
        height: 90%;
    }
    RequestPreview #request-json {
        height: 1fr;
        margin-bottom: 1;
    }
    """

    BINDINGS = [
        Binding("escape", "close", "Close", id="request_preview.close"),
        Binding("q", "close", "Close", show=False, id="request_preview.quit"),
    ]

    def __init__(self, text: str, *, error: str | None = None, note: str | None = None) -> None:
        super().__init__()
        self._text = text
        self._error = error
        self._note = note  # what a SageMaker SDK config file adds, and where it came from

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="request-dialog") as dialog:
            dialog.border_title = "SageMaker request (CreateHyperParameterTuningJob)"
            if self._error:
                yield Static(Content(self._error), id="request-error", classes="dialog-error")
            if self._note:
                yield Static(Content(sanitize(self._note)), id="request-sdk-config")
            yield TextArea(
                self._text, language="json", read_only=True, show_line_numbers=True, soft_wrap=False,
                id="request-json"
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close", id="request-close", variant="primary", action="screen.close")

    def on_mount(self) -> None:
        self.query_one("#request-json").focus()

    def action_close(self) -> None:
        self.dismiss(None)


MetricResult = tuple[str, str]


class MetricEditor(FormDialog[MetricResult | None]):
    """Edit one metric definition (name + regex with one capture group)."""

    DEFAULT_CSS = DIALOG_CSS.format(cls="MetricEditor")

    OK_ID = "metric-ok"
    CANCEL_ID = "metric-cancel"
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="metric_editor.cancel")]

    def __init__(self, name: str = "", regex: str = "", *, title: str = "Add metric definition") -> None:
        super().__init__()
        self._name = name
        self._regex = regex
        self._title = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as dialog:
            dialog.border_title = self._title
            with Horizontal(classes="dialog-row"):
                yield Label("Name")
                yield Input(self._name, placeholder="e.g. Validation-loss", id="metric-name", select_on_focus=False)
            with Horizontal(classes="dialog-row"):
                yield Label("Regex")
                yield Input(self._regex, placeholder=r"e.g. Validation-loss=([0-9\.]+)", id="metric-regex", select_on_focus=False)
            yield Static(id="metric-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="metric-cancel")
                yield Button("OK", id="metric-ok", variant="primary")

    def on_mount(self) -> None:
        self._refresh()
        self.query_one("#metric-name", Input).focus()

    def _problems(self) -> list[str]:
        problems: list[str] = []
        if not self.query_one("#metric-name", Input).value.strip():
            problems.append("name: type the metric's name")
        regex = self.query_one("#metric-regex", Input).value
        if not regex:
            problems.append("regex: type a regular expression with one capture group")
        else:
            try:
                groups = re.compile(regex).groups
            except re.error as exc:
                problems.append(f"regex: not a valid regular expression ({exc})")
            else:
                if groups != 1:
                    problems.append(f"regex: needs exactly one capture group, has {groups}")
        return problems

    def _refresh(self) -> list[str]:
        problems = self._problems()
        error = self.query_one("#metric-error", Static)
        error.update(Content("\n".join(f"• {p}" for p in problems)))
        error.display = bool(problems)
        self.query_one("#metric-ok", Button).disabled = bool(problems)
        return problems

    def check_form(self) -> None:
        self._refresh()

    def submit_form(self) -> None:
        if self._refresh():
            self.app.bell()
            return
        self.dismiss(
            (self.query_one("#metric-name", Input).value.strip(), self.query_one("#metric-regex", Input).value)
        )
