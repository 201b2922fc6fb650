"""Modal dialogs that return a value: confirm, error, export, filter, sort, and help."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Checkbox, Input, Label, OptionList, RadioButton, RadioSet, Static
from textual.widgets.option_list import Option

from hpo_tui.views import TRAINING_STATUSES


class ConfirmDialog(ModalScreen[bool]):
    """Ask a yes/no question; dismisses with True when confirmed."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, title: str, message: str, *, confirm: str = "Yes", cancel: str = "Cancel",
                 variant: str = "primary", id: str | None = None) -> None:
        super().__init__(classes="dialog-screen", id=id)
        self._title = title
        self._message = message
        self._confirm = confirm
        self._cancel = cancel
        self._variant = variant

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(self._title), classes="dialog-title")
            yield Static(Text(self._message), classes="dialog-body")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self._confirm, variant=self._variant, id="confirm", action="screen.confirm")
                yield Button(self._cancel, id="cancel", action="screen.cancel")

    def on_mount(self) -> None:
        # A destructive question (variant "error": stop, discard, delete) defaults to Cancel:
        # an enter out of habit must not do it.
        self.query_one("#cancel" if self._variant == "error" else "#confirm", Button).focus()

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)


class ErrorDialog(ModalScreen[None]):
    """Show an error the user can act on (the message names the cause and the fix)."""

    BINDINGS = [Binding("escape", "close", "Close", id="dialog.close")]

    def __init__(self, title: str, message: str) -> None:
        super().__init__(classes="dialog-screen")
        self._title = title
        self._message = message

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog error"):
            yield Label(Text(self._title), classes="dialog-title")
            yield Static(Text(self._message), classes="dialog-body", id="error-message")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close", variant="error", id="close", action="screen.close")

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    def action_close(self) -> None:
        self.dismiss(None)


class ExportDialog(ModalScreen[tuple[str, Path] | None]):
    """Ask for the export format and file; dismisses with (format, path) or None.
    With download=True (served in a browser) only a file name is asked: the browser saves it."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, tuning_job: str, *, download: bool = False) -> None:
        from hpo_tui.paths import exports_dir

        super().__init__(classes="dialog-screen")
        self._tuning_job = tuning_job
        self._download = download
        self._folder = exports_dir()  # not the current directory, which may be anywhere

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Export training jobs", classes="dialog-title")
            with RadioSet(id="export-format"):
                yield RadioButton("CSV", value=True, id="format-csv")
                yield RadioButton("JSON", id="format-json")
            if self._download:
                yield Label("File name (your browser downloads it)")
                yield Input(value=f"{self._tuning_job}.csv", id="export-path")
            else:
                yield Label("File")
                yield Input(value=str(self._folder / f"{self._tuning_job}.csv"), id="export-path")
                yield Static(Text(f"A name without a folder is saved in {self._folder}"), classes="dialog-hint")
            yield Static("", classes="field-error", id="export-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Export", variant="primary", id="export")
                yield Button("Cancel", id="cancel", action="screen.cancel")

    def _format(self) -> str:
        return "json" if self.query_one("#format-json", RadioButton).value else "csv"

    @on(RadioSet.Changed)
    def _format_changed(self) -> None:
        # Keep the suggested file name's extension in step with the format.
        path_input = self.query_one("#export-path", Input)
        path = Path(path_input.value)
        if path.suffix in (".csv", ".json"):
            path_input.value = str(path.with_suffix("." + self._format()))

    @on(Button.Pressed, "#export")
    @on(Input.Submitted, "#export-path")
    def _submit(self) -> None:
        raw = self.query_one("#export-path", Input).value.strip()
        error = self.query_one("#export-error", Static)
        if not raw:
            error.update("Enter a file name, e.g. results.csv")
            return
        if self._download:
            name = Path(raw).name
            if not name or name in (".", ".."):
                error.update("Enter a file name, e.g. results.csv")
                return
            self.dismiss((self._format(), Path(name)))
            return
        path = Path(raw).expanduser()
        if not path.is_absolute():
            path = self._folder / path
        if path.is_dir():
            error.update(Text(f"{raw} is a directory: enter a file name inside it"))
            return
        self.dismiss((self._format(), path))

    def action_cancel(self) -> None:
        self.dismiss(None)


class FilterDialog(ModalScreen[frozenset[str] | None]):
    """Choose which training job statuses the table shows."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, shown: frozenset[str]) -> None:
        super().__init__(classes="dialog-screen")
        self._shown = shown

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Show training jobs with status", classes="dialog-title")
            for status in TRAINING_STATUSES:
                yield Checkbox(status, status in self._shown, id=f"filter-{status}")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Apply", variant="primary", id="apply", action="screen.apply")
                yield Button("All", id="all", action="screen.show_all")
                yield Button("Cancel", id="cancel", action="screen.cancel")

    def action_apply(self) -> None:
        shown = frozenset(s for s in TRAINING_STATUSES if self.query_one(f"#filter-{s}", Checkbox).value)
        self.dismiss(shown)

    def action_show_all(self) -> None:
        self.dismiss(frozenset(TRAINING_STATUSES))

    def action_cancel(self) -> None:
        self.dismiss(None)


