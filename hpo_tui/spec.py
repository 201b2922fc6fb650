"""TuningSpec: one validated description of a tuning job, in SageMaker's terms.

Headless: imports neither textual, mxnet nor sagemaker.  Validation, TOML files
and the CreateHyperParameterTuningJob rendering live here too.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Literal, Union

from hpo_tui.errors import UserError

SCALINGS = ("Auto", "Linear", "Logarithmic", "ReverseLogarithmic")
STRATEGIES = ("Bayesian", "Random", "Hyperband", "Grid")
EARLY_STOPPING = ("Off", "Auto")
OBJECTIVE_TYPES = ("Maximize", "Minimize")
BACKENDS = ("local", "sagemaker")

DEFAULT_OBJECTIVE = "Validation-accuracy"
DEFAULT_REGEX = r"Validation-accuracy=([0-9\.]+)"


@dataclass
class IntegerParameter:
    min: int
    max: int
    scaling: str = "Auto"
    kind: Literal["integer"] = field(default="integer", init=False)


@dataclass
class ContinuousParameter:
    min: float
    max: float
    scaling: str = "Auto"
    kind: Literal["continuous"] = field(default="continuous", init=False)


@dataclass
class CategoricalParameter:
    values: list[str]
    kind: Literal["categorical"] = field(default="categorical", init=False)


Parameter = Union[IntegerParameter, ContinuousParameter, CategoricalParameter]


@dataclass
class MetricDefinition:
    name: str
    regex: str


@dataclass
class Estimator:
    entry_point: str = "mnist.py"
    source_dir: str = "training"
    framework_version: str = "1.9.0"
    py_version: str = "py38"
    instance_type: str = "ml.m5.xlarge"
    instance_count: int = 1
    # Static hyperparameters: passed to every training job unchanged, as strings on AWS.
    hyperparameters: dict[str, str | int | float] = field(default_factory=lambda: {"batch_size": 100})
    base_job_name: str = "mnist-hpo"


@dataclass
class Objective:
    name: str = DEFAULT_OBJECTIVE
    type: str = "Maximize"


@dataclass
class CompletionCriteria:
    # Stop the tuning job once a training job reaches this objective value.
    target_objective_value: float | None = None
    # Stop after this many consecutive jobs that did not improve the best by >= 1%.
    max_jobs_not_improving: int | None = None


@dataclass
class Channels:
    # A local directory or an s3:// URI.  None = the default for the backend
    # (the prepared MNIST channels locally, SageMaker's public sample data on AWS).
    train: str | None = None
    test: str | None = None


@dataclass
class HyperbandSettings:
    # HyperbandStrategyConfig, in epochs: the fewest a job runs before it can be stopped,
    # and the most any job runs.  None = SageMaker's defaults (1, and the epoch count).
    min_resource: int | None = None
    max_resource: int | None = None


@dataclass
class SageMakerSettings:
    role_arn: str | None = None
    region: str | None = None
    profile: str | None = None


def default_ranges() -> dict[str, Parameter]:
    return {
        "optimizer": CategoricalParameter(["sgd", "Adam"]),
        "learning_rate": ContinuousParameter(0.01, 0.2),
        "num_epoch": IntegerParameter(10, 50),
    }


def default_metric_definitions() -> list[MetricDefinition]:
    return [MetricDefinition(DEFAULT_OBJECTIVE, DEFAULT_REGEX)]


@dataclass
class TuningSpec:
    estimator: Estimator = field(default_factory=Estimator)
    ranges: dict[str, Parameter] = field(default_factory=default_ranges)
    objective: Objective = field(default_factory=Objective)
    metric_definitions: list[MetricDefinition] = field(default_factory=default_metric_definitions)
    strategy: str = "Bayesian"
    early_stopping: str = "Off"
    max_jobs: int | None = 9  # None: computed for Grid (number of combinations)
    max_parallel_jobs: int = 3
    max_runtime_seconds: int | None = None
    random_seed: int | None = None
    completion: CompletionCriteria = field(default_factory=CompletionCriteria)
    channels: Channels = field(default_factory=Channels)
    backend: str = "local"
    sagemaker: SageMakerSettings = field(default_factory=SageMakerSettings)
    hyperband: HyperbandSettings = field(default_factory=HyperbandSettings)
    # Optional explicit tuning job name; otherwise generated from base_job_name.
    tuning_job_name: str | None = None


# ---------------------------------------------------------------------------------------
# Issues and errors


@dataclass(frozen=True)
class SpecIssue:
    """One problem in a spec: the field path (``ranges.learning_rate.min``) and what to do."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class SpecError(UserError):
    """A spec that cannot be used; ``.issues`` lists every problem, str() one per line."""

    def __init__(self, issues: list[SpecIssue] | SpecIssue) -> None:
        self.issues: list[SpecIssue] = [issues] if isinstance(issues, SpecIssue) else list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


# ---------------------------------------------------------------------------------------
# SageMaker's limits and patterns (CreateHyperParameterTuningJob)

NAME_PATTERN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}")
JOB_NAME_MAX = 32
ROLE_ARN_PATTERN = re.compile(r"arn:aws[a-z\-]*:iam::(\d{12}):role/?[a-zA-Z_0-9+=,.@\-_/]+")
ROLE_ARN_ENV = "SAGEMAKER_ROLE_ARN"
REGION_PATTERN = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
# Bucket names: 3-63 lowercase letters, digits, dots and hyphens, starting and ending
# with a letter or digit.
S3_URI_PATTERN = re.compile(r"s3://([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])(/[^\s]*)?")
INSTANCE_TYPE_PATTERN = re.compile(r"ml\.[a-z0-9]+(-[a-z0-9]+)*\.[a-z0-9]+")
# Hyperparameter names become `--name value` on the training script's command line.
HYPERPARAMETER_NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]*")
RESERVED_PREFIX = "sagemaker_"  # the SDK's own static hyperparameters use this prefix
# What the SDK adds to a framework estimator's static hyperparameters (render_request too).
SDK_STATIC_HYPERPARAMETERS = (
    "sagemaker_submit_directory", "sagemaker_program", "sagemaker_container_log_level", "sagemaker_job_name",
    "sagemaker_region", "sagemaker_estimator_class_name", "sagemaker_estimator_module",
)

MAX_RANGES_PER_TYPE = 30
MAX_CATEGORICAL_VALUES = 30
MAX_HYPERPARAMETERS = 100
MAX_METRIC_DEFINITIONS = 40
MAX_REGEX_LENGTH = 500
MAX_METRIC_NAME_LENGTH = 255
MAX_PARAMETER_STRING = 256  # ParameterKey / ParameterValue
MAX_STATIC_VALUE_LENGTH = 2500
MIN_RUNTIME_SECONDS = 120
MAX_RUNTIME_SECONDS = 15_768_000
MAX_RANDOM_SEED = 2**31 - 1
MIN_JOBS_NOT_IMPROVING = 3
SUPPORTED_FRAMEWORK_VERSION = "1.9.0"
SUPPORTED_PY_VERSION = "py38"

PLACEHOLDER_ROLE_ARN = "arn:aws:iam::000000000000:role/set-sagemaker-role-arn"
DEFAULT_RENDER_REGION = "us-west-2"

