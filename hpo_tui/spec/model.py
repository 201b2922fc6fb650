"""The spec's data model: the TuningSpec dataclasses with the reference-workflow defaults,
SageMaker's limits and patterns, SpecIssue/SpecError, and values derived from a spec.

Must not import anything above `hpo_tui.errors` (no textual, mxnet, sagemaker, boto3).
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Union

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
    # Per training job limit (the SDK's max_run; None = its default of 1 day).
    max_run_seconds: int | None = None
    # Managed spot training (the SDK's use_spot_instances / max_wait / checkpoint_s3_uri).
    use_spot_instances: bool | None = None
    max_wait_seconds: int | None = None
    checkpoint_s3_uri: str | None = None


@dataclass
class Objective:
    name: str = DEFAULT_OBJECTIVE
    type: str = "Maximize"
    # The values the metric can take, when known (an accuracy: 0 and 1): charts never draw
    # past them. None = inferred from the name and the values (hpo_tui.scales). Not sent to
    # SageMaker.
    lowest: float | None = None
    highest: float | None = None


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


# The most training jobs [local] concurrency may ask for at once.
MAX_LOCAL_CONCURRENCY = 256


@dataclass
class LocalSettings:
    # Local backend only: training jobs run at once. None = one per core. max_parallel_jobs
    # stays a cap, as on SageMaker; this is the machine's cap (more jobs would share cores).
    concurrency: int | None = None
    # A training job with no log output and no CPU progress for this long is marked stalled
    # (None = 300 s); with stall_timeout_seconds it is ended as Failed after that long.
    stall_seconds: float | None = None
    stall_timeout_seconds: float | None = None
    # Each training job's log keeps at most this many bytes (None = 100 MB); the cut is marked.
    log_max_bytes: int | None = None


@dataclass
class SageMakerSettings:
    role_arn: str | None = None
    region: str | None = None
    profile: str | None = None
    # On-demand price of one instance-hour of estimator.instance_type, in dollars, for the
    # cost estimate. No price list is built in: prices differ by region and change.
    price_per_hour: float | None = None


WARM_START_TYPES = ("IdenticalDataAndAlgorithm", "TransferLearning")


@dataclass
class WarmStartSettings:
    # Up to 5 earlier tuning jobs whose results seed this one (SageMaker's WarmStartConfig).
    parents: list[str] | None = None
    type: str | None = None  # None = IdenticalDataAndAlgorithm


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
    local: LocalSettings = field(default_factory=LocalSettings)
    warm_start: WarmStartSettings = field(default_factory=WarmStartSettings)
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
# SageMaker adds this one to every training job of a tuning job.
TUNING_OBJECTIVE_HYPERPARAMETER = "_tuning_objective_metric"

MAX_RANGES_PER_TYPE = 30  # kept for callers; AWS also caps the total (MAX_RANGES)
MAX_RANGES = 30  # ranges of all types together
MAX_CATEGORICAL_VALUES = 30
MAX_HYPERPARAMETERS = 100  # tuned + static + the SDK's statics + _tuning_objective_metric
MAX_METRIC_DEFINITIONS = 20  # per tuning job (training jobs alone allow 40)
MAX_PARALLEL_JOBS = 100  # MaxParallelTrainingJobs
DEFAULT_PARALLEL_QUOTA = 10  # the default account quota for parallel training jobs of a tuning job
MAX_TRAINING_JOBS = 750  # MaxNumberOfTrainingJobs, Grid combinations included
MAX_WARM_START_PARENTS = 5
SDK_MAX_RUN_SECONDS = 86400  # the SDK's default max_run (StoppingCondition.MaxRuntimeInSeconds)
MAX_TRAINING_RUN_SECONDS = 2_419_200  # 28 days, SageMaker's longest training job
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


def as_epochs(value: Any) -> int | None:
    """A hyperparameter value as a whole number of epochs (>= 1), or None."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if not math.isfinite(number) or number < 1:
        return None
    return int(number)


def max_epochs(spec: TuningSpec) -> int | None:
    """The largest num_epoch any training job of this spec can run, when known."""
    p = spec.ranges.get("num_epoch") if isinstance(spec.ranges, dict) else None
    if isinstance(p, (IntegerParameter, ContinuousParameter)):
        return as_epochs(p.max)  # int() of a number >= 1 is its floor
    if isinstance(p, CategoricalParameter):
        values = p.values if isinstance(p.values, list) else []
        counts = [c for c in (as_epochs(v) for v in values) if c is not None]
        return max(counts) if counts else None
    static = getattr(spec.estimator, "hyperparameters", None)
    return as_epochs(static.get("num_epoch")) if isinstance(static, dict) else None


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
