"""The configure form's widgets: grids of label | control rows with an error line under each
control, the ranges and metric definitions tables, and their Add/Edit/Delete buttons."""

from __future__ import annotations

from typing import Iterable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Button, DataTable, Input, Label, Select, Static

from hpo_tui.app.form_model import SELECTS, FormField, FormModel, describe_range
from hpo_tui.app.widgets.compact import CompactSelect, compact
from hpo_tui.app.widgets.tables import fill_table
from hpo_tui.spec import MetricDefinition, Parameter


class ErrorLine(Static):
    """A problem shown under its control (or under a table): hidden while empty, and
    rewritten only when its text changes (each update lays the form out again)."""

    def __init__(self, *, id: str, label: Label | None = None, classes: str = "field-error") -> None:
        super().__init__(id=id, classes=classes)
        self.text = ""
        # In a grid, the field's label spans this line's row while it shows (see FieldGrid).
        self._label = label

    def show(self, text: str) -> None:
        if text == self.text:
            return
        self.text = text
        self.update(Content(text))
        self.display = bool(text)
        if self._label is not None:
            self._label.styles.row_span = 2 if text else 1


class FieldGrid(Grid):
    """Label | control rows (an Input per FormField, a Select per select id), each with an
    ErrorLine under the control.

    One grid per group rather than containers per field: fewer widgets make the first frame
    (styles, layout) cheaper. For the same reason a field's ErrorLine is mounted when it
    first has a problem to show; it takes the next row's second cell, and the label then
    spans both rows. A group hidden at start (SageMaker's fields on the local backend,
    Hyperband's under another strategy) is filled when first shown (`fill`)."""

    def __init__(self, items: Iterable[FormField | str], model: FormModel, *, id: str | None = None) -> None:
        super().__init__(classes="fields", id=id)
        self.items = tuple(items)
        self._model = model
        self.filled = True  # False before mounting: composed empty, filled by fill()
        self._error_lines: dict[str, ErrorLine] = {}

    @property
    def field_ids(self) -> list[str]:
        return [item.id if isinstance(item, FormField) else item for item in self.items]

    @property
    def first_id(self) -> str:
        return self.field_ids[0]

    def compose(self) -> ComposeResult:
        if self.filled:
            yield from self._rows()

    def fill(self) -> bool:
        """Mount the rows of a group composed empty (their values from the spec as it is
        now); True if it did."""
        if self.filled:
            return False
        self.filled = True
        self.mount_all(list(self._rows()))
        return True

    def show_spec(self) -> None:
        """Set every input to the model's spec (after a file is loaded)."""
        for f in self.items:
            if isinstance(f, FormField) and self.filled:
                self.query_one(f"#{f.id}", Input).value = self._model.start_value(f)

    def _rows(self) -> ComposeResult:
        for item in self.items:
            if isinstance(item, FormField):
                label = Label(item.label, classes="field-label", id=f"{item.id}-label")
                control: Input | Select = compact(Input(
                    self._model.start_value(item), placeholder=item.placeholder, id=item.id,
                    select_on_focus=False,  # Tab into a field must not make typing replace it
                ))
            else:
                title, _, choices = SELECTS[item]
                label = Label(title, classes="field-label", id=f"{item}-label")
                control = compact(CompactSelect([(c, c) for c in choices], value=self._model.start_choice(item),
                                         allow_blank=False, id=item))
            yield label
            yield control

    def show_errors(self, by_line: dict[str, list[str]]) -> None:
        """Show each field's problems under it ({error line id: messages}), and clear the rest."""
        if not self.filled:
            return
        for field_id in self.field_ids:
            text = "\n".join(by_line.get(f"{field_id}-error", ()))
            line = self._error_lines.get(field_id)
            if line is None and not text:
                continue
            if line is None:
                line = ErrorLine(id=f"{field_id}-error", label=self.query_one(f"#{field_id}-label", Label))
                self._error_lines[field_id] = line
                self.mount(line, after=self.query_one(f"#{field_id}"))
            line.show(text)

    def texts(self) -> dict[str, str]:
        """The text of each input of this group (none before it is filled)."""
        return {widget.id: widget.value for widget in self.query_children(Input) if widget.id}


def section(id: str, title: str, *children: Widget, subtitle: str | None = None) -> Vertical:
    """A bordered section of the form."""
    box = Vertical(*children, id=id, classes="section")
    box.border_title = title
    box.border_subtitle = subtitle
    return box


def form_column(id: str, *sections: Widget) -> VerticalScroll:
    """One of the form's two scrolling columns."""
    column = VerticalScroll(*sections, id=id, classes="form-column")
    # Tab goes field to field: the scrolling column itself is no stop (focusing a field
    # scrolls it into view anyway).
    column.can_focus = False
    return column


class TableButtons(Horizontal):
    """Add / Edit / Delete under a table, each running the screen's action of that name."""

    def __init__(self, what: str) -> None:
        super().__init__(classes="table-buttons")
        self.what = what

    def compose(self) -> ComposeResult:
        for verb in ("add", "edit", "delete"):
            yield compact(Button(verb.title(), id=f"{verb}-{self.what}", action=f"screen.{verb}_{self.what}"))


RANGE_COLUMNS = (("name", "Name"), ("type", "Type"), ("range", "Range / values"), ("scaling", "Scaling"))
METRIC_COLUMNS = (("name", "Metric"), ("regex", "Regex"))


def _row_key(table: DataTable) -> str | None:
    if table.row_count == 0:
        return None
    row_key, _ = table.coordinate_to_cell_key((table.cursor_row, 0))
    return row_key.value


class RangesTable(DataTable[Text]):
    """The hyperparameter ranges: name, type, range or values, scaling."""

    def __init__(self) -> None:
        super().__init__(id="ranges-table", cursor_type="row", zebra_stripes=True)
        for key, label in RANGE_COLUMNS:
            self.add_column(label, key=key)

    def show(self, ranges: dict[str, Parameter], select: str | None = None) -> None:
        rows = []
        for name, parameter in ranges.items():
            range_text, scaling = describe_range(parameter)
            rows.append((name, [Text(name), Text(parameter.kind), Text(range_text), Text(scaling)]))
        fill_table(self, RANGE_COLUMNS, rows)
        if select is not None and select in ranges:
            self.move_cursor(row=self.get_row_index(select))

    @property
    def selected(self) -> str | None:
        """The name of the range under the cursor."""
        return _row_key(self)


class MetricsTable(DataTable[Text]):
    """The metric definitions table; its keys act on metrics while it has focus."""

    BINDINGS = [
        Binding("a", "screen.add_metric", "Add metric", id="configure.add_metric",
                tooltip="Add a metric regex"),
        Binding("e", "screen.edit_metric", "Edit metric", id="configure.edit_metric",
                tooltip="Edit the selected metric definition"),
        Binding("d,delete", "screen.delete_metric", "Delete metric", id="configure.delete_metric",
                tooltip="Delete the selected metric definition"),
    ]

    def __init__(self) -> None:
        super().__init__(id="metrics-table", cursor_type="row", zebra_stripes=True)
        for key, label in METRIC_COLUMNS:
            self.add_column(label, key=key)

    def show(self, metrics: list[MetricDefinition]) -> None:
        cursor = self.cursor_row
        fill_table(self, METRIC_COLUMNS, [(str(i), [Text(m.name), Text(m.regex)]) for i, m in enumerate(metrics)])
        if metrics:
            self.move_cursor(row=min(cursor, len(metrics) - 1))

    @property
    def selected(self) -> int | None:
        """The index of the metric definition under the cursor."""
        return None if self.row_count == 0 else self.cursor_row