# MXNet 1.9.0 training images: the account per region, from the SageMaker SDK's
# image_uris/mxnet.json (every region not listed uses 763104351884).
_MXNET_IMAGE_ACCOUNT_DEFAULT = "763104351884"
_MXNET_IMAGE_ACCOUNTS = {
    "af-south-1": "626614931356",
    "ap-east-1": "871362719292",
    "ap-northeast-3": "364406365360",
    "ap-south-2": "772153158452",
    "ap-southeast-3": "907027046896",
    "ap-southeast-4": "457447274322",
    "ca-west-1": "204538143572",
    "cn-north-1": "727897471807",
    "cn-northwest-1": "727897471807",
    "eu-central-2": "380420809688",
    "eu-south-1": "692866216735",
    "eu-south-2": "503227376785",
    "il-central-1": "780543022126",
    "me-central-1": "914824155844",
    "me-south-1": "217643126080",
    "us-gov-east-1": "446045086412",
    "us-gov-west-1": "442386744353",
    "us-iso-east-1": "886529160074",
    "us-isob-east-1": "094389454867",
}


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _show(x: Any) -> str:
    return repr(x) if not isinstance(x, str) else json.dumps(x)


def _choices(options: tuple[str, ...]) -> str:
    return ", ".join(f'"{o}"' for o in options)


# ---------------------------------------------------------------------------------------
# Derived values


def grid_size(spec: TuningSpec) -> int | None:
    """Number of Grid combinations, or None when a range is not categorical."""
    ranges = spec.ranges if isinstance(spec.ranges, dict) else {}
    total = 1
    for p in ranges.values():
        if not isinstance(p, CategoricalParameter) or not isinstance(p.values, list):
            return None
        total *= len(p.values)
    return total


def _as_epochs(value: Any) -> int | None:
    """A hyperparameter value as a whole number of epochs (>= 1), or None."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number) or number < 1:
        return None
    return int(number)


def max_epochs(spec: TuningSpec) -> int | None:
    """The largest num_epoch any training job of this spec can run, when known."""
    p = spec.ranges.get("num_epoch")
    if isinstance(p, (IntegerParameter, ContinuousParameter)):
        return _as_epochs(math.floor(p.max))
    if isinstance(p, CategoricalParameter):
        counts = [c for c in (_as_epochs(v) for v in p.values) if c is not None]
        return max(counts) if counts else None
    return _as_epochs(spec.estimator.hyperparameters.get("num_epoch"))


def hyperband_resources(spec: TuningSpec) -> tuple[int, int] | None:
    """Hyperband's (MinResource, MaxResource) in epochs: the [hyperband] settings, else 1 and
    the most epochs a job can run. Always sent explicitly: SageMaker infers MaxResource only
    from static hyperparameters named epochs/num_epochs/..., never from num_epoch."""
    low = spec.hyperband.min_resource or 1
    high = spec.hyperband.max_resource or max_epochs(spec)
    if high is None:
        return None
    return low, max(low, high)


def resolved_max_jobs(spec: TuningSpec) -> int:
    """MaxNumberOfTrainingJobs: the number of combinations for Grid when not given.

    Without max_jobs the SDK starts 1 training job for the other strategies; validate()
    asks for an explicit value there instead.
    """
    if spec.max_jobs is None:
        if spec.strategy == "Grid":
            return grid_size(spec) or 0
        return 1
    return spec.max_jobs


def grid_combinations(spec: TuningSpec) -> list[dict[str, str]]:
    """Every combination the Grid strategy runs, in range order, values as strings."""
    import itertools

    axes: list[list[str]] = []
    names: list[str] = []
    for name, p in spec.ranges.items():
        if not isinstance(p, CategoricalParameter):
            raise SpecError(SpecIssue(
                f"ranges.{name}",
                f"the Grid strategy takes categorical ranges only; list the values of {name} "
                "to try as a categorical range, or pick another strategy",
            ))
        names.append(name)
        axes.append([str(v) for v in p.values])
    return [dict(zip(names, combo)) for combo in itertools.product(*axes)]


def make_tuning_job_name(spec: TuningSpec, now: datetime | None = None) -> str:
    """The spec's tuning_job_name, or base_job_name + a timestamp and a short random tag.

    Like the SDK's name_from_base(short=True), the base is trimmed so the whole name
    fits SageMaker's 32 characters; seconds and a random tag keep names unique when
    jobs are launched within the same minute.
    """
    if spec.tuning_job_name:
        return spec.tuning_job_name
    stamp = (now or datetime.now()).strftime("%y%m%d-%H%M%S")
    suffix = f"{stamp}-{os.urandom(2).hex()[:3]}"
    base = spec.estimator.base_job_name if isinstance(spec.estimator.base_job_name, str) else ""
    base = re.sub(r"[^a-zA-Z0-9-]", "-", base).strip("-") or "hpo"
    base = base[: JOB_NAME_MAX - len(suffix) - 1].rstrip("-") or "hpo"
    return f"{base}-{suffix}"


def role_arn_for(spec: TuningSpec) -> str | None:
    """The role for SageMaker: the spec's, else the SAGEMAKER_ROLE_ARN environment variable."""
    return spec.sagemaker.role_arn or os.environ.get(ROLE_ARN_ENV) or None


# ---------------------------------------------------------------------------------------
# Validation


def validate(spec: TuningSpec, *, base_dir: str | os.PathLike[str] | None = None) -> list[SpecIssue]:
    """Every problem in the spec (empty when valid); each names its field and the fix.

    Covers SageMaker's own rules for CreateHyperParameterTuningJob, so a spec that passes
    is accepted by AWS and by the local engine alike.  Never raises on odd input.
    A relative local channel directory may be relative to base_dir (the spec file's
    folder) or to the current directory.
    """
    issues: list[SpecIssue] = []

    def add(path: str, message: str) -> None:
        issues.append(SpecIssue(path, message))

    if not isinstance(spec, TuningSpec):
        return [SpecIssue("spec", f"expected a TuningSpec, got {type(spec).__name__}")]

    tuned: dict[str, Any] = spec.ranges if isinstance(spec.ranges, dict) else {}
    static: dict[str, Any] = {}
    if isinstance(spec.estimator, Estimator):
        static = spec.estimator.hyperparameters if isinstance(spec.estimator.hyperparameters, dict) else {}
        _validate_estimator(spec.estimator, tuned, add)
    else:
        add("estimator", "must be an estimator table (entry_point, instance_type, hyperparameters ...)")
    if not isinstance(spec.ranges, dict):
        add("ranges", "must be a table of hyperparameter ranges, one sub-table per hyperparameter")
    else:
        _validate_ranges(spec, add)
    if len(static) + len(SDK_STATIC_HYPERPARAMETERS) > MAX_HYPERPARAMETERS:
        add("estimator.hyperparameters", f"{len(static)} static hyperparameters plus the SDK's "
            f"{len(SDK_STATIC_HYPERPARAMETERS)} is more than SageMaker's {MAX_HYPERPARAMETERS}; keep at most "
            f"{MAX_HYPERPARAMETERS - len(SDK_STATIC_HYPERPARAMETERS)}")
    if len(tuned) + len(static) > MAX_HYPERPARAMETERS:
        add("ranges", f"{len(tuned)} tuned + {len(static)} static hyperparameters is more than "
            f"SageMaker's {MAX_HYPERPARAMETERS}; remove some")
    metric_names = _validate_metrics(spec, add)
    _validate_objective(spec, metric_names, add)
    _validate_strategy_and_limits(spec, add)
    _validate_channels(spec, add, base_dir)
    _validate_backend(spec, add)
    if spec.tuning_job_name is not None:
        _check_job_name("tuning_job_name", spec.tuning_job_name, add)
    return issues


