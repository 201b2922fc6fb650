"""Editable key/value list (the estimator's static hyperparameters) for the configure screen."""

from __future__ import annotations

import math

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, DataTable, Input
from rich.text import Text

from hpo_tui.app.widgets.compact import compact
from hpo_tui.app.widgets.tables import fill_table

HpValue = str | int | float
KV_COLUMNS = (("name", "Name"), ("value", "Value"))


def coerce_value(text: str) -> HpValue:
    """Typed value for a static hyperparameter typed as text: int, then float, else the string."""
    stripped = text.strip()
    try:
        return int(stripped)
    except ValueError:
        pass
    try:
        number = float(stripped)
    except ValueError:
        return stripped
    # "nan" and "inf" stay text: a number that is not finite is no use as a hyperparameter.
    return number if math.isfinite(number) else stripped


class KeyValueEditor(Vertical):
    """A table of name = value rows; type a name and a value and press Set (or enter) to add or
    replace a row, select a row and press Remove (or delete) to drop it."""

    DEFAULT_CSS = """
    KeyValueEditor {
        height: auto;
    }
    KeyValueEditor > DataTable {
        height: auto;
        max-height: 8;
    }
    KeyValueEditor > .kv-inputs {
        height: auto;
        margin-top: 1;
    }
    KeyValueEditor > .kv-inputs > Input {
        width: 1fr;
        margin-right: 1;
    }
    KeyValueEditor > .kv-inputs > Button {
        margin-left: 1;
        width: auto;
        min-width: 8;
    }
    """

    # Over the table these win over the screen's own keys (a/d there act on ranges).
    BINDINGS = [
        Binding("a", "focus_inputs", "Add", id="keyvalue.add"),
        Binding("d,delete", "remove_selected", "Remove", id="keyvalue.remove"),
    ]

    class Changed(Message):
        """The rows changed (added, replaced or removed), or the pending inputs did."""

        def __init__(self, editor: KeyValueEditor) -> None:
            super().__init__()
            self.editor = editor

        @property
        def control(self) -> KeyValueEditor:
            return self.editor

    def __init__(
        self,
        items: dict[str, HpValue] | None = None,
        *,
        prefix: str = "static",
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._items: dict[str, HpValue] = dict(items or {})
        self._prefix = prefix

    def compose(self) -> ComposeResult:
        table: DataTable[Text] = DataTable(
            id=f"{self._prefix}-table", cursor_type="row", zebra_stripes=True
        )
        for key, label in KV_COLUMNS:
            table.add_column(label, key=key)
        yield table
        with Horizontal(classes="kv-inputs"):
            yield compact(Input(placeholder="name", id=f"{self._prefix}-key", select_on_focus=False))
            yield compact(Input(placeholder="value", id=f"{self._prefix}-value", select_on_focus=False))
            yield compact(Button("Set", id=f"{self._prefix}-add", variant="primary"))
            yield compact(Button("Remove", id=f"{self._prefix}-delete", variant="error"))

    def on_mount(self) -> None:
        self._refill()

    @property
    def items(self) -> dict[str, HpValue]:
        return dict(self._items)

    @property
    def pending(self) -> tuple[str, str] | None:
        """(name, value) typed in the inputs but not set yet, or None when both are empty.

        Not part of items: the form reports it, so that nothing typed is silently dropped."""
        key = self.query_one(f"#{self._prefix}-key", Input).value.strip()
        value = self.query_one(f"#{self._prefix}-value", Input).value.strip()
        return (key, value) if key or value else None

    def focus_pending(self) -> None:
        """Focus where the pending row is finished: the name if missing, else the Set button."""
        if self.pending is not None and not self.pending[0]:
            self.query_one(f"#{self._prefix}-key", Input).focus()
        elif self.pending is not None:
            self.query_one(f"#{self._prefix}-add", Button).focus()
        else:
            self.query_one(DataTable).focus()

    def set_items(self, items: dict[str, HpValue]) -> None:
        self._items = dict(items)
        self._refill()
        self.post_message(self.Changed(self))

    def set_item(self, key: str, value: HpValue) -> None:
        self._items[key] = value
        self._refill(select=key)
        self.post_message(self.Changed(self))

    def remove_item(self, key: str) -> None:
        if key in self._items:
            del self._items[key]
            self._refill()
            self.post_message(self.Changed(self))

    def _refill(self, select: str | None = None) -> None:
        table = self.query_one(DataTable)
        fill_table(table, KV_COLUMNS, [(key, [Text(key), Text(str(value))]) for key, value in self._items.items()])
        if select is not None and select in self._items:
            table.move_cursor(row=table.get_row_index(select))

    def _selected_key(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        row_key, _ = table.coordinate_to_cell_key((table.cursor_row, 0))
        return row_key.value

    def _submit_inputs(self) -> None:
        key_input = self.query_one(f"#{self._prefix}-key", Input)
        value_input = self.query_one(f"#{self._prefix}-value", Input)
        key = key_input.value.strip()
        if not key:
            key_input.focus()
            self.notify("Type a hyperparameter name first.", severity="warning")
            return
        self.set_item(key, coerce_value(value_input.value))
        key_input.value = ""
        value_input.value = ""
        key_input.focus()

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == f"{self._prefix}-add":
            self._submit_inputs()
        elif event.button.id == f"{self._prefix}-delete":
            self.action_remove_selected()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == f"{self._prefix}-key":
            self.query_one(f"#{self._prefix}-value", Input).focus()
        else:
            self._submit_inputs()

    @on(Input.Changed)
    def _typing(self, event: Input.Changed) -> None:
        # The inputs are a staging area, not part of the spec: the form hears of them as a
        # pending row (see `pending`), not as one of its own fields.
        event.stop()
        self.post_message(self.Changed(self))

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        # Enter on a row loads it into the inputs for editing.
        event.stop()
        key = event.row_key.value
        if key is None or key not in self._items:
            return
        self.query_one(f"#{self._prefix}-key", Input).value = key
        self.query_one(f"#{self._prefix}-value", Input).value = str(self._items[key])
        self.query_one(f"#{self._prefix}-value", Input).focus()

    def action_focus_inputs(self) -> None:
        self.query_one(f"#{self._prefix}-key", Input).focus()

    def action_remove_selected(self) -> None:
        key = self._selected_key()
        if key is not None:
            self.remove_item(key)