class SortDialog(ModalScreen[tuple[str, bool] | None]):
    """Choose the sort column; choosing the current column again flips the direction.

    Dismisses with (column key, reversed) where reversed flips the column's natural order.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, columns: list[tuple[str, str]], current: str, reverse: bool) -> None:
        super().__init__(classes="dialog-screen")
        self._columns = columns
        self._current = current
        self._reverse = reverse

    def compose(self) -> ComposeResult:
        options = []
        for key, label in self._columns:
            mark = (" ▼" if self._reverse else " ▲") if key == self._current else ""
            options.append(Option(Text(label + mark), id=key))
        with Vertical(classes="dialog"):
            yield Label("Sort by (again to reverse)", classes="dialog-title")
            yield OptionList(*options, id="sort-columns")

    def on_mount(self) -> None:
        option_list = self.query_one(OptionList)
        option_list.highlighted = option_list.get_option_index(self._current)
        option_list.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        key = event.option.id or self._current
        reverse = (not self._reverse) if key == self._current else False
        self.dismiss((key, reverse))

    def action_cancel(self) -> None:
        self.dismiss(None)


def screen_keys(app: App, screen: Screen) -> list[tuple[str, str]]:
    """(key, description) of every described binding active on a screen, nearest first:
    the screen's own keys, then the app's (navigation, quit)."""
    keys: list[tuple[str, str]] = []
    seen: set[str] = set()
    for active in screen.active_bindings.values():
        binding = active.binding
        if not binding.description or binding.system or binding.description in seen:
            continue
        if binding.id is None:
            continue  # Textual's own keys (cursor, focus, copy); ours all have an id
        seen.add(binding.description)
        keys.append((app.get_key_display(binding), binding.description))
    return keys


class HelpScreen(ModalScreen[None]):
    """The keys of the screen below, from its BINDINGS."""

    BINDINGS = [Binding("escape,question_mark,q", "close", "Close", id="dialog.close")]

    def __init__(self, title: str, keys: list[tuple[str, str]], notes: str = "") -> None:
        super().__init__(classes="dialog-screen")
        self._title = title
        self._keys = keys
        self._notes = notes

    def compose(self) -> ComposeResult:
        body = Text()
        width = max((len(k) for k, _ in self._keys), default=4) + 2
        for key, description in self._keys:
            body.append(key.ljust(width), style="bold")
            body.append(description + "\n")
        if self._notes:
            body.append("\n" + self._notes)
        with Vertical(classes="dialog help"):
            yield Label(Text(self._title), classes="dialog-title")
            yield Static(body, classes="dialog-body")
            yield Static("ctrl+p: command palette · escape: close", classes="dialog-hint")

    def action_close(self) -> None:
        self.dismiss(None)
