"""Configure screen: the start screen, where a TuningSpec is edited, checked as you type,
loaded/saved as TOML, previewed as a SageMaker request, and launched."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Button, DataTable, Header, Input, Label, Select, Static

from hpo_tui.app.screens.range_editor import RangeEditor, format_number
from hpo_tui.app.widgets.compact import compact
from hpo_tui.app.widgets.footer import KeyFooter
from hpo_tui.app.widgets.keyvalue import KeyValueEditor
from hpo_tui.app.widgets.regex_tester import RegexTester
from hpo_tui.errors import UserError
from hpo_tui.spec import (
    BACKENDS,
    EARLY_STOPPING,
    OBJECTIVE_TYPES,
    STRATEGIES,
    CategoricalParameter,
    HyperbandSettings,
    MetricDefinition,
    Parameter,
    TuningSpec,
    load_spec,
    resolved_max_jobs,
    save_spec,
    validate,
)
from hpo_tui.spec.sdk_config import render_request_as_sent

DEFAULT_SPEC_FILE = Path("tuning.toml")

# (path, message) pairs: a SpecIssue's fields, or a number that does not parse.
Problem = tuple[str, str]


@dataclass(frozen=True)
class FormField:
    """One Input of the form, bound to one spec attribute path."""

    id: str
    label: str
    path: str
    kind: str  # str | opt-str | int | opt-int | opt-float
    placeholder: str = ""


ESTIMATOR_FIELDS = (
    FormField("entry-point", "Entry point", "estimator.entry_point", "str", "training script, e.g. mnist.py"),
    FormField("source-dir", "Source dir", "estimator.source_dir", "str", "directory holding the script"),
    FormField("framework-version", "Framework", "estimator.framework_version", "str", "MXNet version, e.g. 1.9.0"),
    FormField("py-version", "Python", "estimator.py_version", "str", "e.g. py38"),
    FormField("base-job-name", "Base job name", "estimator.base_job_name", "str", "prefix of job names"),
)
OBJECTIVE_FIELDS = (
    FormField("objective-name", "Objective", "objective.name", "str", "a metric definition's name"),
)
TUNING_FIELDS = (
    FormField("max-jobs", "Max jobs", "max_jobs", "opt-int", "all combinations (Grid only)"),
    FormField("max-parallel-jobs", "Max parallel", "max_parallel_jobs", "int", "jobs at once"),
    FormField("max-runtime-seconds", "Max runtime (s)", "max_runtime_seconds", "opt-int", "no limit"),
    FormField("random-seed", "Random seed", "random_seed", "opt-int", "none (different each run)"),
    FormField("tuning-job-name", "Tuning job name", "tuning_job_name", "opt-str", "generated from the base job name"),
)
HYPERBAND_FIELDS = (
    FormField("hyperband-min-resource", "Min epochs", "hyperband.min_resource", "opt-int", "1 (SageMaker's default)"),
    FormField("hyperband-max-resource", "Max epochs", "hyperband.max_resource", "opt-int", "the epoch count"),
)
COMPLETION_FIELDS = (
    FormField("target-objective-value", "Target value", "completion.target_objective_value", "opt-float", "none"),
    FormField("max-jobs-not-improving", "Not improving", "completion.max_jobs_not_improving", "opt-int", "none (jobs in a row)"),
)
LOCAL_FIELDS = (
    FormField("channel-train", "Train channel", "channels.train", "opt-str", "prepared MNIST (default)"),
    FormField("channel-test", "Test channel", "channels.test", "opt-str", "prepared MNIST (default)"),
)
SAGEMAKER_FIELDS = (
    FormField("role-arn", "Role ARN", "sagemaker.role_arn", "opt-str", "arn:aws:iam::<account>:role/<name>"),
    FormField("region", "Region", "sagemaker.region", "opt-str", "from the AWS config chain"),
    FormField("profile", "Profile", "sagemaker.profile", "opt-str", "default profile"),
    FormField("instance-type", "Instance type", "estimator.instance_type", "str", "e.g. ml.m5.xlarge"),
    FormField("instance-count", "Instances", "estimator.instance_count", "int", "per training job"),
    FormField("s3-train", "S3 train", "channels.train", "opt-str", "SageMaker sample data (default)"),
    FormField("s3-test", "S3 test", "channels.test", "opt-str", "SageMaker sample data (default)"),
)
# Fields shown only while a select has a given value: field id -> (select id, value).
SHOWN_WHEN: dict[str, tuple[str, str]] = (
    {f.id: ("backend", "local") for f in LOCAL_FIELDS}
    | {f.id: ("backend", "sagemaker") for f in SAGEMAKER_FIELDS}
    | {f.id: ("strategy", "Hyperband") for f in HYPERBAND_FIELDS}
)
# Of those, the ones that feed the spec only while shown: the channel inputs exist once per
# backend (local paths, S3 URIs), and Hyperband's settings mean nothing to other strategies.
FEEDS_ONLY_WHEN_SHOWN = {f.id for f in LOCAL_FIELDS + SAGEMAKER_FIELDS if f.path.startswith("channels.")} | {
    f.id for f in HYPERBAND_FIELDS
}
ALL_FIELDS = ESTIMATOR_FIELDS + OBJECTIVE_FIELDS + TUNING_FIELDS + HYPERBAND_FIELDS + COMPLETION_FIELDS + LOCAL_FIELDS + SAGEMAKER_FIELDS

# Selects: id -> (label, spec path, choices)
SELECTS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "objective-type": ("Type", "objective.type", OBJECTIVE_TYPES),
    "strategy": ("Strategy", "strategy", STRATEGIES),
    "early-stopping": ("Early stopping", "early_stopping", EARLY_STOPPING),
    "backend": ("Backend", "backend", BACKENDS),
}

# Spec paths whose problems are listed under a whole widget (prefix match).
GROUP_ERRORS = {
    "ranges": "ranges-error",
    "metric_definitions": "metrics-error",
    "estimator.hyperparameters": "static-hps-error",
}


def _get_path(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def _set_path(obj: Any, path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        obj = getattr(obj, part)
    setattr(obj, last, value)


def _to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return format_number(value)
    return str(value)


def _parse(field: FormField, text: str) -> tuple[Any, str | None]:
    """(value, None), or (None, message) when the text is not what the field needs."""
    text = text.strip()
    if field.kind == "str":
        return text, None
    if field.kind == "opt-str":
        return (text or None), None
    if not text and field.kind.startswith("opt-"):
        return None, None
    name = field.path.rsplit(".", 1)[-1]
    if field.kind.endswith("int"):
        try:
            return int(text), None
        except ValueError:
            shown = repr(text) if text else "empty"
            return None, f"{name} must be a whole number, got {shown}"
    try:
        return float(text), None
    except ValueError:
        shown = repr(text) if text else "empty"
        return None, f"{name} must be a number, got {shown}"


def validate_spec(spec: TuningSpec) -> list[Problem]:
    """The spec's own validation as (path, message) pairs."""
    return [(issue.path, issue.message) for issue in validate(spec)]


