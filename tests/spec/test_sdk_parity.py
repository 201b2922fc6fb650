"""render_request() is the request the SageMaker SDK itself sends when the SageMaker backend
launches the same spec (its estimator and its HyperparameterTuner arguments).

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
)

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
REGION = "eu-west-1"
CODE = "s3://code-bucket/src/sourcedir.tar.gz"  # an s3:// source_dir: the SDK uploads nothing
OUTPUT = "s3://out-bucket/"
pytestmark = pytest.mark.usefixtures("sdk_endpoints_read_once")


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

    from hpo_tui.backends.sagemaker import estimator_extras, tuner_arguments

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
                      sagemaker_session=session, output_path=OUTPUT, **estimator_extras(spec))
    # Exactly the tuner the SageMaker backend builds at launch.
    tuner = t.HyperparameterTuner(estimator, **tuner_arguments(spec))
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


def hyperband_inferred() -> TuningSpec:
    # No [hyperband] settings: MaxResource comes from the num_epoch range (SageMaker itself
    # would not infer it from a hyperparameter named num_epoch).
    spec = reference()
    spec.strategy = "Hyperband"
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


def spot_and_warm_start() -> TuningSpec:
    spec = reference()
    spec.estimator.use_spot_instances = True
    spec.estimator.max_run_seconds = 3600
    spec.estimator.max_wait_seconds = 7200
    spec.estimator.checkpoint_s3_uri = "s3://ckpt-bucket/mnist"
    spec.warm_start.parents = ["mnist-hpo-a", "mnist-hpo-b"]
    spec.warm_start.type = "TransferLearning"
    return spec


def gpu_instances() -> TuningSpec:
    spec = reference()
    spec.estimator.instance_type = "ml.p3.2xlarge"
    return spec


@pytest.mark.parametrize("build", [reference, hyperband, hyperband_inferred, grid, random_early_stopping,
                                   spot_and_warm_start, gpu_instances])
def test_render_request_is_what_the_sdk_sends(build: Any) -> None:
    spec = build()
    ours = render_request(spec, job_name="run-1", region=REGION, role_arn=ROLE, output_path=OUTPUT)
    theirs = sdk_request(spec, "run-1")
    for request in (ours, theirs):  # the SDK keeps warm start parents in a set: any order
        if "WarmStartConfig" in request:
            request["WarmStartConfig"]["ParentHyperParameterTuningJobs"].sort(
                key=lambda p: p["HyperParameterTuningJobName"])
    assert ours == theirs


def test_hyperband_request_always_names_its_epoch_budget() -> None:
    spec = hyperband_inferred()
    config = render_request(spec, job_name="run-1", region=REGION, role_arn=ROLE)["HyperParameterTuningJobConfig"]
    assert config["StrategyConfig"] == {"HyperbandStrategyConfig": {"MinResource": 1, "MaxResource": 50}}