def _check_job_name(path: str, value: Any, add: Callable[[str, str], None]) -> None:
    if not isinstance(value, str) or not value:
        add(path, f"must be a non-empty string, got {_show(value)}")
    elif len(value) > JOB_NAME_MAX:
        add(path, f"{_show(value)} is {len(value)} characters; SageMaker allows at most {JOB_NAME_MAX}")
    elif not NAME_PATTERN.fullmatch(value):
        add(path, f"{_show(value)} is not a valid SageMaker name; use letters, digits and hyphens, "
            "starting and ending with a letter or digit (e.g. \"mnist-hpo\")")


def _check_hyperparameter_name(path: str, name: Any, add: Callable[[str, str], None]) -> None:
    if not isinstance(name, str) or not HYPERPARAMETER_NAME_PATTERN.fullmatch(name):
        add(path, f"hyperparameter name {_show(name)} is not usable as a command-line option; "
            "start with a letter and use letters, digits, '_', '-' or '.'")
    elif len(name) > MAX_PARAMETER_STRING:
        add(path, f"hyperparameter name is {len(name)} characters; at most {MAX_PARAMETER_STRING}")
    elif name.startswith(RESERVED_PREFIX):
        add(path, f"names starting with {RESERVED_PREFIX!r} are reserved for the SageMaker SDK; rename it")


def _validate_estimator(est: Estimator, tuned: dict[str, Any], add: Callable[[str, str], None]) -> None:
    ep = est.entry_point
    if not isinstance(ep, str) or not ep.endswith(".py") or ep.startswith("/") or ".." in ep.split("/"):
        add("estimator.entry_point", f"{_show(ep)} must be a Python file inside source_dir, e.g. \"mnist.py\"")
    if not isinstance(est.source_dir, str) or not est.source_dir.strip():
        add("estimator.source_dir", "must name the directory holding the entry point (e.g. \"training\") "
            "or an s3:// URI of a sourcedir.tar.gz")
    if est.framework_version != SUPPORTED_FRAMEWORK_VERSION:
        add("estimator.framework_version", f"{_show(est.framework_version)} is not supported; the MNIST "
            f"script and the local engine use MXNet {SUPPORTED_FRAMEWORK_VERSION}: set framework_version = "
            f"\"{SUPPORTED_FRAMEWORK_VERSION}\"")
    if est.py_version != SUPPORTED_PY_VERSION:
        add("estimator.py_version", f"{_show(est.py_version)} is not supported; SageMaker's MXNet "
            f"{SUPPORTED_FRAMEWORK_VERSION} images run Python 3.8: set py_version = \"{SUPPORTED_PY_VERSION}\"")
    if not isinstance(est.instance_type, str) or not INSTANCE_TYPE_PATTERN.fullmatch(est.instance_type):
        add("estimator.instance_type", f"{_show(est.instance_type)} is not a SageMaker training instance "
            "type; use one like \"ml.m5.xlarge\"")
    if not _is_int(est.instance_count) or est.instance_count < 1:
        add("estimator.instance_count", f"must be a whole number >= 1, got {_show(est.instance_count)}")
    if not isinstance(est.base_job_name, str):
        add("estimator.base_job_name", f"must be a string, got {_show(est.base_job_name)}")
    else:
        _check_job_name("estimator.base_job_name", est.base_job_name, add)
    hps = est.hyperparameters
    if not isinstance(hps, dict):
        add("estimator.hyperparameters", "must be a table of name = value pairs, e.g. batch_size = 100")
        return
    for name, value in hps.items():
        path = f"estimator.hyperparameters.{name}"
        _check_hyperparameter_name(path, name, add)
        if name in tuned:
            add(path, f"{name} is both static and tuned (ranges.{name}); remove one of the two")
        if not _is_number(value) and not isinstance(value, str):
            add(path, f"must be a string or a number, got {_show(value)}")
        elif isinstance(value, float) and not math.isfinite(value):
            add(path, f"must be a finite number, got {value!r}")
        elif len(json.dumps(value)) > MAX_STATIC_VALUE_LENGTH:
            add(path, f"value is longer than SageMaker's {MAX_STATIC_VALUE_LENGTH} characters; shorten it")


def _validate_ranges(spec: TuningSpec, add: Callable[[str, str], None]) -> None:
    ranges = spec.ranges
    if not ranges:
        add("ranges", "add at least one hyperparameter range to tune, e.g. "
            "[ranges.learning_rate] type = \"continuous\", min = 0.01, max = 0.2")
        return
    counts = {"integer": 0, "continuous": 0, "categorical": 0}
    for name, p in ranges.items():
        path = f"ranges.{name}"
        _check_hyperparameter_name(path, name, add)
        if isinstance(p, CategoricalParameter):
            counts["categorical"] += 1
            _validate_categorical(path, p, add)
        elif isinstance(p, (IntegerParameter, ContinuousParameter)):
            counts[p.kind] += 1
            _validate_numeric(path, p, add)
        else:
            add(path, "must be an integer, continuous or categorical range "
                "(type = \"integer\", \"continuous\" or \"categorical\")")
    for kind, n in counts.items():
        if n > MAX_RANGES_PER_TYPE:
            add("ranges", f"{n} {kind} ranges; SageMaker allows at most {MAX_RANGES_PER_TYPE} of each type")


def _validate_categorical(path: str, p: CategoricalParameter, add: Callable[[str, str], None]) -> None:
    values = p.values
    if not isinstance(values, list):
        add(f"{path}.values", f"must be a list of strings, e.g. [\"sgd\", \"Adam\"], got {_show(values)}")
        return
    if not 1 <= len(values) <= MAX_CATEGORICAL_VALUES:
        add(f"{path}.values", f"has {len(values)} values; give between 1 and {MAX_CATEGORICAL_VALUES}")
    # The SDK sends a framework's categorical values JSON-encoded, quotes included.
    bad = [v for v in values if not isinstance(v, str) or not v or len(json.dumps(v)) > MAX_PARAMETER_STRING]
    if bad:
        add(f"{path}.values", f"{_show(bad[0])[:40]} is not a usable value; each value must be a non-empty "
            f"string of at most {MAX_PARAMETER_STRING - 2} characters")
    seen: set[Any] = set()
    dups = [v for v in values if isinstance(v, str) and (v in seen or seen.add(v))]
    if dups:
        add(f"{path}.values", f"{_show(dups[0])} is listed more than once; values must be distinct")


