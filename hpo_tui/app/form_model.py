"""The configure form without its widgets: which spec attribute each field edits, how its
text parses, where each problem is shown, and the ranges and metric definitions being edited.

Headless (no textual import): the screen reads its inputs into a FormInput and shows what
this model returns; tests/app/test_form_model.py tests it without an app.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

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
    resolved_max_jobs,
    validate,
)

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
ALL_FIELDS = (ESTIMATOR_FIELDS + OBJECTIVE_FIELDS + TUNING_FIELDS + HYPERBAND_FIELDS + COMPLETION_FIELDS
              + LOCAL_FIELDS + SAGEMAKER_FIELDS)

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


def get_path(obj: Any, path: str) -> Any:
    """obj.a.b for the path "a.b"."""
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def set_path(obj: Any, path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        obj = getattr(obj, part)
    setattr(obj, last, value)


def format_number(value: int | float) -> str:
    """Shortest text that reads back as the same number (0.2, not 0.20000000000000001)."""
    return str(value)


def to_text(value: Any) -> str:
    """A spec value as an input shows it (None: empty)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return format_number(value)
    return str(value)


def parse_field(field: FormField, text: str) -> tuple[Any, str | None]:
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


def hidden_hint(path: str) -> str:
    """Where a hidden field with this path is edited, e.g. " (edit it with Backend = sagemaker)"."""
    for f in ALL_FIELDS:
        if f.path == path and f.id in SHOWN_WHEN:
            select_id, value = SHOWN_WHEN[f.id]
            return f" (edit it with {SELECTS[select_id][0]} = {value})"
    return ""


def shown_under(field_id: str, selects: Mapping[str, object]) -> bool:
    """Whether a field or group is shown while the selects have these values."""
    condition = SHOWN_WHEN.get(field_id)
    return condition is None or selects.get(condition[0]) == condition[1]


@dataclass
class FormInput:
    """What the widgets hold: the text of each input there is (a group not filled yet has
    none), the value of each select, and the static hyperparameters with the row typed but
    not set (name, value), if any."""

    texts: Mapping[str, str]
    selects: Mapping[str, object]
    static_items: dict[str, Any] = field(default_factory=dict)
    static_pending: tuple[str, str] | None = None


@dataclass
class ProblemsByPlace:
    """Problems sorted by where they are shown: {error line id: messages}, and the ones no
    shown field owns (the form's own error list)."""

    by_line: dict[str, list[str]]
    loose: list[str]