def describe_range(parameter: Parameter) -> tuple[str, str]:
    """(range text, scaling text) for the ranges table."""
    if isinstance(parameter, CategoricalParameter):
        return ", ".join(parameter.values), "—"
    return f"{format_number(parameter.min)} … {format_number(parameter.max)}", parameter.scaling


class MetricsTable(DataTable):
    """The metric definitions table; its keys act on metrics while it has focus."""

    BINDINGS = [
        Binding("a", "screen.add_metric", "Add metric", id="configure.add_metric"),
        Binding("e", "screen.edit_metric", "Edit metric", id="configure.edit_metric"),
        Binding("d,delete", "screen.delete_metric", "Delete metric", id="configure.delete_metric"),
    ]


def sagemaker_launch_summary(spec: TuningSpec) -> str:
    """What a SageMaker launch starts (and bills): instances x jobs, and how many at once."""
    jobs = resolved_max_jobs(spec)
    count, instance = spec.estimator.instance_count, spec.estimator.instance_type
    parallel = min(spec.max_parallel_jobs, jobs)
    each = f"{count} × {instance}" if count != 1 else instance
    return (f"{jobs} training jobs × {each}, {parallel} in parallel "
            f"(up to {parallel * count} instance{'s' if parallel * count != 1 else ''} at once).\n"
            f"SageMaker bills each training job's instance time. Tuning job: "
            f"{spec.tuning_job_name or 'name generated from ' + spec.estimator.base_job_name}.")


def count_text(n: int) -> str:
    if n == 0:
        return "ready to launch"
    return f"{n} problem" if n == 1 else f"{n} problems"