def _validate_numeric(path: str, p: IntegerParameter | ContinuousParameter, add: Callable[[str, str], None]) -> None:
    integer = isinstance(p, IntegerParameter)
    bounds_ok = True
    for bound in ("min", "max"):
        v = getattr(p, bound)
        if integer and not _is_int(v):
            add(f"{path}.{bound}", f"an integer range needs whole-number bounds, got {_show(v)}; "
                "use a whole number or make the range continuous")
            bounds_ok = False
        elif not integer and not _is_number(v):
            add(f"{path}.{bound}", f"must be a number, got {_show(v)}")
            bounds_ok = False
        elif not math.isfinite(v):
            add(f"{path}.{bound}", f"must be a finite number, got {v!r}")
            bounds_ok = False
        elif len(str(v)) > MAX_PARAMETER_STRING:
            add(f"{path}.{bound}", f"is too long as a string (over {MAX_PARAMETER_STRING} characters)")
            bounds_ok = False
    if bounds_ok and not p.min < p.max:
        add(f"{path}.min", f"min ({p.min!r}) must be less than max ({p.max!r})")
    scaling = p.scaling
    if scaling not in SCALINGS:
        add(f"{path}.scaling", f"{_show(scaling)} is not a scaling type; use one of {_choices(SCALINGS)}")
        return
    if scaling == "Logarithmic" and bounds_ok and p.min <= 0:
        add(f"{path}.min", f"Logarithmic scaling needs min > 0 (got {p.min!r}); raise min or use "
            "scaling = \"Linear\"")
    if scaling == "ReverseLogarithmic":
        if integer:
            add(f"{path}.scaling", "ReverseLogarithmic scaling works for continuous ranges only; use "
                "\"Linear\" or \"Logarithmic\", or make the range continuous")
        elif bounds_ok and not (0 <= p.min < p.max < 1):
            add(f"{path}.min" if p.min < 0 else f"{path}.max",
                f"ReverseLogarithmic scaling needs 0 <= min < max < 1 (got {p.min!r} .. {p.max!r}); "
                "change the bounds or use scaling = \"Linear\"")


def _validate_metrics(spec: TuningSpec, add: Callable[[str, str], None]) -> set[str]:
    names: set[str] = set()
    defs = spec.metric_definitions
    if not isinstance(defs, list):
        add("metric_definitions", "must be a list of {name, regex} tables ([[metric_definitions]])")
        return names
    if not defs:
        add("metric_definitions", "add at least one metric definition for the objective, e.g. "
            f"name = \"{DEFAULT_OBJECTIVE}\", regex = '{DEFAULT_REGEX}'")
    if len(defs) > MAX_METRIC_DEFINITIONS:
        add("metric_definitions", f"{len(defs)} definitions; SageMaker allows at most {MAX_METRIC_DEFINITIONS}")
    for i, md in enumerate(defs):
        path = f"metric_definitions[{i}]"
        if not isinstance(md, MetricDefinition):
            add(path, "must be a table with name and regex")
            continue
        if not isinstance(md.name, str) or not md.name.strip():
            add(f"{path}.name", f"must be a non-empty string, got {_show(md.name)}")
        elif len(md.name) > MAX_METRIC_NAME_LENGTH:
            add(f"{path}.name", f"is {len(md.name)} characters; at most {MAX_METRIC_NAME_LENGTH}")
        elif md.name in names:
            add(f"{path}.name", f"{_show(md.name)} is defined more than once; metric names must be unique")
        else:
            names.add(md.name)
        regex = md.regex
        if not isinstance(regex, str) or not regex:
            add(f"{path}.regex", f"must be a non-empty regular expression, got {_show(regex)}")
            continue
        if len(regex) > MAX_REGEX_LENGTH:
            add(f"{path}.regex", f"is {len(regex)} characters; SageMaker allows at most {MAX_REGEX_LENGTH}")
        try:
            groups = re.compile(regex).groups
        except re.error as err:
            add(f"{path}.regex", f"does not compile ({err}); fix the regular expression")
            continue
        if groups != 1:
            add(f"{path}.regex", f"has {groups} capture groups; it needs exactly one, around the number, "
                "e.g. 'Validation-accuracy=([0-9\\.]+)' (use (?:...) for other groups)")
    return names


def _validate_objective(spec: TuningSpec, metric_names: set[str], add: Callable[[str, str], None]) -> None:
    obj = spec.objective
    if not isinstance(obj, Objective):
        add("objective", "must be a table with name and type")
        return
    if obj.type not in OBJECTIVE_TYPES:
        add("objective.type", f"{_show(obj.type)} is not an objective type; use {_choices(OBJECTIVE_TYPES)}")
    if not isinstance(obj.name, str) or not obj.name.strip():
        add("objective.name", f"must name a metric, got {_show(obj.name)}")
    elif isinstance(spec.metric_definitions, list) and obj.name not in metric_names:
        known = ", ".join(sorted(metric_names)) or "none"
        add("objective.name", f"{_show(obj.name)} is not among the metric definitions ({known}); "
            "add a [[metric_definitions]] entry with that name or pick one of them")


def _validate_strategy_and_limits(spec: TuningSpec, add: Callable[[str, str], None]) -> None:
    if spec.strategy not in STRATEGIES:
        add("strategy", f"{_show(spec.strategy)} is not a strategy; use one of {_choices(STRATEGIES)}")
    if spec.early_stopping not in EARLY_STOPPING:
        add("early_stopping", f"{_show(spec.early_stopping)} is not valid; use {_choices(EARLY_STOPPING)}")
    elif spec.strategy == "Hyperband" and spec.early_stopping != "Off":
        add("early_stopping", "Hyperband stops jobs itself; set early_stopping = \"Off\"")

    grid = spec.strategy == "Grid"
    combos = grid_size(spec) if grid else None
    if grid and isinstance(spec.ranges, dict):
        for name, p in spec.ranges.items():
            if not isinstance(p, CategoricalParameter):
                add(f"ranges.{name}", f"the Grid strategy takes categorical ranges only; list the values "
                    f"of {name} to try (type = \"categorical\", values = [...]) or pick another strategy")

    max_jobs = spec.max_jobs
    if max_jobs is None:
        if not grid:
            add("max_jobs", f"set the number of training jobs (e.g. max_jobs = 9); only the Grid "
                "strategy computes it")
    elif not _is_int(max_jobs) or max_jobs < 1:
        add("max_jobs", f"must be a whole number >= 1, got {_show(max_jobs)}")
    elif combos is not None and max_jobs != combos:
        add("max_jobs", f"the Grid strategy runs all {combos} combinations, not {max_jobs}; set "
            f"max_jobs = {combos} or remove max_jobs")

    mpj = spec.max_parallel_jobs
    if not _is_int(mpj) or mpj < 1:
        add("max_parallel_jobs", f"must be a whole number >= 1, got {_show(mpj)}")
    else:
        limit = combos if (grid and max_jobs is None) else max_jobs
        if _is_int(limit) and limit >= 1 and mpj > limit:
            add("max_parallel_jobs", f"{mpj} parallel jobs is more than the {limit} jobs in total; "
                f"set max_parallel_jobs <= {limit}")

    rt = spec.max_runtime_seconds
    if rt is not None and (not _is_int(rt) or not MIN_RUNTIME_SECONDS <= rt <= MAX_RUNTIME_SECONDS):
        add("max_runtime_seconds", f"must be a whole number of seconds between {MIN_RUNTIME_SECONDS} and "
            f"{MAX_RUNTIME_SECONDS:,} (182.5 days), got {_show(rt)}; or remove it for no limit")
    seed = spec.random_seed
    if seed is not None and (not _is_int(seed) or not 0 <= seed <= MAX_RANDOM_SEED):
        add("random_seed", f"must be a whole number between 0 and {MAX_RANDOM_SEED}, got {_show(seed)}")

    comp = spec.completion
    if not isinstance(comp, CompletionCriteria):
        add("completion", "must be a table (target_objective_value, max_jobs_not_improving)")
    else:
        t = comp.target_objective_value
        if t is not None and (not _is_number(t) or not math.isfinite(t)):
            add("completion.target_objective_value", f"must be a finite number, got {_show(t)}")
        n = comp.max_jobs_not_improving
        if n is not None and (not _is_int(n) or n < MIN_JOBS_NOT_IMPROVING):
            add("completion.max_jobs_not_improving", f"must be a whole number >= {MIN_JOBS_NOT_IMPROVING} "
                f"(SageMaker's minimum), got {_show(n)}")

    hb = spec.hyperband
    if not isinstance(hb, HyperbandSettings):
        add("hyperband", "must be a table (min_resource, max_resource)")
        return
    ok = True
    for key in ("min_resource", "max_resource"):
        v = getattr(hb, key)
        if v is None:
            continue
        if not _is_int(v) or v < 1:
            add(f"hyperband.{key}", f"must be a whole number of epochs >= 1, got {_show(v)}")
            ok = False
        elif spec.strategy != "Hyperband":
            add(f"hyperband.{key}", f"only the Hyperband strategy uses it; remove it or set strategy = \"Hyperband\"")
            ok = False
    if ok and hb.min_resource is not None and hb.max_resource is not None and hb.min_resource > hb.max_resource:
        add("hyperband.min_resource", f"min_resource ({hb.min_resource}) must not exceed max_resource "
            f"({hb.max_resource})")
    if ok and spec.strategy == "Hyperband" and hb.max_resource is None and max_epochs(spec) is None:
        add("hyperband.max_resource", "Hyperband needs the most epochs a job can run: set "
            "hyperband.max_resource, or a num_epoch range or static hyperparameter")


