"""RangeEditor: the modal that adds or edits one hyperparameter range; its fields follow the type."""

from __future__ import annotations

from typing import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Input, Label, Select, Static

from hpo_tui.app.form_model import format_number
from hpo_tui.app.screens.form_dialog import FormDialog
from hpo_tui.spec import (
    SCALINGS,
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    Parameter,
)

KINDS = ("integer", "continuous", "categorical")

RangeResult = tuple[str, Parameter]
# Given a candidate (name, parameter), the spec's messages about it (empty = fine).
RangeCheck = Callable[[str, Parameter], list[str]]


def parse_values(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


class RangeEditor(FormDialog[RangeResult | None]):
    """Edit one range. Returns (name, parameter), or None when cancelled.

    Values that do not parse, and a min above the max, block OK and enter (the field turns
    red); other rule violations are shown here in the spec's words but accepted, and the
    configure screen keeps Launch disabled until fixed.
    """

    DEFAULT_CSS = """
    RangeEditor {
        align: center middle;
        background: $background 60%;
    }
    RangeEditor > #range-dialog {
        width: 64;
        height: auto;
        max-height: 90%;
        overflow-y: auto;
        border: thick $primary 80%;
        border-title-color: $text-primary;
        border-title-style: bold;
        background: $surface;
        padding: 1 2;
    }
    RangeEditor .range-row {
        height: auto;
    }
    RangeEditor .range-group {
        height: auto;
    }
    RangeEditor .range-row > Label {
        width: 10;
        padding-top: 1;
        color: $text-muted;
    }
    RangeEditor .range-row > Input, RangeEditor .range-row > Select {
        width: 1fr;
    }
    RangeEditor #range-errors {
        height: auto;
        color: $text-error;
        margin: 1 0;
    }
    RangeEditor #range-hint {
        color: $text-muted;
    }
    RangeEditor #range-buttons {
        height: auto;
        align-horizontal: right;
    }
    RangeEditor #range-buttons > Button {
        margin-left: 1;
    }
    """

    OK_ID = "range-ok"
    CANCEL_ID = "range-cancel"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="range_editor.cancel"),
    ]

    def __init__(
        self,
        name: str | None = None,
        parameter: Parameter | None = None,
        *,
        taken_names: set[str] | frozenset[str] = frozenset(),
        check: RangeCheck | None = None,
    ) -> None:
        super().__init__()
        self._original_name = name
        self._parameter = parameter
        self._taken = set(taken_names) - ({name} if name else set())
        self._check = check

    def compose(self) -> ComposeResult:
        p = self._parameter
        kind = p.kind if p is not None else "continuous"
        min_text = max_text = ""
        scaling = "Auto"
        values_text = ""
        if isinstance(p, (IntegerParameter, ContinuousParameter)):
            min_text, max_text, scaling = format_number(p.min), format_number(p.max), p.scaling
        elif isinstance(p, CategoricalParameter):
            values_text = ", ".join(p.values)
        with Vertical(id="range-dialog") as dialog:
            dialog.border_title = "Edit range" if self._original_name else "Add range"
            with Horizontal(classes="range-row"):
                yield Label("Name")
                yield Input(self._original_name or "", placeholder="hyperparameter name", id="range-name", select_on_focus=False)
            with Horizontal(classes="range-row"):
                yield Label("Type")
                yield Select([(k, k) for k in KINDS], value=kind, allow_blank=False, id="range-type")
            with Vertical(id="range-numeric", classes="range-group"):
                with Horizontal(classes="range-row"):
                    yield Label("Min")
                    yield Input(min_text, placeholder="lowest value", id="range-min", select_on_focus=False)
                with Horizontal(classes="range-row"):
                    yield Label("Max")
                    yield Input(max_text, placeholder="highest value", id="range-max", select_on_focus=False)
                with Horizontal(classes="range-row"):
                    yield Label("Scaling")
                    yield Select(
                        [(s, s) for s in SCALINGS], value=scaling, allow_blank=False, id="range-scaling"
                    )
            with Vertical(id="range-categorical", classes="range-group"):
                with Horizontal(classes="range-row"):
                    yield Label("Values")
                    yield Input(values_text, placeholder="comma-separated, e.g. sgd, Adam", id="range-values", select_on_focus=False)
            yield Static(id="range-errors")
            yield Static("enter: OK · escape: cancel", id="range-hint")
            with Horizontal(id="range-buttons"):
                yield Button("Cancel", id="range-cancel")
                yield Button("OK", id="range-ok", variant="primary")

    def on_mount(self) -> None:
        self._show_fields_for(self._kind())
        self._refresh_errors()
        self.query_one("#range-name", Input).focus()

    def _kind(self) -> str:
        value = self.query_one("#range-type", Select).value
        return value if isinstance(value, str) else "continuous"

    def _show_fields_for(self, kind: str) -> None:
        self.query_one("#range-numeric").display = kind != "categorical"
        self.query_one("#range-categorical").display = kind == "categorical"

    def _parse(self) -> tuple[RangeResult | None, list[str]]:
        """The (name, parameter) typed so far, or None and what does not parse."""
        errors: list[str] = []
        name = self.query_one("#range-name", Input).value.strip()
        if not name:
            errors.append("name: type the hyperparameter's name (as the training script takes it)")
        elif name in self._taken:
            errors.append(f"name: a range named {name!r} already exists; pick another name")
        kind = self._kind()
        parameter: Parameter | None = None
        if kind == "categorical":
            values = parse_values(self.query_one("#range-values", Input).value)
            if not values:
                errors.append("values: list at least one value, separated by commas")
            else:
                parameter = CategoricalParameter(values)
        else:
            number = int if kind == "integer" else float
            noun = "a whole number" if kind == "integer" else "a number"
            bounds: list[int | float] = []
            for field in ("min", "max"):
                text = self.query_one(f"#range-{field}", Input).value.strip()
                try:
                    bounds.append(number(text))
                except ValueError:
                    shown = repr(text) if text else "empty"
                    errors.append(f"{field}: {shown} is not {noun}; type {noun}")
            scaling = self.query_one("#range-scaling", Select).value
            if len(bounds) == 2 and bounds[0] >= bounds[1]:
                errors.append(f"min: {format_number(bounds[0])} must be less than max {format_number(bounds[1])}; "
                              "lower min or raise max")
                self.query_one("#range-min", Input).add_class("-invalid")
            else:
                self.query_one("#range-min", Input).remove_class("-invalid")
            if len(bounds) == 2 and not errors:
                cls = IntegerParameter if kind == "integer" else ContinuousParameter
                parameter = cls(bounds[0], bounds[1], str(scaling))  # type: ignore[arg-type]
        if errors or parameter is None:
            return None, errors
        return (name, parameter), []

    def _refresh_errors(self) -> None:
        result, errors = self._parse()
        warnings: list[str] = []
        if result is not None and self._check is not None:
            warnings = self._check(*result)
        lines = errors + warnings
        self.query_one("#range-errors", Static).update(
            Content("\n".join(f"• {line}" for line in lines)) if lines else Content("")
        )
        self.query_one("#range-errors").display = bool(lines)
        self.query_one("#range-ok", Button).disabled = result is None

    @on(Select.Changed, "#range-type")
    def _type_changed(self, event: Select.Changed) -> None:
        event.stop()
        self._show_fields_for(self._kind())
        self._refresh_errors()

    @on(Select.Changed, "#range-scaling")
    def _scaling_changed(self, event: Select.Changed) -> None:
        event.stop()
        self._refresh_errors()

    def check_form(self) -> None:
        self._refresh_errors()

    def submit_form(self) -> None:
        result, _ = self._parse()
        if result is None:
            self._refresh_errors()
            self.app.bell()
            return
        self.dismiss(result)