class ConfigureScreen(Screen):
    """Edit a TuningSpec; Launch hands it to ``app.launch_tuning_job``."""

    CSS_PATH = "configure.tcss"
    SUB_TITLE = "Configure a tuning job"
    # Below 100 columns the two form columns stack (configure.tcss), so no table is cut.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    # Focused first by Textual itself: focusing it from on_mount came after Textual had
    # focused the form's scroll column, and each focus change restyled ~60 widgets.
    AUTO_FOCUS = "#ranges-table"
    # The app's command palette offers these (hpo_tui.app.commands.ScreenActions).
    PALETTE = (
        ("Launch tuning job", "Start the tuning job on the chosen backend (ctrl+l)", "launch"),
        ("Save spec", "Write the form to a TOML spec file (ctrl+s)", "save_spec"),
        ("Load spec", "Fill the form from a TOML spec file (ctrl+o)", "load_spec"),
        ("Add range", "Add a hyperparameter range (a)", "add_range"),
        ("Edit range", "Edit the selected hyperparameter range (e)", "edit_range"),
        ("Delete range", "Delete the selected hyperparameter range (d)", "delete_range"),
        ("Add metric definition", "Add a metric regex", "add_metric"),
        ("Preview SageMaker request", "Show the CreateHyperParameterTuningJob JSON (p)", "preview_request"),
    )

    HELP_TITLE = "Configure keys"
    BINDINGS = [
        Binding("ctrl+l", "launch", "Launch", id="configure.launch"),
        # Shown here, where q types a letter: the app's own ctrl+q is hidden from footers.
        Binding("ctrl+q", "app.quit", "Quit", id="configure.quit", priority=True),
        Binding("ctrl+s", "save_spec", "Save", id="configure.save"),
        Binding("ctrl+o", "load_spec", "Load", id="configure.load"),
        Binding("a", "add_range", "Add range", id="configure.add_range"),
        Binding("e", "edit_range", "Edit range", id="configure.edit_range"),
        Binding("d,delete", "delete_range", "Delete range", id="configure.delete_range"),
        Binding("p", "preview_request", "Preview request", id="configure.preview"),
    ]

    def __init__(self, spec: TuningSpec | None = None, *, spec_path: Path | None = None,
                 backend_name: str | None = None) -> None:
        super().__init__()
        spec = copy.deepcopy(spec) if spec is not None else TuningSpec()
        if backend_name is not None:
            spec.backend = backend_name
        # Fields the form does not show (future spec fields) survive a round trip from here.
        self._base = spec
        self._ranges: dict[str, Parameter] = dict(spec.ranges)
        self._metrics: list[MetricDefinition] = [copy.copy(m) for m in spec.metric_definitions]
        self._spec_path = spec_path
        self._problems: list[Problem] = []
        self._error_labels: list[Static] | None = None
        self._shown_messages: dict[str | None, str] = {}
        self._shown_definitions: list[tuple[str, str]] | None = None
        self._launching = False
        self._resumed = False  # see on_screen_resume
        self._sync_due = False  # see _sync_soon
        self._lazy_groups: dict[str, tuple[FormField | str, ...]] = {}  # see _fields
        # The breakpoint class for the terminal as it is: otherwise Textual adds it at the
        # first resize, after the form is mounted, and restyles every widget once more.
        width = self.app.size.width
        self.set_classes([max((low, name) for low, name in self.HORIZONTAL_BREAKPOINTS if width >= low)[1]])

    # ----- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="form"):
            # Stacked (narrow), the ranges come first: they are what a tuning job is about.
            columns = (self._right_column, self._left_column) if self.has_class("-narrow") else \
                (self._left_column, self._right_column)
            for column in columns:
                yield from column()
        yield Static(id="spec-errors")
        with Horizontal(id="actions"):
            yield Static(id="problem-count")
            yield Button("Load…", id="load-spec")
            yield Button("Save…", id="save-spec")
            yield Button("Preview request", id="preview-request")
            yield Button("Launch", id="launch", variant="success")
        yield KeyFooter()

    def on_resize(self) -> None:
        """Across the breakpoint, the columns swap places (and Tab follows what is seen)."""
        form = self.query_one("#form")
        left, right = self.query_one("#form-left"), self.query_one("#form-right")
        narrow = self.has_class("-narrow")
        if narrow and form.children[0] is left:
            form.move_child(right, before=left)
        elif not narrow and form.children[0] is right:
            form.move_child(left, before=right)

    def _column(self, id: str) -> VerticalScroll:
        column = VerticalScroll(id=id, classes="form-column")
        # Tab goes field to field: the scrolling column itself is no stop (focusing a field
        # scrolls it into view anyway).
        column.can_focus = False
        return column

    def _left_column(self) -> ComposeResult:
        with self._column("form-left"):
            with Vertical(id="section-estimator", classes="section") as s:
                s.border_title = "Estimator"
                yield from self._fields(ESTIMATOR_FIELDS)
            with Vertical(id="section-static", classes="section") as s:
                s.border_title = "Static hyperparameters"
                s.border_subtitle = "same for every job"
                yield KeyValueEditor(self._base.estimator.hyperparameters, prefix="static", id="static-hps")
                yield Static(id="static-hps-error", classes="field-error")
            with Vertical(id="section-objective", classes="section") as s:
                s.border_title = "Objective & metrics"
                yield from self._fields((*OBJECTIVE_FIELDS, "objective-type"))
                metrics = MetricsTable(id="metrics-table", cursor_type="row", zebra_stripes=True)
                metrics.add_column("Metric", key="name")
                metrics.add_column("Regex", key="regex")
                yield metrics
                with Horizontal(classes="table-buttons"):
                    yield compact(Button("Add", id="add-metric"))
                    yield compact(Button("Edit", id="edit-metric"))
                    yield compact(Button("Delete", id="delete-metric"))
                yield Static(id="metrics-error", classes="field-error")
                yield Label("Regex tester: what each definition captures", classes="subheading")
                yield RegexTester(self._definitions(), id="regex-tester")
            with Vertical(id="section-completion", classes="section") as s:
                s.border_title = "Completion criteria"
                yield from self._fields(COMPLETION_FIELDS)

    def _right_column(self) -> ComposeResult:
        with self._column("form-right"):
            with Vertical(id="section-ranges", classes="section") as s:
                s.border_title = "Hyperparameter ranges"
                s.border_subtitle = "a add · e/enter edit · d delete"
                ranges: DataTable[Text] = DataTable(id="ranges-table", cursor_type="row", zebra_stripes=True)
                ranges.add_column("Name", key="name")
                ranges.add_column("Type", key="type")
                ranges.add_column("Range / values", key="range")
                ranges.add_column("Scaling", key="scaling")
                yield ranges
                with Horizontal(classes="table-buttons"):
                    yield compact(Button("Add", id="add-range"))
                    yield compact(Button("Edit", id="edit-range"))
                    yield compact(Button("Delete", id="delete-range"))
                yield Static(id="ranges-error", classes="field-error")
            with Vertical(id="section-tuning", classes="section") as s:
                s.border_title = "Tuning"
                yield from self._fields(("strategy", "early-stopping", *TUNING_FIELDS))
                yield from self._fields(HYPERBAND_FIELDS, id="hyperband-fields")
            with Vertical(id="section-backend", classes="section") as s:
                s.border_title = "Backend"
                yield from self._fields(("backend",))
                yield from self._fields(LOCAL_FIELDS, id="local-fields")
                yield from self._fields(SAGEMAKER_FIELDS, id="sagemaker-fields")

    def _fields(self, items: Iterable[FormField | str], *, id: str | None = None) -> ComposeResult:
        """A grid of label | control rows, each with its error line below the control.

        One grid per group rather than containers per field: the form has ~30 fields, and
        fewer widgets make the first frame (styles, layout) cheaper. A shown error takes the
        next row's second cell, and the label then spans both rows (see _set_message).
        A group the selects hide (SageMaker's fields on the local backend, Hyperband's under
        another strategy) is filled when first shown (_set_display): a sixth of the form's
        widgets, styled and laid out before the first frame for nothing.
        """
        items = tuple(items)
        with Grid(classes="fields", id=id):
            if id is not None and items and not self._shown_at_start(items[0]):
                self._lazy_groups[id] = items
            else:
                yield from self._field_widgets(items)

    def _shown_at_start(self, item: FormField | str) -> bool:
        condition = SHOWN_WHEN.get(item.id if isinstance(item, FormField) else item)
        return condition is None or _get_path(self._base, SELECTS[condition[0]][1]) == condition[1]

    def _input(self, f: FormField) -> Input | None:
        """A field's input; None in a group not filled yet (_fields): the spec keeps its value."""
        try:
            return self.query_one(f"#{f.id}", Input)
        except NoMatches:
            return None

    def _field_widgets(self, items: Iterable[FormField | str]) -> ComposeResult:
        for item in items:
            if isinstance(item, FormField):
                yield Label(item.label, classes="field-label", id=f"{item.id}-label")
                yield compact(Input(
                    _to_text(self._field_value(item)), placeholder=item.placeholder, id=item.id,
                    select_on_focus=False,  # Tab into a field must not make typing replace it
                ))
                error_id = f"{item.id}-error"
            else:
                label, path, choices = SELECTS[item]
                current = _get_path(self._base, path)
                yield Label(label, classes="field-label", id=f"{item}-label")
                yield compact(Select(
                    [(c, c) for c in choices],
                    value=current if current in choices else choices[0],
                    allow_blank=False,
                    id=item,
                ))
                error_id = f"{item}-error"
            yield Static(id=error_id, classes="field-error")

    def _field_value(self, f: FormField) -> Any:
        """The spec's value for an Input (blank for a channel input of the other backend)."""
        if f.id in FEEDS_ONLY_WHEN_SHOWN and f.path.startswith("channels."):
            select_id, wanted = SHOWN_WHEN[f.id]
            if _get_path(self._base, SELECTS[select_id][1]) != wanted:
                return None
        return _get_path(self._base, f.path)

    def _shown(self, field_id: str) -> bool:
        condition = SHOWN_WHEN.get(field_id)
        if condition is None:
            return True
        value = self.query_one(f"#{condition[0]}", Select).value
        return value == condition[1]

    def on_mount(self) -> None:
        self._fill_tables()
        self._sync()
        # What "unsaved changes" compare with: the form as opened (after the first frame,
        # which need not wait for a second read of every field).
        self.call_after_refresh(self._mark_saved)

    def _mark_saved(self) -> None:
        self._saved_spec = self.current_spec()

    @property
    def is_edited(self) -> bool:
        """The form differs from what it was opened, loaded or saved with (and is not launched)."""
        saved = getattr(self, "_saved_spec", None)
        return saved is not None and not self._launching and self.current_spec() != saved

    # ----- spec <-> form ------------------------------------------------------------------

    def _definitions(self) -> list[tuple[str, str]]:
        return [(m.name, m.regex) for m in self._metrics]

    def _fill_tables(self, select: str | None = None) -> None:
        ranges = self.query_one("#ranges-table", DataTable)
        ranges.clear()
        for name, parameter in self._ranges.items():
            range_text, scaling = describe_range(parameter)
            ranges.add_row(Text(name), Text(parameter.kind), Text(range_text), Text(scaling), key=name)
        if select is not None and select in self._ranges:
            ranges.move_cursor(row=ranges.get_row_index(select))
        metrics = self.query_one("#metrics-table", DataTable)
        cursor = metrics.cursor_row
        metrics.clear()
        for i, m in enumerate(self._metrics):
            metrics.add_row(Text(m.name), Text(m.regex), key=str(i))
        if self._metrics:
            metrics.move_cursor(row=min(cursor, len(self._metrics) - 1))

    def _fill_form(self, spec: TuningSpec) -> None:
        """Show ``spec`` in every widget (after loading a file)."""
        self._base = copy.deepcopy(spec)
        self._ranges = dict(self._base.ranges)
        self._metrics = [copy.copy(m) for m in self._base.metric_definitions]
        with self.app.batch_update():
            for f in ALL_FIELDS:
                field = self._input(f)
                if field is not None:  # else filled from the new spec when first shown
                    field.value = _to_text(self._field_value(f))
            for select_id, (_, path, choices) in SELECTS.items():
                value = _get_path(self._base, path)
                self.query_one(f"#{select_id}", Select).value = value if value in choices else choices[0]
            self.query_one(KeyValueEditor).set_items(self._base.estimator.hyperparameters)
            self._fill_tables()
        self._sync()

    def _backend(self) -> str:
        value = self.query_one("#backend", Select).value
        return value if isinstance(value, str) else "local"

    def _build(self) -> tuple[TuningSpec, list[Problem]]:
        """The spec the form describes, and the fields whose text does not parse."""
        spec = copy.deepcopy(self._base)
        parse_problems: list[Problem] = []
        for select_id, (_, path, _choices) in SELECTS.items():
            value = self.query_one(f"#{select_id}", Select).value
            if isinstance(value, str):
                _set_path(spec, path, value)
        for f in ALL_FIELDS:
            if f.id in FEEDS_ONLY_WHEN_SHOWN and not self._shown(f.id):
                continue
            field = self._input(f)
            if field is None:
                continue
            value, problem = _parse(f, field.value)
            if problem is not None:
                parse_problems.append((f.path, problem))
            else:
                _set_path(spec, f.path, value)
        if not self._shown(HYPERBAND_FIELDS[0].id):
            spec.hyperband = HyperbandSettings()
        spec.ranges = copy.deepcopy(self._ranges)
        spec.metric_definitions = [copy.copy(m) for m in self._metrics]
        static = self.query_one(KeyValueEditor)
        spec.estimator.hyperparameters = static.items
        if static.pending is not None:
            key, value = static.pending
            typed = f"{key} = {value}" if key and value else f"{key or value!r} (no {'value' if key else 'name'})"
            parse_problems.append(("estimator.hyperparameters",
                                   f"{typed} is typed but not set: press Set (or enter) to add it, "
                                   "or clear the name and value inputs"))
        return spec, parse_problems

    def current_spec(self) -> TuningSpec:
        """The spec built from the form as it is now (possibly invalid)."""
        return self._build()[0]

    @property
    def problems(self) -> list[Problem]:
        """Every problem on the form as (spec path, message), as shown on screen."""
        return list(self._problems)

    # ----- validation as you type ---------------------------------------------------------

    def _sync(self) -> None:
        backend = self._backend()
        self._set_display("#local-fields", backend == "local")
        self._set_display("#sagemaker-fields", backend == "sagemaker")
        self._set_display("#preview-request", backend == "sagemaker")
        launch_label = f"Launch on {'SageMaker' if backend == 'sagemaker' else 'local'}"
        launch = self.query_one("#launch", Button)
        if str(launch.label) != launch_label:
            launch.label = launch_label
        self._set_display("#hyperband-fields", self._shown(HYPERBAND_FIELDS[0].id))
        definitions = self._definitions()
        if definitions != self._shown_definitions:
            self._shown_definitions = definitions
            self.query_one(RegexTester).set_definitions(definitions)

        spec, parse_problems = self._build()
        unparsed = {path for path, _ in parse_problems}
        problems = parse_problems + [(p, m) for p, m in validate_spec(spec) if p not in unparsed]
        self._problems = problems
        self._show_problems(problems)

        count = self.query_one("#problem-count", Static)
        text = count_text(len(problems))
        if self._shown_messages.get("problem-count") != text:
            self._shown_messages["problem-count"] = text
            count.update(text)
            count.set_class(bool(problems), "-invalid")
            count.set_class(not problems, "-ready")
            self.query_one("#launch", Button).disabled = bool(problems) or self._launching
            self.refresh_bindings()

    def _set_display(self, selector: str, display: bool) -> None:
        widget = self.query_one(selector)
        if display and widget.id in self._lazy_groups:
            widget.mount_all(list(self._field_widgets(self._lazy_groups.pop(widget.id))))
            self._error_labels = None  # its error lines join the list
        if widget.display != display:
            widget.display = display

    def _error_target(self, path: str) -> tuple[str | None, str]:
        """(error label id, or None for #spec-errors; text prefix) for a spec path."""
        for prefix, label_id in GROUP_ERRORS.items():
            if path == prefix:
                return label_id, ""
            if path.startswith(prefix + ".") or path.startswith(prefix + "["):
                return label_id, path[len(prefix):].lstrip(".") + ": "
        for f in ALL_FIELDS:
            if f.path == path and self._shown(f.id):
                return f.id + "-error", ""
        for select_id, (_, select_path, _) in SELECTS.items():
            if select_path == path:
                return select_id + "-error", ""
        return None, ""

    def _show_problems(self, problems: list[Problem]) -> None:
        by_label: dict[str, list[str]] = {}
        loose: list[str] = []
        for path, message in problems:
            label_id, prefix = self._error_target(path)
            if label_id is None:
                loose.append(f"{path}: {message}{self._hidden_hint(path)}")
            else:
                by_label.setdefault(label_id, []).append(prefix + message)
        if self._error_labels is None:
            self._error_labels = list(self.query(".field-error").results(Static))
            for label in self._error_labels:
                # Composed empty and hidden (.field-error): nothing to rewrite until a problem
                # shows (30 updates and layout passes before the first frame otherwise).
                self._shown_messages.setdefault(label.id, "")
        for label in self._error_labels:
            self._set_message(label, "\n".join(by_label.get(label.id or "", [])))
        self._set_message(self.query_one("#spec-errors", Static), "\n".join(loose))

    def _hidden_hint(self, path: str) -> str:
        """Where a hidden field with this path appears, e.g. " (shown when Backend is sagemaker)"."""
        for f in ALL_FIELDS:
            if f.path == path and f.id in SHOWN_WHEN:
                select_id, value = SHOWN_WHEN[f.id]
                return f" (edit it with {SELECTS[select_id][0]} = {value})"
        return ""

    def _set_message(self, label: Static, text: str) -> None:
        # Touch only labels whose text changes: each update re-lays out the form.
        if self._shown_messages.get(label.id) == text:
            return
        self._shown_messages[label.id] = text
        label.update(Content(text))
        label.display = bool(text)
        field_id = (label.id or "").removesuffix("-error")
        try:
            field_label = self.query_one(f"#{field_id}-label", Label)
        except NoMatches:
            return  # an error line of a table, not of a grid field
        # In the grid, the label spans its field's error row, which sits under the control.
        field_label.styles.row_span = 2 if text else 1

    # Each edit checks the whole form again, once per batch of events: mounting the form
    # posts a Changed for every input and select (15 checks of the whole spec before the
    # first frame), and a paste posts several.

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        self._sync_soon()

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        self._sync_soon()

    @on(KeyValueEditor.Changed)
    def _static_changed(self, event: KeyValueEditor.Changed) -> None:
        self._sync_soon()

    def _sync_soon(self) -> None:
        if not self._sync_due:
            self._sync_due = True
            self.call_later(self._sync_now)

    def _sync_now(self) -> None:
        self._sync_due = False
        self._sync()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "launch" and self.is_mounted:
            # ctrl+l on a form with problems still runs, to say what blocks the launch.
            return None if self._launching else True
        return True

    # ----- ranges -------------------------------------------------------------------------

    def _selected_range(self) -> str | None:
        table = self.query_one("#ranges-table", DataTable)
        if table.row_count == 0:
            return None
        row_key, _ = table.coordinate_to_cell_key((table.cursor_row, 0))
        return row_key.value

    def _range_check(self, old_name: str | None) -> Callable[[str, Parameter], list[str]]:
        def check(name: str, parameter: Parameter) -> list[str]:
            spec = self.current_spec()
            ranges = {k: v for k, v in spec.ranges.items() if k != old_name}
            ranges[name] = parameter
            spec.ranges = ranges
            prefix = f"ranges.{name}"
            messages = []
            for path, message in validate_spec(spec):
                if path == prefix or path.startswith(prefix + ".") or path.startswith(prefix + "["):
                    field = path[len(prefix):].lstrip(".")
                    # "min (0.5) must be less than max" names its field already.
                    named = not field or message.split(" ", 1)[0] == field
                    messages.append(message if named else f"{field}: {message}")
            return messages

        return check

    def action_add_range(self) -> None:
        def done(result: tuple[str, Parameter] | None) -> None:
            if result is not None:
                name, parameter = result
                self._ranges[name] = parameter
                self._fill_tables(select=name)
                self._sync()

        self.app.push_screen(
            RangeEditor(taken_names=set(self._ranges), check=self._range_check(None)), done
        )

    def action_edit_range(self) -> None:
        old = self._selected_range()
        if old is None:
            self.notify("No range to edit: add one first (a).", severity="warning")
            return

        def done(result: tuple[str, Parameter] | None) -> None:
            if result is None:
                return
            name, parameter = result
            # Keep the row where it was, even when renamed.
            self._ranges = {
                (name if k == old else k): (parameter if k == old else v) for k, v in self._ranges.items()
            }
            self._fill_tables(select=name)
            self._sync()

        self.app.push_screen(
            RangeEditor(old, self._ranges[old], taken_names=set(self._ranges), check=self._range_check(old)),
            done,
        )

    def action_delete_range(self) -> None:
        name = self._selected_range()
        if name is None:
            return
        table = self.query_one("#ranges-table", DataTable)
        row = table.cursor_row
        del self._ranges[name]
        self._fill_tables()
        if self._ranges:
            table.move_cursor(row=min(row, len(self._ranges) - 1))
        self._sync()
        self.notify(Content(f"Deleted range {name}"), timeout=3)

    @on(DataTable.RowSelected, "#ranges-table")
    def _range_selected(self, event: DataTable.RowSelected) -> None:
        self.action_edit_range()

    @on(Button.Pressed, "#add-range")
    def _add_range_pressed(self) -> None:
        self.action_add_range()

    @on(Button.Pressed, "#edit-range")
    def _edit_range_pressed(self) -> None:
        self.action_edit_range()

    @on(Button.Pressed, "#delete-range")
    def _delete_range_pressed(self) -> None:
        self.action_delete_range()

    # ----- metric definitions -------------------------------------------------------------

    def _selected_metric(self) -> int | None:
        table = self.query_one("#metrics-table", DataTable)
        if table.row_count == 0:
            return None
        return table.cursor_row

    @on(Button.Pressed, "#add-metric")
    def action_add_metric(self) -> None:
        def done(result: tuple[str, str] | None) -> None:
            if result is not None:
                self._metrics.append(MetricDefinition(*result))
                self._fill_tables()
                self.query_one("#metrics-table", DataTable).move_cursor(row=len(self._metrics) - 1)
                self._sync()

        from hpo_tui.app.screens.spec_dialogs import MetricEditor

        self.app.push_screen(MetricEditor(), done)

    @on(Button.Pressed, "#edit-metric")
    @on(DataTable.RowSelected, "#metrics-table")
    def action_edit_metric(self) -> None:
        index = self._selected_metric()
        if index is None:
            return

        def done(result: tuple[str, str] | None) -> None:
            if result is not None:
                self._metrics[index] = MetricDefinition(*result)
                self._fill_tables()
                self._sync()

        m = self._metrics[index]
        from hpo_tui.app.screens.spec_dialogs import MetricEditor

        self.app.push_screen(MetricEditor(m.name, m.regex, title="Edit metric definition"), done)

    @on(Button.Pressed, "#delete-metric")
    def action_delete_metric(self) -> None:
        index = self._selected_metric()
        if index is None:
            return
        del self._metrics[index]
        self._fill_tables()
        self._sync()

    # ----- files, preview, launch ---------------------------------------------------------

    def _default_path(self) -> Path:
        return self._spec_path or getattr(self.app, "spec_path", None) or DEFAULT_SPEC_FILE

    def action_save_spec(self) -> None:
        def save(path: Path) -> Path:
            return save_spec(self.current_spec(), path)

        def done(path: Path | None) -> None:
            if path is None:
                return
            self._spec_path = path
            self._mark_saved()
            note = f" ({count_text(len(self._problems))})" if self._problems else ""
            self.notify(Content(f"Saved {path}{note}"), title="Spec saved", timeout=4)

        from hpo_tui.app.screens.spec_dialogs import SpecFileDialog

        self.app.push_screen(SpecFileDialog("Save spec", self._default_path(), save, verb="Save"), done)

    def action_load_spec(self) -> None:
        def load(path: Path) -> tuple[Path, TuningSpec]:
            # check=False: a file that breaks SageMaker's rules still loads, and the form shows
            # each problem at its field; only unreadable files and unknown keys are refused.
            return path, load_spec(path, check=False)

        def done(result: tuple[Path, TuningSpec] | None) -> None:
            if result is None:
                return
            path, spec = result
            self._spec_path = path
            self._fill_form(spec)
            self._mark_saved()
            self.notify(Content(f"Loaded {path}"), title="Spec loaded", timeout=4)

        from hpo_tui.app.screens.spec_dialogs import SpecFileDialog

        self.app.push_screen(SpecFileDialog("Load spec", self._default_path(), load, verb="Load"), done)

    def action_preview_request(self) -> None:
        spec = self.current_spec()
        error: str | None = None
        text = ""
        added = ""
        try:
            # As launched: what a SageMaker SDK config file adds is in it, and said above it.
            request, added = render_request_as_sent(spec)
            text = json.dumps(request, indent=2, default=str)
        except UserError as exc:
            error = str(exc)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            # The render expects a valid spec; an invalid form can trip it.
            error = f"The request cannot be rendered from this form ({exc}). Fix the problems listed on the form."
        if error is None and self._problems:
            error = f"The form has {count_text(len(self._problems))}; SageMaker would reject this request."
        from hpo_tui.app.screens.spec_dialogs import RequestPreview

        self.app.push_screen(RequestPreview(text, error=error, note=added or None))

    def action_launch(self) -> None:
        if self._launching:
            return  # one launch at a time: a second press must not start a second tuning job
        self._sync()
        if self._problems:
            self.app.bell()
            path, message = self._problems[0]
            self.notify(
                Content(f"Cannot launch: {count_text(len(self._problems))}. First: {path}: {message}"),
                title="Fix the fields marked in red",
                severity="error",
                timeout=6,
            )
            self._focus_problem(path)
            return
        spec = self.current_spec()
        if spec.backend != "sagemaker":
            self._start_launch(spec)  # local runs cost nothing: no question
            return
        from hpo_tui.app.screens.launch_check import LaunchCheckDialog

        def answered(yes: bool | None) -> None:
            if yes:
                self._start_launch(spec)

        self.app.push_screen(LaunchCheckDialog(spec, sagemaker_launch_summary(spec)), answered)

    def _start_launch(self, spec: TuningSpec) -> None:
        self._launching = True
        self.query_one("#launch", Button).disabled = True
        self.refresh_bindings()
        self.app.launch_tuning_job(spec)  # type: ignore[attr-defined]

    def _focus_problem(self, path: str) -> None:
        """Focus the widget where a problem is fixed (and scroll it into view)."""
        label_id, _ = self._error_target(path)
        if label_id is None:
            # A field the current selects hide: focus the select that shows it.
            field = next((f for f in ALL_FIELDS if f.path == path and f.id in SHOWN_WHEN), None)
            if field is not None:
                self.query_one(f"#{SHOWN_WHEN[field.id][0]}").focus()
            return
        if label_id == "static-hps-error":
            self.query_one(KeyValueEditor).focus_pending()
            return
        target = {"ranges-error": "#ranges-table", "metrics-error": "#metrics-table"}.get(
            label_id, "#" + label_id.removesuffix("-error"))
        try:
            self.query_one(target).focus()
        except NoMatches:
            pass

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        if not self._resumed:
            # Pushed just now: every widget was styled as it mounted. Textual would style the
            # whole form again (a third of the first frame's styling); Screen's own handler,
            # called after this one, reads the flag.
            self._resumed = True
            event.refresh_styles = False
        # Back from the dashboard or from a launch error dialog: ready to launch again.
        if self._launching:
            self._launching = False
            self.query_one("#launch", Button).disabled = bool(self._problems)
            self.refresh_bindings()

    @on(Button.Pressed, "#launch")
    def _launch_pressed(self) -> None:
        self.action_launch()

    @on(Button.Pressed, "#save-spec")
    def _save_pressed(self) -> None:
        self.action_save_spec()

    @on(Button.Pressed, "#load-spec")
    def _load_pressed(self) -> None:
        self.action_load_spec()

    @on(Button.Pressed, "#preview-request")
    def _preview_pressed(self) -> None:
        self.action_preview_request()