def _validate_channels(spec: TuningSpec, add: Callable[[str, str], None],
                       base_dir: str | os.PathLike[str] | None) -> None:
    ch = spec.channels
    if not isinstance(ch, Channels):
        add("channels", "must be a table with train and test")
        return
    for name in ("train", "test"):
        value = getattr(ch, name)
        path = f"channels.{name}"
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            add(path, f"must be a local directory or an s3:// URI, got {_show(value)}")
        elif "://" in value or value.startswith("s3:"):
            if not S3_URI_PATTERN.fullmatch(value) or len(value) > 1024:
                add(path, f"{_show(value)} is not a well-formed S3 URI; use s3://bucket/prefix with a valid "
                    "bucket name (3-63 lowercase letters, digits, '.' or '-')")
        else:
            p = Path(value).expanduser()
            if base_dir is not None and not p.is_absolute() and (Path(base_dir) / p).exists():
                p = Path(base_dir) / p
            if not p.exists():
                add(path, f"local directory {value} does not exist; create it (hpo-tui data prepare) or "
                    "remove the entry to use the default channel")
            elif not p.is_dir():
                add(path, f"{value} is a file; a channel is a directory holding the data files")


def _validate_backend(spec: TuningSpec, add: Callable[[str, str], None]) -> None:
    if spec.backend not in BACKENDS:
        add("backend", f"{_show(spec.backend)} is not a backend; use {_choices(BACKENDS)}")
    sm = spec.sagemaker
    if not isinstance(sm, SageMakerSettings):
        add("sagemaker", "must be a table (role_arn, region, profile)")
        return
    role = sm.role_arn
    if role is not None:
        if not isinstance(role, str) or not ROLE_ARN_PATTERN.fullmatch(role):
            add("sagemaker.role_arn", f"{_show(role)} is not an IAM role ARN; it looks like "
                "arn:aws:iam::123456789012:role/SageMakerRole")
    elif spec.backend == "sagemaker" and not os.environ.get(ROLE_ARN_ENV):
        add("sagemaker.role_arn", f"the sagemaker backend needs an execution role; set role_arn = "
            f"\"arn:aws:iam::<account>:role/<name>\" or the {ROLE_ARN_ENV} environment variable")
    if sm.region is not None and (not isinstance(sm.region, str) or not REGION_PATTERN.fullmatch(sm.region)):
        add("sagemaker.region", f"{_show(sm.region)} is not an AWS region name; use one like \"us-west-2\"")
    if sm.profile is not None and (not isinstance(sm.profile, str) or not sm.profile.strip()):
        add("sagemaker.profile", f"must be the name of an AWS profile, got {_show(sm.profile)}")


# ---------------------------------------------------------------------------------------
# Dict / TOML form

_TOML_HEADER = (
    "# hpo-tui tuning spec. Check it with: hpo-tui spec validate FILE\n"
    "# Field names follow SageMaker's HyperparameterTuner. With strategy = \"Grid\", leave out\n"
    "# max_jobs to run every combination.\n\n"
)

_TOP_SCALARS = ("backend", "strategy", "early_stopping", "max_jobs", "max_parallel_jobs",
                "max_runtime_seconds", "random_seed", "tuning_job_name")
_TABLES: dict[str, type] = {
    "estimator": Estimator, "objective": Objective, "completion": CompletionCriteria,
    "hyperband": HyperbandSettings, "channels": Channels, "sagemaker": SageMakerSettings,
}
_RANGE_KEYS = {"integer": ("type", "min", "max", "scaling"), "continuous": ("type", "min", "max", "scaling"),
               "categorical": ("type", "values")}


def _table_keys(cls: type) -> list[str]:
    return [f.name for f in fields(cls)]


def _range_to_dict(p: Any) -> dict[str, Any]:
    if isinstance(p, CategoricalParameter):
        return {"type": "categorical", "values": list(p.values)}
    return {"type": p.kind, "min": p.min, "max": p.max, "scaling": p.scaling}


def spec_to_dict(spec: TuningSpec) -> dict[str, Any]:
    """Plain data for TOML: None values are left out, tables keep the dataclass field names."""
    out: dict[str, Any] = {}
    for key in _TOP_SCALARS:
        value = getattr(spec, key)
        if value is not None:
            out[key] = value
    for key in ("estimator", "objective"):
        out[key] = _dataclass_dict(getattr(spec, key))
    out["metric_definitions"] = [{"name": m.name, "regex": m.regex} for m in spec.metric_definitions]
    out["ranges"] = {name: _range_to_dict(p) for name, p in spec.ranges.items()}
    for key in ("completion", "hyperband", "channels", "sagemaker"):
        out[key] = _dataclass_dict(getattr(spec, key))
    return out


