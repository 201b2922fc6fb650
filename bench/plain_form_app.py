"""The second yardstick of bench/tui_bench.py --startup: the configure screen's form written
in plain Textual, as its docs show, with none of hpo-tui's code.

Same widgets as the configure screen at 120x40, kind by kind and nesting by nesting (the
Header, two scrolling columns of seven bordered sections, 19 label | field rows in grids,
18 compact Inputs, 4 compact Selects, 3 DataTables with the reference spec's rows, 12
Buttons, the Footer's nine keys); tests/app/test_startup_yardstick.py checks that the two
trees stay alike. What it leaves out is what hpo-tui adds: its imports, the spec model, the
checks as you type, and the start-up cuts of hpo_tui/app/widgets/compact.py.

`--no-fields` drops the 19 rows (labels, Inputs, Selects) and keeps the rest: the form with
nothing to fill in.
"""

import sys

from textual.app import App, ComposeResult
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, DataTable, Footer, Header, Input, Label, Select, Static

CSS = """
#form { height: 1fr; }
.form-column { width: 1fr; height: 1fr; padding: 0 1; scrollbar-size-vertical: 1; }
.section { height: auto; border: round $primary 50%; border-title-color: $text-primary;
           border-title-style: bold; border-subtitle-color: $text-muted; padding: 0 1; }
.section:focus-within { border: round $primary; }
.fields { layout: grid; grid-size: 2; grid-columns: 17 1fr; height: auto; }
.field-label { color: $text-muted; }
.field-error { height: auto; color: $text-error; display: none; }
DataTable { height: auto; max-height: 8; }
.table-buttons { height: 1; }
.table-buttons > Button { margin-right: 1; width: auto; min-width: 8; }
.kv { height: auto; }
.kv-inputs { height: auto; margin-top: 1; }
.kv-inputs > Input { width: 1fr; margin-right: 1; }
.kv-inputs > Button { margin-left: 1; width: auto; min-width: 8; }
.subheading { color: $text-muted; text-style: italic; margin-top: 1; }
.tester { height: auto; }
#regex-results { height: auto; padding: 0 1; margin-top: 1; }
#actions { height: 3; padding: 0 1; background: $panel; }
#actions > Button { margin-left: 1; }
.hidden { display: none; }
#problem-count { width: 1fr; height: 3; content-align: left middle; text-style: bold; color: $text-success; }
"""

NO_FIELDS = "--no-fields" in sys.argv[1:]


def fields(*rows: tuple[str, str | tuple[str, ...]], hidden: bool = False) -> Grid:
    """Label | control rows: an Input for a value, a Select for a tuple of choices (a group
    hidden at start, as Hyperband's and SageMaker's are on the local backend, is empty)."""
    children = []
    for label, value in ([] if NO_FIELDS else rows):
        children.append(Label(label, classes="field-label"))
        if isinstance(value, tuple):
            children.append(Select([(c, c) for c in value], value=value[0], allow_blank=False, compact=True))
        else:
            children.append(Input(value, compact=True, select_on_focus=False))
    return Grid(*children, classes="fields hidden" if hidden else "fields")


def table(columns: list[str], rows: list[list[str]], id: str | None = None) -> DataTable:
    widget = DataTable(cursor_type="row", zebra_stripes=True, id=id)
    widget.add_columns(*columns)
    widget.add_rows(rows)
    return widget


def table_buttons() -> Horizontal:
    return Horizontal(*(Button(verb, compact=True) for verb in ("Add", "Edit", "Delete")), classes="table-buttons")


def section(title: str, *children, subtitle: str | None = None) -> Vertical:
    box = Vertical(*children, classes="section")
    box.border_title = title
    box.border_subtitle = subtitle
    return box


class PlainFormApp(App):
    CSS = CSS
    TITLE = "hpo-tui"
    SUB_TITLE = "Configure a tuning job"
    AUTO_FOCUS = "#ranges-table"  # as the configure screen's: the ranges are what a tuning job is about
    BINDINGS = [(key, "quit" if key == "ctrl+q" else f"noop('{description}')", description)
                for key, description in (("ctrl+l", "Launch"), ("ctrl+q", "Quit"), ("ctrl+s", "Save"),
                                         ("ctrl+o", "Load"), ("a", "Add range"), ("e", "Edit range"),
                                         ("d", "Delete range"), ("p", "Preview request"), ("question_mark", "Help"))]

    def action_noop(self, what: str) -> None:
        """The keys do nothing here; the Footer shows one key per distinct action."""

    def compose(self) -> ComposeResult:
        yield Header()
        left = VerticalScroll(
            section("Estimator", fields(("Entry point", "mnist.py"), ("Source dir", "training"),
                                        ("Framework", "1.9.0"), ("Python", "py38"), ("Base job name", "mnist-hpo"))),
            section("Static hyperparameters",
                    Vertical(table(["Name", "Value"], [["batch_size", "100"]]),
                             Horizontal(Input(placeholder="name", compact=True),
                                        Input(placeholder="value", compact=True),
                                        Button("Set", variant="primary", compact=True),
                                        Button("Remove", variant="error", compact=True), classes="kv-inputs"),
                             classes="kv"),
                    Static(classes="field-error"), subtitle="same for every job"),
            section("Objective & metrics",
                    fields(("Objective", "Validation-accuracy"), ("Type", ("Maximize", "Minimize"))),
                    table(["Metric", "Regex"], [["Validation-accuracy", r"Validation-accuracy=([0-9\.]+)"]]),
                    table_buttons(), Static(classes="field-error"),
                    Label("Regex tester: what each definition captures", classes="subheading"),
                    Vertical(Input("Epoch[3] Validation-accuracy=0.9712", compact=True),
                             Static("Validation-accuracy  → 0.9712  epoch 4", id="regex-results"), classes="tester")),
            section("Completion criteria", fields(("Target value", "none"), ("Not improving", "none (jobs in a row)"))),
            classes="form-column")
        right = VerticalScroll(
            section("Hyperparameter ranges",
                    table(["Name", "Type", "Range / values", "Scaling"],
                          [["optimizer", "categorical", "sgd, Adam", "—"],
                           ["learning_rate", "continuous", "0.01 … 0.2", "Auto"],
                           ["num_epoch", "integer", "10 … 50", "Auto"]], id="ranges-table"),
                    table_buttons(), Static(classes="field-error"), subtitle="a add · e/enter edit · d delete"),
            section("Tuning",
                    fields(("Strategy", ("Bayesian", "Random", "Hyperband", "Grid")), ("Early stopping", ("Off", "Auto")),
                           ("Max jobs", "9"), ("Max parallel", "3"), ("Max runtime (s)", "no limit"),
                           ("Random seed", "none (different each run)"),
                           ("Tuning job name", "generated from the base job name")),
                    fields(hidden=True)),
            section("Backend", fields(("Backend", ("local", "sagemaker"))),
                    fields(("Train channel", "prepared MNIST (default)"), ("Test channel", "prepared MNIST (default)")),
                    fields(hidden=True)),
            classes="form-column")
        yield Horizontal(left, right, id="form")
        yield Static(classes="field-error")
        yield Horizontal(Static("ready to launch", id="problem-count"), Button("Load…"), Button("Save…"),
                         Button("Preview request", classes="hidden"), Button("Launch on local", variant="success"), id="actions")
        yield Footer()


if __name__ == "__main__":
    PlainFormApp().run()