class FormModel:
    """The spec being edited: the one the form opened with (fields the form does not show
    survive from it), the ranges and the metric definitions; built into a TuningSpec from
    the widgets' FormInput."""

    def __init__(self, spec: TuningSpec | None = None, *, backend_name: str | None = None) -> None:
        spec = copy.deepcopy(spec) if spec is not None else TuningSpec()
        if backend_name is not None:
            spec.backend = backend_name
        self.load(spec, copied=True)

    def load(self, spec: TuningSpec, *, copied: bool = False) -> None:
        """Start again from spec (a file loaded)."""
        self.base = spec if copied else copy.deepcopy(spec)
        self.ranges: dict[str, Parameter] = dict(self.base.ranges)
        self.metrics: list[MetricDefinition] = [copy.copy(m) for m in self.base.metric_definitions]

    # --- what the widgets show at first ----------------------------------------------

    def start_value(self, f: FormField) -> str:
        """An input's text from the spec (blank for a channel input of the other backend)."""
        if f.id in FEEDS_ONLY_WHEN_SHOWN and f.path.startswith("channels."):
            select_id, wanted = SHOWN_WHEN[f.id]
            if get_path(self.base, SELECTS[select_id][1]) != wanted:
                return ""
        return to_text(get_path(self.base, f.path))

    def start_choice(self, select_id: str) -> str:
        _, path, choices = SELECTS[select_id]
        value = get_path(self.base, path)
        return value if value in choices else choices[0]

    def shown_at_start(self, field_id: str) -> bool:
        return shown_under(field_id, {s: self.start_choice(s) for s in SELECTS})

    def definitions(self) -> list[tuple[str, str]]:
        """The metric definitions as (name, regex)."""
        return [(m.name, m.regex) for m in self.metrics]

    # --- ranges and metric definitions ------------------------------------------------

    def put_range(self, name: str, parameter: Parameter, *, replacing: str | None = None) -> None:
        """Add a range, or replace `replacing` (renamed or not) where it was in the order."""
        if replacing is None or replacing not in self.ranges:
            self.ranges[name] = parameter
            return
        self.ranges = {(name if k == replacing else k): (parameter if k == replacing else v)
                       for k, v in self.ranges.items()}

    def delete_range(self, name: str) -> None:
        del self.ranges[name]

    def put_metric(self, name: str, regex: str, *, index: int | None = None) -> None:
        """Add a metric definition, or replace the one at index."""
        if index is None:
            self.metrics.append(MetricDefinition(name, regex))
        else:
            self.metrics[index] = MetricDefinition(name, regex)

    def delete_metric(self, index: int) -> None:
        del self.metrics[index]

    # --- spec <-> form ----------------------------------------------------------------

    def build(self, form: FormInput) -> tuple[TuningSpec, list[Problem]]:
        """The spec the form describes, and the fields whose text does not parse."""
        spec = copy.deepcopy(self.base)
        parse_problems: list[Problem] = []
        for select_id, (_, path, _choices) in SELECTS.items():
            value = form.selects.get(select_id)
            if isinstance(value, str):
                set_path(spec, path, value)
        for f in ALL_FIELDS:
            if f.id in FEEDS_ONLY_WHEN_SHOWN and not shown_under(f.id, form.selects):
                continue
            text = form.texts.get(f.id)
            if text is None:
                continue
            value, problem = parse_field(f, text)
            if problem is not None:
                parse_problems.append((f.path, problem))
            else:
                set_path(spec, f.path, value)
        if not shown_under(HYPERBAND_FIELDS[0].id, form.selects):
            spec.hyperband = HyperbandSettings()
        spec.ranges = copy.deepcopy(self.ranges)
        spec.metric_definitions = [copy.copy(m) for m in self.metrics]
        spec.estimator.hyperparameters = dict(form.static_items)
        if form.static_pending is not None:
            key, value = form.static_pending
            typed = f"{key} = {value}" if key and value else f"{key or value!r} (no {'value' if key else 'name'})"
            parse_problems.append(("estimator.hyperparameters",
                                   f"{typed} is typed but not set: press Set (or enter) to add it, "
                                   "or clear the name and value inputs"))
        return spec, parse_problems

    def check(self, form: FormInput) -> list[Problem]:
        """Every problem of the form: texts that do not parse, then the spec's own rules
        (a field whose text does not parse is not also blamed for its old value)."""
        spec, parse_problems = self.build(form)
        unparsed = {path for path, _ in parse_problems}
        return parse_problems + [(p, m) for p, m in validate_spec(spec) if p not in unparsed]

    def range_check(self, form: FormInput, old_name: str | None) -> Callable[[str, Parameter], list[str]]:
        """For the range editor: the spec's problems with one range (named or renamed) as typed."""
        def check(name: str, parameter: Parameter) -> list[str]:
            spec = self.build(form)[0]
            ranges = {k: v for k, v in spec.ranges.items() if k != old_name}
            ranges[name] = parameter
            spec.ranges = ranges
            prefix = f"ranges.{name}"
            messages = []
            for path, message in validate_spec(spec):
                if path == prefix or path.startswith(prefix + ".") or path.startswith(prefix + "["):
                    field_name = path[len(prefix):].lstrip(".")
                    # "min (0.5) must be less than max" names its field already.
                    named = not field_name or message.split(" ", 1)[0] == field_name
                    messages.append(message if named else f"{field_name}: {message}")
            return messages

        return check


def error_line(path: str, selects: Mapping[str, object]) -> tuple[str | None, str]:
    """(id of the error line that shows a problem at this spec path, or None for the form's
    own list; text put before the message)."""
    for prefix, line_id in GROUP_ERRORS.items():
        if path == prefix:
            return line_id, ""
        if path.startswith(prefix + ".") or path.startswith(prefix + "["):
            return line_id, path[len(prefix):].lstrip(".") + ": "
    for f in ALL_FIELDS:
        if f.path == path and shown_under(f.id, selects):
            return f.id + "-error", ""
    for select_id, (_, select_path, _) in SELECTS.items():
        if select_path == path:
            return select_id + "-error", ""
    return None, ""


def place_problems(problems: list[Problem], selects: Mapping[str, object]) -> ProblemsByPlace:
    """Each problem at the error line of its field; one no shown field owns says where to edit it."""
    placed = ProblemsByPlace({}, [])
    for path, message in problems:
        line_id, prefix = error_line(path, selects)
        if line_id is None:
            placed.loose.append(f"{path}: {message}{hidden_hint(path)}")
        else:
            placed.by_line.setdefault(line_id, []).append(prefix + message)
    return placed


def focus_target(path: str, selects: Mapping[str, object]) -> str | None:
    """The id of the widget where a problem at this path is fixed: its field, its table, the
    static hyperparameters ("static-hps"), or the select that shows a hidden field."""
    line_id, _ = error_line(path, selects)
    if line_id is None:
        hidden = next((f for f in ALL_FIELDS if f.path == path and f.id in SHOWN_WHEN), None)
        return SHOWN_WHEN[hidden.id][0] if hidden is not None else None
    return {"ranges-error": "ranges-table", "metrics-error": "metrics-table",
            "static-hps-error": "static-hps"}.get(line_id, line_id.removesuffix("-error"))
