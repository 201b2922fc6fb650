"""TuningSpec: one validated description of a tuning job, in SageMaker's terms.

Headless: imports neither textual, mxnet nor sagemaker.  Validation, TOML files
and the CreateHyperParameterTuningJob rendering live here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Union

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
    # Optional explicit tuning job name; otherwise generated from base_job_name.
    tuning_job_name: str | None = None
