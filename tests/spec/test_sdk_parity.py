"""render_request() is the request the SageMaker SDK itself sends for the same spec.

The SDK's MXNet estimator and HyperparameterTuner run for real; botocore's Stubber answers
CreateHyperParameterTuningJob (after botocore validated the parameters) and a
provide-client-params hook records what the SDK sent.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from hpo_tui.spec import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    MetricDefinition,
    TuningSpec,
    render_request,
    resolved_max_jobs,
)

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
REGION = "eu-west-1"
CODE = "s3://code-bucket/src/sourcedir.tar.gz"  # an s3:// source_dir: the SDK uploads nothing
OUTPUT = "s3://out-bucket/"


@pytest.fixture(autouse=True)
def _fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")


def sdk_request(spec: TuningSpec, job_name: str) -> dict[str, Any]:
    """Launch `spec` with the SDK the way a SageMaker user writes it; return what it sent."""
    import boto3
    import sagemaker
    from botocore.stub import Stubber
    from sagemaker import tuner as t
    from sagemaker.mxnet import MXNet

    boto_session = boto3.Session(region_name=REGION)
    client = boto_session.client("sagemaker")
    sent: dict[str, Any] = {}
    client.meta.events.register("provide-client-params.sagemaker.CreateHyperParameterTuningJob",
                                lambda params, **_: sent.update(copy.deepcopy(params)))
    stubber = Stubber(client)
    stubber.add_response("create_hyper_parameter_tuning_job", {
        "HyperParameterTuningJobArn": f"arn:aws:sagemaker:{REGION}:123456789012:hyper-parameter-tuning-job/{job_name}"})
    stubber.activate()
    session = sagemaker.Session(boto_session=boto_session, sagemaker_client=client)

    est = spec.estimator
    estimator = MXNet(entry_point=est.entry_point, source_dir=est.source_dir, role=ROLE,
                      framework_version=est.framework_version, py_version=est.py_version,
                      instance_type=est.instance_type, instance_count=est.instance_count,
                      hyperparameters=dict(est.hyperparameters), base_job_name=est.base_job_name,
                      sagemaker_session=session, output_path=OUTPUT)
    ranges: dict[str, Any] = {}
    for name, p in spec.ranges.items():
        if isinstance(p, CategoricalParameter):
            ranges[name] = t.CategoricalParameter(p.values)
        elif isinstance(p, IntegerParameter):
            ranges[name] = t.IntegerParameter(p.min, p.max, scaling_type=p.scaling)
        else:
            ranges[name] = t.ContinuousParameter(p.min, p.max, scaling_type=p.scaling)
    kwargs: dict[str, Any] = {}
    if spec.strategy == "Hyperband" and (spec.hyperband.min_resource or spec.hyperband.max_resource):
        kwargs["strategy_config"] = t.StrategyConfig(t.HyperbandStrategyConfig(
            min_resource=spec.hyperband.min_resource, max_resource=spec.hyperband.max_resource))
    crit = spec.completion
    if crit.target_objective_value is not None or crit.max_jobs_not_improving is not None:
        kwargs["completion_criteria_config"] = t.TuningJobCompletionCriteriaConfig(
            max_number_of_training_jobs_not_improving=crit.max_jobs_not_improving,
            target_objective_metric_value=crit.target_objective_value)
    tuner = t.HyperparameterTuner(
        estimator, spec.objective.name, ranges,
        [{"Name": m.name, "Regex": m.regex} for m in spec.metric_definitions],
        strategy=spec.strategy, objective_type=spec.objective.type,
        # The SDK sends None for a Grid without max_jobs, which botocore refuses: pass the count.
        max_jobs=resolved_max_jobs(spec), max_parallel_jobs=spec.max_parallel_jobs,
        early_stopping_type=spec.early_stopping, random_seed=spec.random_seed,
        max_runtime_in_seconds=spec.max_runtime_seconds, **kwargs)
    tuner.fit({"train": spec.channels.train, "test": spec.channels.test}, job_name=job_name, wait=False)
    stubber.assert_no_pending_responses()
    return sent


def reference() -> TuningSpec:
    spec = TuningSpec(backend="sagemaker")
    spec.estimator.source_dir = CODE
    spec.channels.train = "s3://data-bucket/mnist/train"
    spec.channels.test = "s3://data-bucket/mnist/test"
    return spec


def hyperband() -> TuningSpec:
    spec = reference()
    spec.strategy, spec.max_jobs, spec.max_parallel_jobs = "Hyperband", 30, 5
    spec.objective.type = "Minimize"
    spec.metric_definitions.append(MetricDefinition("Validation-loss", r"Validation-loss=([0-9\.]+)"))
    spec.objective.name = "Validation-loss"
    spec.ranges["learning_rate"] = ContinuousParameter(1e-4, 0.2, "Logarithmic")
    spec.ranges["momentum"] = ContinuousParameter(0.0, 0.99, "ReverseLogarithmic")
    spec.estimator.hyperparameters.update(model="lenet", dropout=0.25)
    spec.hyperband.min_resource, spec.hyperband.max_resource = 2, 40
    spec.completion.target_objective_value = 0.05
    spec.completion.max_jobs_not_improving = 6
    spec.random_seed, spec.max_runtime_seconds = 42, 7200
    return spec


def grid() -> TuningSpec:
    spec = reference()
    spec.strategy, spec.max_jobs, spec.max_parallel_jobs = "Grid", None, 2
    spec.ranges = {"optimizer": CategoricalParameter(["sgd", "Adam"]),
                   "num_epoch": CategoricalParameter(["5", "10", "20"])}
    return spec


def random_early_stopping() -> TuningSpec:
    spec = reference()
    spec.strategy, spec.early_stopping, spec.max_jobs = "Random", "Auto", 20
    spec.estimator.instance_type, spec.estimator.instance_count = "ml.c5.2xlarge", 2
    spec.ranges["num_epoch"] = IntegerParameter(1, 64, "Logarithmic")
    return spec


@pytest.mark.parametrize("build", [reference, hyperband, grid, random_early_stopping])
def test_render_request_is_what_the_sdk_sends(build: Any) -> None:
    spec = build()
    ours = render_request(spec, job_name="run-1", region=REGION, role_arn=ROLE, output_path=OUTPUT)
    assert ours == sdk_request(spec, "run-1")
