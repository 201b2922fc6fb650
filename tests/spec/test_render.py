"""The CreateHyperParameterTuningJob request: what the SDK would send, accepted by botocore."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pytest

from hpo_tui.spec import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    TuningSpec,
    make_tuning_job_name,
    render_request,
    to_parameter_ranges,
    to_tuning_job_config,
    training_image_uri,
)

from .aws_shapes import botocore_report, strict_problems

pytestmark = pytest.mark.usefixtures("sdk_endpoints_read_once")

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"


def test_parameter_ranges_of_the_reference_workflow() -> None:
    assert to_parameter_ranges(TuningSpec(), framework=False) == {
        "IntegerParameterRanges": [{"Name": "num_epoch", "MinValue": "10", "MaxValue": "50", "ScalingType": "Auto"}],
        "ContinuousParameterRanges": [
            {"Name": "learning_rate", "MinValue": "0.01", "MaxValue": "0.2", "ScalingType": "Auto"}],
        "CategoricalParameterRanges": [{"Name": "optimizer", "Values": ["sgd", "Adam"]}],
    }


def test_parameter_ranges_match_the_sdk() -> None:
    """Framework estimators send categorical values JSON-encoded; numbers via str()."""
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    from sagemaker import parameter

    spec = TuningSpec()
    spec.ranges["momentum"] = ContinuousParameter(0.0, 0.99, "ReverseLogarithmic")
    spec.ranges["layers"] = IntegerParameter(1, 4, "Logarithmic")
    sdk = {
        "optimizer": parameter.CategoricalParameter(["sgd", "Adam"]).as_json_range("optimizer"),
        "learning_rate": parameter.ContinuousParameter(0.01, 0.2).as_tuning_range("learning_rate"),
        "num_epoch": parameter.IntegerParameter(10, 50).as_tuning_range("num_epoch"),
        "momentum": parameter.ContinuousParameter(0.0, 0.99, "ReverseLogarithmic").as_tuning_range("momentum"),
        "layers": parameter.IntegerParameter(1, 4, "Logarithmic").as_tuning_range("layers"),
    }
    ours = to_parameter_ranges(spec)
    assert ours["CategoricalParameterRanges"] == [sdk["optimizer"]]
    assert ours["ContinuousParameterRanges"] == [sdk["learning_rate"], sdk["momentum"]]
    assert ours["IntegerParameterRanges"] == [sdk["num_epoch"], sdk["layers"]]


def test_training_image_matches_the_sdk_in_every_region() -> None:
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    import sagemaker
    from sagemaker import image_uris

    config_path = Path(sagemaker.__path__[0]) / "image_uri_config" / "mxnet.json"
    registries = json.loads(config_path.read_text())["training"]["versions"]["1.9.0"]["registries"]
    assert len(registries) > 30
    for region, account in registries.items():
        assert training_image_uri(TuningSpec(), region).startswith(f"{account}.dkr.ecr.{region}."), region
    # The whole URI (domain, repository, tag) from the SDK itself, one region per partition.
    for region in ("us-west-2", "af-south-1", "cn-north-1", "us-gov-west-1", "us-iso-east-1", "us-isob-east-1"):
        expected = image_uris.retrieve("mxnet", region=region, version="1.9.0", py_version="py38",
                                       instance_type="ml.m5.xlarge", image_scope="training")
        assert training_image_uri(TuningSpec(), region) == expected, region


def test_tuning_job_config_carries_every_setting() -> None:
    spec = TuningSpec(strategy="Hyperband", max_jobs=30, max_parallel_jobs=5, max_runtime_seconds=7200,
                      random_seed=42, early_stopping="Off")
    spec.objective.type = "Minimize"
    spec.completion.target_objective_value = 0.99
    spec.completion.max_jobs_not_improving = 6
    spec.hyperband.min_resource, spec.hyperband.max_resource = 2, 40
    config = to_tuning_job_config(spec)
    assert config["Strategy"] == "Hyperband"
    assert config["StrategyConfig"] == {"HyperbandStrategyConfig": {"MinResource": 2, "MaxResource": 40}}
    assert config["HyperParameterTuningJobObjective"] == {"Type": "Minimize", "MetricName": "Validation-accuracy"}
    assert config["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 30, "MaxParallelTrainingJobs": 5,
                                        "MaxRuntimeInSeconds": 7200}
    assert config["TrainingJobEarlyStoppingType"] == "Off"
    assert config["TuningJobCompletionCriteria"] == {
        "TargetObjectiveMetricValue": 0.99,
        "BestObjectiveNotImproving": {"MaxNumberOfTrainingJobsNotImproving": 6}}
    assert config["RandomSeed"] == 42


def test_optional_settings_are_left_out() -> None:
    config = to_tuning_job_config(TuningSpec())
    assert set(config) == {"Strategy", "HyperParameterTuningJobObjective", "ResourceLimits", "ParameterRanges",
                           "TrainingJobEarlyStoppingType"}
    assert config["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 9, "MaxParallelTrainingJobs": 3}


def test_grid_request_states_the_number_of_combinations() -> None:
    spec = TuningSpec(strategy="Grid", max_jobs=None, max_parallel_jobs=2,
                      ranges={"optimizer": CategoricalParameter(["sgd", "Adam"]),
                              "batch": CategoricalParameter(["32", "64", "128"])})
    assert to_tuning_job_config(spec)["ResourceLimits"]["MaxNumberOfTrainingJobs"] == 6


def test_full_request_for_sagemaker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAGEMAKER_ROLE_ARN", raising=False)
    spec = TuningSpec(backend="sagemaker")
    spec.sagemaker.role_arn, spec.sagemaker.region = ROLE, "eu-west-1"
    spec.channels.train = "s3://my-data/mnist/train"
    name = make_tuning_job_name(spec, now=datetime(2026, 11, 28, 9, 0, 0))
    request = render_request(spec, job_name=name)
    assert botocore_report(request) == ""
    assert strict_problems(request) == []
    assert request["HyperParameterTuningJobName"] == name
    definition = request["TrainingJobDefinition"]
    assert definition["RoleArn"] == ROLE
    assert definition["AlgorithmSpecification"] == {
        "TrainingImage": "763104351884.dkr.ecr.eu-west-1.amazonaws.com/mxnet-training:1.9.0-cpu-py38",
        "TrainingInputMode": "File",
        "MetricDefinitions": [{"Name": "Validation-accuracy", "Regex": r"Validation-accuracy=([0-9\.]+)"}],
    }
    static = definition["StaticHyperParameters"]
    assert static["batch_size"] == "100"
    assert static["sagemaker_program"] == '"mnist.py"'
    assert static["sagemaker_submit_directory"] == (
        f'"s3://sagemaker-eu-west-1-123456789012/{name}/source/sourcedir.tar.gz"')
    assert static["sagemaker_region"] == '"eu-west-1"'
    assert not set(static) & set(spec.ranges)
    uris = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in definition["InputDataConfig"]}
    assert uris == {"train": "s3://my-data/mnist/train",
                    "test": "s3://sagemaker-sample-data-eu-west-1/mxnet/mnist/test"}
    assert definition["OutputDataConfig"] == {"S3OutputPath": "s3://sagemaker-eu-west-1-123456789012/"}
    assert definition["HyperParameterTuningResourceConfig"] == {
        "InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30}


def test_role_from_environment_and_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAGEMAKER_ROLE_ARN", "arn:aws:iam::210987654321:role/FromEnv")
    request = render_request(TuningSpec(), region="us-east-1", output_path="s3://out/x",
                             code_uri="s3://code/src.tar.gz", channel_uris={"test": "s3://t/test"})
    definition = request["TrainingJobDefinition"]
    assert definition["RoleArn"] == "arn:aws:iam::210987654321:role/FromEnv"
    assert definition["OutputDataConfig"]["S3OutputPath"] == "s3://out/x"
    assert definition["StaticHyperParameters"]["sagemaker_submit_directory"] == '"s3://code/src.tar.gz"'
    assert definition["InputDataConfig"][1]["DataSource"]["S3DataSource"]["S3Uri"] == "s3://t/test"


def test_local_channel_directories_render_as_their_upload_prefix(tmp_path: Path) -> None:
    spec = TuningSpec()
    spec.channels.train = str(tmp_path)
    request = render_request(spec, job_name="run-1", region="us-west-2", role_arn=ROLE)
    uri = request["TrainingJobDefinition"]["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"]
    assert uri == "s3://sagemaker-us-west-2-123456789012/run-1/data/train"


def test_gpu_instance_types_render_the_gpu_image() -> None:
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    from sagemaker import image_uris

    for instance_type in ("ml.p3.2xlarge", "ml.g4dn.xlarge", "ml.g5.2xlarge", "ml.m5.xlarge", "ml.c5.4xlarge"):
        spec = TuningSpec()
        spec.estimator.instance_type = instance_type
        expected = image_uris.retrieve("mxnet", region="us-west-2", version="1.9.0", py_version="py38",
                                       instance_type=instance_type, image_scope="training")
        assert training_image_uri(spec, "us-west-2") == expected, instance_type
        request = render_request(spec, region="us-west-2")
        assert request["TrainingJobDefinition"]["AlgorithmSpecification"]["TrainingImage"] == expected
    assert "-gpu-py38" in training_image_uri(spec_with("ml.p3.2xlarge"), "us-east-1")


def spec_with(instance_type: str) -> TuningSpec:
    spec = TuningSpec()
    spec.estimator.instance_type = instance_type
    return spec


def test_spot_and_warm_start_render_into_a_request_botocore_accepts() -> None:
    spec = TuningSpec(backend="sagemaker")
    spec.sagemaker.role_arn = ROLE
    spec.estimator.use_spot_instances = True
    spec.estimator.max_run_seconds = 3600
    spec.estimator.max_wait_seconds = 5400
    spec.estimator.checkpoint_s3_uri = "s3://my-bucket/checkpoints"
    spec.warm_start.parents = ["mnist-hpo-1", "mnist-hpo-2"]
    request = render_request(spec, job_name="warm-1", region="us-east-1")
    assert botocore_report(request) == ""
    assert strict_problems(request) == []
    definition = request["TrainingJobDefinition"]
    assert definition["EnableManagedSpotTraining"] is True
    assert definition["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 5400}
    assert definition["CheckpointConfig"] == {"S3Uri": "s3://my-bucket/checkpoints"}
    assert request["WarmStartConfig"] == {
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "mnist-hpo-1"},
                                           {"HyperParameterTuningJobName": "mnist-hpo-2"}],
        "WarmStartType": "IdenticalDataAndAlgorithm",
    }
    # Without them, none of it is sent.
    plain = render_request(TuningSpec(), job_name="cold-1", region="us-east-1")
    assert "WarmStartConfig" not in plain
    assert "EnableManagedSpotTraining" not in plain["TrainingJobDefinition"]
    assert plain["TrainingJobDefinition"]["StoppingCondition"] == {"MaxRuntimeInSeconds": 86400}