def _dataclass_dict(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if value is None:
            continue
        out[f.name] = dict(value) if isinstance(value, dict) else value
    return out


class _Reader:
    """Turns parsed TOML into a TuningSpec, collecting structural problems (unknown keys,
    tables where values belong).  Value types are left to validate(), which reports them
    with the same field paths."""

    def __init__(self) -> None:
        self.issues: list[SpecIssue] = []

    def add(self, path: str, message: str) -> None:
        self.issues.append(SpecIssue(path, message))

    def unknown(self, path: str, key: str, known: list[str] | tuple[str, ...]) -> None:
        import difflib

        close = difflib.get_close_matches(key, known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        self.add(f"{path}{key}", f"unknown key; {hint}expected one of: {', '.join(known)}")

    def table(self, data: dict[str, Any], key: str) -> dict[str, Any] | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.add(key, f"must be a table ([{key}]), got {_show(value)}")
            return None
        return value

    def dataclass_table(self, data: dict[str, Any], key: str, cls: type) -> Any:
        table = self.table(data, key)
        if table is None:
            return cls()
        known = _table_keys(cls)
        kwargs: dict[str, Any] = {}
        for k, v in table.items():
            if k not in known:
                self.unknown(f"{key}.", k, known)
            elif isinstance(v, dict) and not (cls is Estimator and k == "hyperparameters"):
                self.add(f"{key}.{k}", f"must be a value, not a table")
            else:
                kwargs[k] = v
        if cls is Estimator and "hyperparameters" in kwargs:
            hps = kwargs["hyperparameters"]
            if isinstance(hps, dict):
                for name, v in hps.items():
                    if isinstance(v, (dict, list)):
                        self.add(f"estimator.hyperparameters.{name}", "must be a string or a number")
                kwargs["hyperparameters"] = {n: v for n, v in hps.items() if not isinstance(v, (dict, list))}
        if cls is CompletionCriteria and _is_int(kwargs.get("target_objective_value")):
            kwargs["target_objective_value"] = float(kwargs["target_objective_value"])
        return cls(**kwargs)

    def range(self, name: str, table: Any) -> Parameter | None:
        path = f"ranges.{name}"
        if not isinstance(table, dict):
            self.add(path, "must be a table, e.g. [ranges.learning_rate] with type = \"continuous\", "
                     "min = 0.01, max = 0.2")
            return None
        kind = table.get("type")
        kind = kind.lower() if isinstance(kind, str) else kind
        if not isinstance(kind, str) or kind not in _RANGE_KEYS:
            what = "missing" if kind is None else f"{_show(table.get('type'))} is not a range type"
            self.add(f"{path}.type", f"{what}; add type = \"integer\", \"continuous\" or \"categorical\"")
            return None
        known = _RANGE_KEYS[kind]
        for k in table:
            if k not in known:
                self.unknown(f"{path}.", k, known)
        if kind == "categorical":
            if "values" not in table:
                self.add(f"{path}.values", "missing; list the values to try, e.g. values = [\"sgd\", \"Adam\"]")
                return None
            values = table["values"]
            if isinstance(values, list):
                # The SDK's CategoricalParameter accepts numbers and passes them as strings.
                values = [str(v) if _is_number(v) else v for v in values]
            return CategoricalParameter(values)
        bounds = {}
        for b in ("min", "max"):
            if b not in table:
                self.add(f"{path}.{b}", f"missing; add {b} = <number>")
                bounds[b] = None
            else:
                bounds[b] = table[b]
        if kind == "continuous":
            bounds = {b: float(v) if _is_int(v) else v for b, v in bounds.items()}
            return ContinuousParameter(bounds["min"], bounds["max"], table.get("scaling", "Auto"))
        return IntegerParameter(bounds["min"], bounds["max"], table.get("scaling", "Auto"))

    def spec(self, data: dict[str, Any]) -> TuningSpec:
        known_top = [*_TOP_SCALARS, *_TABLES, "metric_definitions", "ranges"]
        for key in data:
            if key not in known_top:
                self.unknown("", key, known_top)
        kwargs: dict[str, Any] = {}
        for key in _TOP_SCALARS:
            if key in data:
                value = data[key]
                if isinstance(value, (dict, list)):
                    self.add(key, f"must be a single value, not a {'table' if isinstance(value, dict) else 'list'}")
                else:
                    kwargs[key] = value
        # A spec file without max_jobs means "computed" (Grid) rather than the default 9,
        # so a spec with max_jobs = None survives the round trip.
        kwargs.setdefault("max_jobs", None)
        for key, cls in _TABLES.items():
            kwargs[key] = self.dataclass_table(data, key, cls)
        if "metric_definitions" in data:
            defs = data["metric_definitions"]
            if not isinstance(defs, list):
                self.add("metric_definitions", "must be a list of tables: [[metric_definitions]] with "
                         "name and regex")
            else:
                out = []
                for i, md in enumerate(defs):
                    path = f"metric_definitions[{i}]"
                    if not isinstance(md, dict):
                        self.add(path, "must be a table with name and regex")
                        continue
                    for k in md:
                        if k not in ("name", "regex"):
                            self.unknown(f"{path}.", k, ("name", "regex"))
                    for k in ("name", "regex"):
                        if k not in md:
                            self.add(f"{path}.{k}", f"missing; add {k} = \"...\"")
                    out.append(MetricDefinition(md.get("name"), md.get("regex")))
                kwargs["metric_definitions"] = out
        if "ranges" in data:
            table = data["ranges"]
            if not isinstance(table, dict):
                self.add("ranges", "must be a table with one sub-table per tuned hyperparameter")
            else:
                ranges = {}
                for name, sub in table.items():
                    p = self.range(name, sub)
                    if p is not None:
                        ranges[name] = p
                kwargs["ranges"] = ranges
        return TuningSpec(**kwargs)


def _merge(structural: list[SpecIssue], semantic: list[SpecIssue]) -> list[SpecIssue]:
    """Structural issues first; a semantic issue on a field already reported is dropped."""
    def covered(path: str) -> bool:
        return any(path == s.path or path.startswith((s.path + ".", s.path + "[")) for s in structural)

    return structural + [i for i in semantic if not covered(i.path)]


def spec_from_dict(data: dict[str, Any], *, check: bool = True,
                   base_dir: str | os.PathLike[str] | None = None) -> TuningSpec:
    """Build a spec from plain data (parsed TOML); raises SpecError listing every problem.

    check=False still rejects unknown keys and misplaced tables, but returns a spec whose
    values may break SageMaker's rules (the configure screen uses it to show and fix them).
    """
    if not isinstance(data, dict):
        raise SpecError(SpecIssue("spec", "must be a table of settings"))
    reader = _Reader()
    spec = reader.spec(data)
    issues = reader.issues
    if check:
        issues = _merge(issues, validate(spec, base_dir=base_dir))
    if issues:
        raise SpecError(issues)
    return spec


# Commented examples under empty tables, so a fresh file shows what can go there.
_TABLE_HINTS = {
    "completion": [
        "# target_objective_value = 0.98  # stop once a training job reaches this objective",
        "# max_jobs_not_improving = 5     # stop after this many jobs without a 1% gain (>= 3)",
    ],
    "hyperband": [
        "# min_resource = 1   # epochs; strategy = \"Hyperband\" only",
        "# max_resource = 50",
    ],
    "channels": [
        "# train = \"s3://my-bucket/mnist/train\"  # or a local directory; default: prepared MNIST",
        "# test = \"s3://my-bucket/mnist/test\"",
    ],
    "sagemaker": [
        f"# role_arn = \"arn:aws:iam::123456789012:role/SageMakerRole\"  # or ${ROLE_ARN_ENV}",
        "# region = \"us-west-2\"",
        "# profile = \"default\"",
    ],
}


def dumps_toml(spec: TuningSpec) -> str:
    """The spec as TOML text (with comments); loads_toml reads it back unchanged."""
    import tomli_w

    data = spec_to_dict(spec)
    try:
        text = tomli_w.dumps(data)
    except (TypeError, ValueError) as err:
        raise SpecError(SpecIssue("spec", f"cannot be written as TOML ({err}); run validate() first")) from None
    for key, hints in _TABLE_HINTS.items():
        if data.get(key) == {}:
            text = text.replace(f"\n[{key}]\n", f"\n[{key}]\n" + "\n".join(hints) + "\n", 1)
    return _TOML_HEADER + text


def loads_toml(text: str, *, source: str = "spec", check: bool = True,
               base_dir: str | os.PathLike[str] | None = None) -> TuningSpec:
    """Parse TOML text into a spec; malformed TOML is a SpecError naming line and column."""
    import tomllib

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SpecError(SpecIssue(source, _describe_toml_error(err, text))) from None
    return spec_from_dict(data, check=check, base_dir=base_dir)


def _describe_toml_error(err: Exception, text: str) -> str:
    """One line: where the TOML breaks, what tomllib says, and the text of that line."""
    message = str(err)
    m = re.search(r"\(at line (\d+), column (\d+)\)", message)
    lines = text.splitlines() or [""]
    if m:
        line, col = int(m.group(1)), int(m.group(2))
        what = message[: m.start()].strip()
    elif "end of document" in message:
        line, col = len(lines), len(lines[-1]) + 1
        what = message.replace("(at end of document)", "at the end of the file").strip()
    else:
        return f"not valid TOML: {message}"
    near = f" (line {line} reads: {lines[line - 1].strip()[:60]!r})" if 1 <= line <= len(lines) else ""
    return f"not valid TOML at line {line}, column {col}: {what}{near}"


def load_spec(path: str | os.PathLike[str], *, check: bool = True) -> TuningSpec:
    """Read a TOML spec file; raises SpecError listing every problem (see spec_from_dict).

    Relative local channel directories are checked from the file's folder (then the
    current directory), as `hpo-tui launch` resolves them.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(SpecIssue(str(p), "no such file; create one with: hpo-tui spec init " + str(p))) from None
    except IsADirectoryError:
        raise SpecError(SpecIssue(str(p), "is a directory; give the path of a .toml spec file")) from None
    except UnicodeDecodeError:
        raise SpecError(SpecIssue(str(p), "is not UTF-8 text; a spec file is TOML")) from None
    except OSError as err:
        raise SpecError(SpecIssue(str(p), f"cannot be read ({err.strerror})")) from None
    return loads_toml(text, source=str(p), check=check, base_dir=p.parent)


def save_spec(spec: TuningSpec, path: str | os.PathLike[str]) -> Path:
    """Write the spec as TOML, atomically (a crash never leaves half a file)."""
    import tempfile

    p = Path(path)
    text = dumps_toml(spec)
    tmp = None
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, p)
    except OSError as err:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise SpecError(SpecIssue(str(p), f"cannot be written ({err.strerror or err}); "
                                  "choose another path")) from None
    return p


# ---------------------------------------------------------------------------------------
# SageMaker request rendering (CreateHyperParameterTuningJob)


def _number_str(v: int | float) -> str:
    return str(v)  # as the SDK's ContinuousParameter/IntegerParameter.as_tuning_range


def to_parameter_ranges(spec: TuningSpec, *, framework: bool = True) -> dict[str, list[dict[str, Any]]]:
    """The ParameterRanges structure, values as strings.

    framework=True mirrors the SDK for a framework estimator (MXNet): categorical values
    are JSON-encoded ('"sgd"'), which the training toolkit decodes back before calling
    the script.  framework=False gives the plain values.
    """
    out: dict[str, list[dict[str, Any]]] = {
        "IntegerParameterRanges": [], "ContinuousParameterRanges": [], "CategoricalParameterRanges": [],
    }
    for name, p in spec.ranges.items():
        if isinstance(p, CategoricalParameter):
            values = [json.dumps(v) if framework else v for v in p.values]
            out["CategoricalParameterRanges"].append({"Name": name, "Values": values})
        else:
            key = "IntegerParameterRanges" if isinstance(p, IntegerParameter) else "ContinuousParameterRanges"
            out[key].append({"Name": name, "MinValue": _number_str(p.min), "MaxValue": _number_str(p.max),
                             "ScalingType": p.scaling})
    return out


def to_tuning_job_config(spec: TuningSpec, *, framework: bool = True) -> dict[str, Any]:
    """HyperParameterTuningJobConfig: strategy, objective, limits, ranges, early stopping,
    completion criteria and seed, as CreateHyperParameterTuningJob takes them."""
    limits: dict[str, Any] = {
        "MaxNumberOfTrainingJobs": resolved_max_jobs(spec),
        "MaxParallelTrainingJobs": spec.max_parallel_jobs,
    }
    if spec.max_runtime_seconds is not None:
        limits["MaxRuntimeInSeconds"] = spec.max_runtime_seconds
    config: dict[str, Any] = {
        "Strategy": spec.strategy,
        "HyperParameterTuningJobObjective": {"Type": spec.objective.type, "MetricName": spec.objective.name},
        "ResourceLimits": limits,
        "ParameterRanges": to_parameter_ranges(spec, framework=framework),
        "TrainingJobEarlyStoppingType": spec.early_stopping,
    }
    resources = hyperband_resources(spec) if spec.strategy == "Hyperband" else None
    if resources is not None:
        config["StrategyConfig"] = {
            "HyperbandStrategyConfig": {"MinResource": resources[0], "MaxResource": resources[1]}}
    criteria: dict[str, Any] = {}
    if spec.completion.target_objective_value is not None:
        criteria["TargetObjectiveMetricValue"] = float(spec.completion.target_objective_value)
    if spec.completion.max_jobs_not_improving is not None:
        criteria["BestObjectiveNotImproving"] = {
            "MaxNumberOfTrainingJobsNotImproving": spec.completion.max_jobs_not_improving}
    if criteria:
        config["TuningJobCompletionCriteria"] = criteria
    if spec.random_seed is not None:
        config["RandomSeed"] = spec.random_seed
    return config


def training_image_uri(spec: TuningSpec, region: str) -> str:
    """The AWS Deep Learning Container for MXNet training (CPU) in this region."""
    account = _MXNET_IMAGE_ACCOUNTS.get(region, _MXNET_IMAGE_ACCOUNT_DEFAULT)
    if region.startswith("cn-"):
        domain = "amazonaws.com.cn"
    elif region.startswith("us-isob-"):
        domain = "sc2s.sgov.gov"
    elif region.startswith("us-iso-"):
        domain = "c2s.ic.gov"
    else:
        domain = "amazonaws.com"
    tag = f"{spec.estimator.framework_version}-cpu-{spec.estimator.py_version}"
    return f"{account}.dkr.ecr.{region}.{domain}/mxnet-training:{tag}"


def render_region(spec: TuningSpec) -> str:
    """The region a render uses: the spec's, else AWS_REGION / AWS_DEFAULT_REGION, else us-west-2."""
    return (spec.sagemaker.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
            or DEFAULT_RENDER_REGION)


def render_request(
    spec: TuningSpec,
    *,
    job_name: str | None = None,
    region: str | None = None,
    role_arn: str | None = None,
    output_path: str | None = None,
    code_uri: str | None = None,
    channel_uris: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The full CreateHyperParameterTuningJob request the SDK would send for this spec.

    What only AWS knows is filled in from the spec and environment, else with stand-ins:
    the role (spec, SAGEMAKER_ROLE_ARN, else PLACEHOLDER_ROLE_ARN), the default bucket
    sagemaker-<region>-<account of the role>, the code upload
    s3://<bucket>/<job>/source/sourcedir.tar.gz (unless source_dir is an s3:// URI) and,
    for local channel directories, the upload prefix s3://<bucket>/<job>/data/<channel>.  Default channels are SageMaker's
    public MNIST sample data.  Pass the real values to override them.
    """
    name = job_name or make_tuning_job_name(spec)
    region = region or render_region(spec)
    role = role_arn or role_arn_for(spec) or PLACEHOLDER_ROLE_ARN
    m = ROLE_ARN_PATTERN.fullmatch(role)
    account = m.group(1) if m else "000000000000"
    bucket = f"sagemaker-{region}-{account}"
    output = output_path or f"s3://{bucket}/"
    source_dir = spec.estimator.source_dir
    # The SDK uses an s3:// source_dir as is; a local one is uploaded as sourcedir.tar.gz.
    code = code_uri or (source_dir if source_dir.startswith("s3://")
                        else f"s3://{bucket}/{name}/source/sourcedir.tar.gz")

    # Framework estimators JSON-encode every hyperparameter; the SDK then adds its own.
    static = {str(k): json.dumps(v) for k, v in spec.estimator.hyperparameters.items() if k not in spec.ranges}
    static.update({
        "sagemaker_submit_directory": json.dumps(code),
        "sagemaker_program": json.dumps(spec.estimator.entry_point),
        "sagemaker_container_log_level": json.dumps(20),
        "sagemaker_job_name": json.dumps(name),
        "sagemaker_region": json.dumps(region),
        "sagemaker_estimator_class_name": json.dumps("MXNet"),
        "sagemaker_estimator_module": json.dumps("sagemaker.mxnet.estimator"),
    })

    channels = []
    for channel in ("train", "test"):
        uri = (channel_uris or {}).get(channel) or getattr(spec.channels, channel)
        if uri is None:
            uri = f"s3://sagemaker-sample-data-{region}/mxnet/mnist/{channel}"
        elif not uri.startswith("s3://"):
            uri = f"s3://{bucket}/{name}/data/{channel}"
        channels.append({
            "ChannelName": channel,
            "DataSource": {"S3DataSource": {
                "S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}},
        })

    definition: dict[str, Any] = {
        "StaticHyperParameters": static,
        "AlgorithmSpecification": {
            "TrainingImage": training_image_uri(spec, region),
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": md.name, "Regex": md.regex} for md in spec.metric_definitions],
        },
        "RoleArn": role,
        "InputDataConfig": channels,
        "OutputDataConfig": {"S3OutputPath": output},
        # Where the SDK (2.257) puts the instances of a tuning job's training jobs.
        "HyperParameterTuningResourceConfig": {
            "InstanceType": spec.estimator.instance_type,
            "InstanceCount": spec.estimator.instance_count,
            "VolumeSizeInGB": 30,
        },
        # The SDK's default per-training-job limit (1 day).
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
    }
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": to_tuning_job_config(spec),
        "TrainingJobDefinition": definition,
    }


# ---------------------------------------------------------------------------------------
# Summary


def _describe_range(p: Parameter) -> tuple[str, str]:
    if isinstance(p, CategoricalParameter):
        return "categorical", ", ".join(p.values)
    return p.kind, f"{p.min} .. {p.max}  ({p.scaling})"


SUMMARY_MAX_RANGES = 10  # keeps the summary on one screen


def summary_text(spec: TuningSpec) -> str:
    """A one-screen description of a valid spec (what `hpo-tui spec validate` prints)."""
    est = spec.estimator
    jobs = resolved_max_jobs(spec)
    grid_note = " (every Grid combination)" if spec.strategy == "Grid" else ""
    lines = [
        f"Tuning job: {jobs} training jobs{grid_note}, {spec.max_parallel_jobs} at a time, "
        f"{spec.strategy} search, {spec.backend} backend",
        f"Objective:  {spec.objective.type} {spec.objective.name}",
        "Metrics:    " + "; ".join(f"{m.name} = {m.regex}" for m in spec.metric_definitions),
        "Ranges:",
    ]
    shown = list(spec.ranges.items())[:SUMMARY_MAX_RANGES]
    width = max((len(n) for n, _ in shown), default=0)
    for name, p in shown:
        kind, text = _describe_range(p)
        if len(text) > 60:
            text = text[:59] + "…"
        lines.append(f"  {name[:30]:<{min(width, 30)}}  {kind:<11}  {text}")
    if len(spec.ranges) > len(shown):
        lines.append(f"  ... and {len(spec.ranges) - len(shown)} more")
    static = ", ".join(f"{k}={v}" for k, v in est.hyperparameters.items()) or "none"
    lines.append(f"Static:     {static}")
    lines.append(f"Training:   {est.entry_point} in {est.source_dir}/, MXNet {est.framework_version} "
                 f"{est.py_version}, {est.instance_count} x {est.instance_type}")
    runtime = f"{spec.max_runtime_seconds} s" if spec.max_runtime_seconds is not None else "no limit"
    seed = spec.random_seed if spec.random_seed is not None else "random"
    lines.append(f"Limits:     early stopping {spec.early_stopping}, max runtime {runtime}, seed {seed}")
    stops = []
    if spec.completion.target_objective_value is not None:
        stops.append(f"objective reaches {spec.completion.target_objective_value}")
    if spec.completion.max_jobs_not_improving is not None:
        stops.append(f"{spec.completion.max_jobs_not_improving} jobs without a 1% improvement")
    if spec.strategy == "Hyperband" and (spec.hyperband.min_resource or spec.hyperband.max_resource):
        stops.append(f"Hyperband epochs {spec.hyperband.min_resource or 1}..{spec.hyperband.max_resource or '?'}")
    lines.append("Stops when: " + ("; ".join(stops) if stops else f"all {jobs} jobs have run"))
    default = "prepared MNIST" if spec.backend == "local" else "SageMaker sample data"
    lines.append(f"Channels:   train = {spec.channels.train or default}, test = {spec.channels.test or default}")
    if spec.backend == "sagemaker":
        role = spec.sagemaker.role_arn or f"${ROLE_ARN_ENV}"
        lines.append(f"SageMaker:  role {role}, region {spec.sagemaker.region or 'from AWS config'}, "
                     f"profile {spec.sagemaker.profile or 'default'}")
    name = spec.tuning_job_name or f"{est.base_job_name}-<timestamp>"
    lines.append(f"Job name:   {name}")
    return "\n".join(lines)
