"""The SageMaker backend against a moto server on 127.0.0.1: launch through the SDK, read back
what AWS received, poll, list, per-epoch points from CloudWatch Logs, log tail, no duplicates.
"""

from __future__ import annotations

import io
import tarfile
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from hpo_tui.backends.base import BackendError
from hpo_tui.views import MetricPoint, ParameterRangeView
from hpo_tui.backends.sagemaker import LOG_GROUP, SageMakerBackend
from hpo_tui.errors import UserError
from hpo_tui.spec import CategoricalParameter
from tests.sagemaker.account import make_role
from tests.sagemaker.conftest import answer_locally, make_spec

ROLE = "arn:aws:iam::123456789012:role/SageMakerTuning"


def made_buckets() -> list[str]:
    """Buckets besides SageMaker's public sample data (which moto_endpoint makes, as AWS has it)."""
    return [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]
            if not b["Name"].startswith("sagemaker-sample-data-")]


def describe(name: str) -> dict[str, Any]:
    return boto3.client("sagemaker").describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)


def test_launch_sends_the_sdk_request_and_uploads_the_source(boto_session: Any, moto_endpoint: str, source_dir: Path) -> None:
    spec = make_spec(source_dir)
    spec.random_seed = 7
    spec.max_runtime_seconds = 7200
    spec.completion.max_jobs_not_improving = 5
    spec.metric_definitions.append(type(spec.metric_definitions[0])("Validation-loss", r"Validation-loss=([0-9\.]+)"))

    name = SageMakerBackend(boto_session=boto_session).launch(spec)

    assert name == "hpo-moto-1"
    bucket = "sagemaker-us-east-1-123456789012"  # the default bucket of moto's account
    body = boto3.client("s3").get_object(Bucket=bucket, Key=f"{name}/source/sourcedir.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        assert "mnist.py" in tar.getnames()

    job = describe(name)
    config = job["HyperParameterTuningJobConfig"]
    definition = job["TrainingJobDefinition"]
    image = definition["AlgorithmSpecification"]["TrainingImage"]
    assert "/mxnet-training:1.9.0-cpu-py38" in image
    assert config["Strategy"] == "Bayesian"
    assert config["HyperParameterTuningJobObjective"] == {"Type": "Maximize", "MetricName": "Validation-accuracy"}
    assert config["ResourceLimits"] == {
        "MaxNumberOfTrainingJobs": 9,
        "MaxParallelTrainingJobs": 3,
        "MaxRuntimeInSeconds": 7200,
    }
    assert config["RandomSeed"] == 7
    assert config["TuningJobCompletionCriteria"]["BestObjectiveNotImproving"] == {
        "MaxNumberOfTrainingJobsNotImproving": 5
    }
    ranges = config["ParameterRanges"]
    assert ranges["IntegerParameterRanges"] == [
        {"Name": "num_epoch", "MinValue": "10", "MaxValue": "50", "ScalingType": "Auto"}
    ]
    assert ranges["ContinuousParameterRanges"] == [
        {"Name": "learning_rate", "MinValue": "0.01", "MaxValue": "0.2", "ScalingType": "Auto"}
    ]
    # Framework estimators JSON-encode categorical values, as the SDK always has.
    assert ranges["CategoricalParameterRanges"] == [{"Name": "optimizer", "Values": ['"sgd"', '"Adam"']}]
    assert definition["AlgorithmSpecification"]["MetricDefinitions"] == [
        {"Name": "Validation-accuracy", "Regex": r"Validation-accuracy=([0-9\.]+)"},
        {"Name": "Validation-loss", "Regex": r"Validation-loss=([0-9\.]+)"},
    ]
    static = definition["StaticHyperParameters"]
    assert static["batch_size"] == "100"
    assert static["sagemaker_program"] == '"mnist.py"'
    assert static["sagemaker_submit_directory"] == f'"s3://{bucket}/{name}/source/sourcedir.tar.gz"'
    assert definition["RoleArn"] == ROLE
    assert definition["HyperParameterTuningResourceConfig"]["InstanceType"] == "ml.m5.xlarge"
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in definition["InputDataConfig"]}
    assert channels == {
        "train": "s3://sagemaker-sample-data-us-east-1/mxnet/mnist/train",
        "test": "s3://sagemaker-sample-data-us-east-1/mxnet/mnist/test",
    }


def test_hyperband_launch_carries_the_resource_bounds(boto_session: Any, moto_endpoint: str, source_dir: Path) -> None:
    spec = make_spec(source_dir, "hpo-moto-hb")
    spec.strategy = "Hyperband"
    SageMakerBackend(boto_session=boto_session).launch(spec)
    config = describe("hpo-moto-hb")["HyperParameterTuningJobConfig"]
    assert config["Strategy"] == "Hyperband"
    assert config["StrategyConfig"]["HyperbandStrategyConfig"] == {"MinResource": 1, "MaxResource": 50}


def test_grid_launch_sends_the_number_of_combinations(boto_session: Any, moto_endpoint: str, source_dir: Path) -> None:
    # A Grid spec without max_jobs: AWS needs the combination count, never a null.
    spec = make_spec(source_dir, "hpo-moto-grid")
    spec.strategy = "Grid"
    spec.max_jobs = None
    spec.ranges = {"optimizer": CategoricalParameter(["sgd", "Adam"]), "batch_size": CategoricalParameter(["50", "100", "200"])}
    spec.estimator.hyperparameters = {}
    spec.max_parallel_jobs = 2
    SageMakerBackend(boto_session=boto_session).launch(spec)
    config = describe("hpo-moto-grid")["HyperParameterTuningJobConfig"]
    assert config["Strategy"] == "Grid"
    assert config["ResourceLimits"]["MaxNumberOfTrainingJobs"] == 6


def test_local_channels_are_uploaded_to_the_default_bucket(
    boto_session: Any, moto_endpoint: str, source_dir: Path, tmp_path: Path
) -> None:
    train = tmp_path / "train"
    train.mkdir()
    (train / "images.gz").write_bytes(b"pixels")
    spec = make_spec(source_dir, "hpo-moto-data")
    spec.channels.train = str(train)
    spec.channels.test = "s3://my-bucket/mnist/test"
    boto3.client("s3").create_bucket(Bucket="my-bucket")  # the pre-flight checks read the channel
    boto3.client("s3").put_object(Bucket="my-bucket", Key="mnist/test/images.gz", Body=b"pixels")

    name = SageMakerBackend(boto_session=boto_session).launch(spec)

    bucket = "sagemaker-us-east-1-123456789012"
    key = f"{name}/data/train/images.gz"
    assert boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read() == b"pixels"
    definition = describe(name)["TrainingJobDefinition"]
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in definition["InputDataConfig"]}
    assert channels == {"train": f"s3://{bucket}/{name}/data/train", "test": "s3://my-bucket/mnist/test"}


def test_missing_local_channel_names_the_field(boto_session: Any, moto_endpoint: str, source_dir: Path, tmp_path: Path) -> None:
    spec = make_spec(source_dir, "hpo-moto-nodata")
    spec.channels.train = str(tmp_path / "nowhere")
    with pytest.raises(UserError, match=r"channels\.train: .*does not exist"):
        SageMakerBackend(boto_session=boto_session).launch(spec)
    assert boto3.client("sagemaker").list_hyper_parameter_tuning_jobs()["HyperParameterTuningJobSummaries"] == []


def test_launch_without_role_says_where_to_set_it(boto_session: Any, moto_endpoint: str, source_dir: Path) -> None:
    spec = make_spec(source_dir)
    spec.sagemaker.role_arn = None
    with pytest.raises(UserError, match="SAGEMAKER_ROLE_ARN"):
        SageMakerBackend(boto_session=boto_session).launch(spec)


def test_role_from_environment(moto_endpoint: str, source_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Also the default path: the backend's own session from the credential chain."""
    spec = make_spec(source_dir, "hpo-moto-envrole")
    spec.sagemaker.role_arn = None
    monkeypatch.setenv("SAGEMAKER_ROLE_ARN", "arn:aws:iam::123456789012:role/FromEnv")
    make_role(name="FromEnv")  # the pre-flight checks look the role up
    SageMakerBackend().launch(spec)
    assert describe("hpo-moto-envrole")["TrainingJobDefinition"]["RoleArn"].endswith("role/FromEnv")


def test_same_name_twice_is_a_clear_error(boto_session: Any, moto_endpoint: str, source_dir: Path) -> None:
    backend = SageMakerBackend(boto_session=boto_session)
    backend.launch(make_spec(source_dir, "hpo-moto-twice"))
    with pytest.raises(BackendError, match="already exists.*another tuning job name"):
        backend.launch(make_spec(source_dir, "hpo-moto-twice"))


def test_quota_error_names_the_quota(boto_session: Any, moto_endpoint: str, source_dir: Path) -> None:
    from botocore.awsrequest import AWSResponse

    session = boto_session
    quota = (
        "The account-level service limit 'ml.m5.xlarge for training job usage' is 0 Instances, with "
        "current utilization of 0 Instances and a request delta of 1 Instances."
    )

    def refuse(**_: Any) -> tuple[Any, dict[str, Any]]:
        return AWSResponse(None, 400, {}, None), {
            "Error": {"Code": "ResourceLimitExceeded", "Message": quota},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }

    session.events.register("before-call.sagemaker.CreateHyperParameterTuningJob", refuse)
    with pytest.raises(BackendError) as err:
        SageMakerBackend(boto_session=session).launch(make_spec(source_dir, "hpo-moto-quota"))
    text = str(err.value)
    assert "'ml.m5.xlarge for training job usage'" in text
    assert "Service Quotas" in text


def test_denied_bucket_creation_names_the_s3_action(boto_session: Any, moto_endpoint: str, source_dir: Path) -> None:
    from botocore.awsrequest import AWSResponse

    def deny(**_: Any) -> tuple[Any, dict[str, Any]]:
        return AWSResponse(None, 403, {}, None), {
            "Error": {"Code": "AccessDenied", "Message": "Access Denied"},
            "ResponseMetadata": {"HTTPStatusCode": 403},
        }

    boto_session.events.register("before-call.s3.CreateBucket", deny)
    with pytest.raises(BackendError, match=r"may not call s3:CreateBucket\."):
        SageMakerBackend(boto_session=boto_session).launch(make_spec(source_dir, "hpo-moto-denied"))
    assert boto3.client("sagemaker").list_hyper_parameter_tuning_jobs()["HyperParameterTuningJobSummaries"] == []


def test_timeout_after_aws_accepted_the_create_makes_no_duplicate(
    boto_session: Any, moto_endpoint: str, source_dir: Path
) -> None:
    from botocore.exceptions import ReadTimeoutError

    session = boto_session
    sent: list[str] = []
    session.events.register(
        "before-send.sagemaker.CreateHyperParameterTuningJob", lambda **_: sent.append("create")
    )

    def lose_response(**_: Any) -> None:
        if len(sent) == 1:  # AWS has the job; the client never hears back
            raise ReadTimeoutError(endpoint_url=moto_endpoint)

    session.events.register("after-call.sagemaker.CreateHyperParameterTuningJob", lose_response)
    backend = SageMakerBackend(boto_session=session)
    backend.launch_retry_delay = 0.0

    assert backend.launch(make_spec(source_dir, "hpo-moto-timeout")) == "hpo-moto-timeout"
    jobs = boto3.client("sagemaker").list_hyper_parameter_tuning_jobs()["HyperParameterTuningJobSummaries"]
    assert [j["HyperParameterTuningJobName"] for j in jobs] == ["hpo-moto-timeout"]
    assert sent == ["create"]  # confirmed by describe, not sent again


def test_connection_dropped_before_aws_saw_the_create_is_retried_once(
    boto_session: Any, moto_endpoint: str, source_dir: Path
) -> None:
    from botocore.exceptions import ConnectionClosedError

    session = boto_session
    attempts: list[int] = []

    def drop_first(**_: Any) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise ConnectionClosedError(endpoint_url=moto_endpoint)

    session.events.register("before-send.sagemaker.CreateHyperParameterTuningJob", drop_first)
    backend = SageMakerBackend(boto_session=session)
    backend.launch_retry_delay = 0.0

    backend.launch(make_spec(source_dir, "hpo-moto-dropped"))
    jobs = boto3.client("sagemaker").list_hyper_parameter_tuning_jobs()["HyperParameterTuningJobSummaries"]
    assert [j["HyperParameterTuningJobName"] for j in jobs] == ["hpo-moto-dropped"]
    assert len(attempts) == 2


def test_poll_reads_the_job_back_and_list_finds_it(boto_session: Any, moto_endpoint: str, source_dir: Path) -> None:
    backend = SageMakerBackend(boto_session=boto_session)
    backend.launch(make_spec(source_dir, "hpo-moto-older"))
    time.sleep(0.01)
    name = backend.launch(make_spec(source_dir, "hpo-moto-newer"))
    # moto has no ListTrainingJobsForHyperParameterTuningJob: answer it with a validated empty page.
    listed = answer_locally(
        backend.client("sagemaker"), "list_training_jobs_for_hyper_parameter_tuning_job", [{"TrainingJobSummaries": []}]
    )

    snap = backend.poll(name)

    job = snap.tuning_job
    assert (job.name, job.backend, job.strategy) == (name, "sagemaker", "Bayesian")
    assert (job.objective_name, job.objective_type) == ("Validation-accuracy", "Maximize")
    assert (job.max_jobs, job.max_parallel_jobs, job.max_epochs) == (9, 3, 50)
    assert job.tuned_parameters == ("optimizer", "learning_rate", "num_epoch")  # spec order
    # The launched ranges, for the search views' axes and the Optuna export's distributions.
    assert job.parameter_ranges == (
        ParameterRangeView("optimizer", "categorical", values=("sgd", "Adam")),
        ParameterRangeView("learning_rate", "continuous", 0.01, 0.2, "Auto"),
        ParameterRangeView("num_epoch", "integer", 10, 50, "Auto"),
    )
    assert job.status in {"InProgress", "Completed"}
    assert snap.training_jobs == () and snap.new_points == ()
    assert listed == [
        {"HyperParameterTuningJobName": name, "MaxResults": 100, "SortBy": "CreationTime", "SortOrder": "Ascending"}
    ]

    names = [j.name for j in backend.list_tuning_jobs()]
    assert names[:2] == ["hpo-moto-newer", "hpo-moto-older"]


def test_poll_of_unknown_job_says_so(boto_session: Any, moto_endpoint: str) -> None:
    from hpo_tui.backends.base import TuningJobNotFound

    with pytest.raises(TuningJobNotFound, match="No SageMaker tuning job named 'nope'.*--region"):
        SageMakerBackend(boto_session=boto_session).poll("nope")


def _summary(name: str, tuning: str, index: int) -> dict[str, Any]:
    from datetime import datetime, timezone

    return {
        "TrainingJobName": name,
        "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}",
        "TuningJobName": tuning,
        "CreationTime": datetime(2026, 11, 28, 12, 0, index, tzinfo=timezone.utc),
        "TrainingJobStatus": "InProgress",
        "TunedHyperParameters": {"learning_rate": "0.05", "num_epoch": "12", "optimizer": '"sgd"'},
        "ObjectiveStatus": "Pending",
    }


def _put(logs: Any, stream: str, messages: list[str]) -> None:
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName=LOG_GROUP,
        logStreamName=stream,
        logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(messages)],
    )


def test_log_events_become_per_epoch_points_exactly_once(boto_session: Any, moto_endpoint: str, source_dir: Path) -> None:
    backend = SageMakerBackend(boto_session=boto_session)
    name = backend.launch(make_spec(source_dir, "hpo-moto-logs"))
    jobs = [f"{name}-00{i}-{i:08x}" for i in (1, 2, 3)]
    answer_locally(
        backend.client("sagemaker"),
        "list_training_jobs_for_hyper_parameter_tuning_job",
        [{"TrainingJobSummaries": [_summary(j, name, i) for i, j in enumerate(jobs)]}] * 4,
    )
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName=LOG_GROUP)
    streams = {job: f"{job}/algo-1-1764331200" for job in jobs}
    for stream in streams.values():
        logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
    # Another tuning job whose name starts with ours: its streams match the prefix, not the job.
    decoy = f"{name}x-001-0000000a/algo-1-1764331200"
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=decoy)
    _put(logs, decoy, ["Epoch[0] Validation-accuracy=0.99"])

    def epoch_lines(epoch: int, acc: float) -> list[str]:
        return [
            f"Epoch[{epoch}] Batch [100]\tSpeed: 5000 samples/sec",
            f"Epoch[{epoch}] Train-accuracy={acc - 0.01:.4f}",
            f"Epoch[{epoch}] Validation-accuracy={acc:.4f}",
        ]

    for n, job in enumerate(jobs):
        _put(logs, streams[job], epoch_lines(0, 0.80 + n / 100) + epoch_lines(1, 0.90 + n / 100))
    first = backend.poll(name)
    time.sleep(0.005)  # later timestamps for the second batch
    for n, job in enumerate(jobs):
        _put(logs, streams[job], epoch_lines(2, 0.95 + n / 100))
    second = backend.poll(name, first.cursor)
    third = backend.poll(name, second.cursor)

    def key(p: MetricPoint) -> tuple[str, str, int, float]:
        return (p.job, p.metric, p.epoch, round(p.value, 4))

    expected_first = {(job, "Validation-accuracy", e, round(v + n / 100, 4)) for n, job in enumerate(jobs) for e, v in ((0, 0.80), (1, 0.90))}
    assert sorted(map(key, first.new_points)) == sorted(expected_first)
    assert sorted(map(key, second.new_points)) == sorted(
        (job, "Validation-accuracy", 2, round(0.95 + n / 100, 4)) for n, job in enumerate(jobs)
    )
    assert third.new_points == ()
    by_name = {j.name: j for j in third.training_jobs}
    assert by_name[jobs[2]].best_objective == pytest.approx(0.97)
    assert by_name[jobs[0]].last_epoch == 2
    # Running jobs: SageMaker has no final objective yet; the log's last value stands in.
    assert by_name[jobs[1]].final_objective == pytest.approx(0.96)
    assert by_name[jobs[1]].objective_status == "Pending"
    assert [j.launch_index for j in third.training_jobs] == [0, 1, 2]
    assert by_name[jobs[0]].hyperparameters == {"optimizer": "sgd", "learning_rate": "0.05", "num_epoch": "12"}

    # Polling again from an old cursor returns the same points again: cursors are values.
    again = backend.poll(name, first.cursor)
    assert sorted(map(key, again.new_points)) == sorted(map(key, second.new_points))


def test_log_tail_returns_new_lines_only(boto_session: Any, moto_endpoint: str) -> None:
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName=LOG_GROUP)
    job = "hpo-tail-001-0000abcd"
    stream = f"{job}/algo-1-1764331200"
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
    backend = SageMakerBackend(boto_session=boto_session)

    assert backend.log_tail("hpo-tail-002-ffffffff").lines == ()  # no stream yet
    _put(logs, stream, ["starting", "Epoch[0] Validation-accuracy=0.91"])
    first = backend.log_tail(job)
    assert first.lines == ("starting", "Epoch[0] Validation-accuracy=0.91")
    assert backend.log_tail(job, first.cursor).lines == ()
    _put(logs, stream, ["Epoch[1] Validation-accuracy=0.93"])
    assert backend.log_tail(job, first.cursor).lines == ("Epoch[1] Validation-accuracy=0.93",)


# -- defects of issue 10 ------------------------------------------------------------------------

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "999988887777"
DEFAULT_BUCKET = f"sagemaker-us-east-1-{ACCOUNT}"


def record_params(session: Any, event: str) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    session.events.register(f"provide-client-params.{event}", lambda params, **_: seen.append(dict(params)))
    return seen


def test_bucket_ownership_the_sdk_derives_the_default_bucket_and_checks_its_owner(
    boto_session: Any, moto_endpoint: str, source_dir: Path
) -> None:
    # With default_bucket= the SDK treated the bucket as the user's and sent no ExpectedBucketOwner.
    heads = record_params(boto_session, "s3.HeadBucket")
    puts = record_params(boto_session, "s3.PutObject")
    name = SageMakerBackend(boto_session=boto_session).launch(make_spec(source_dir, "hpo-moto-owner"))
    assert heads and all(h.get("ExpectedBucketOwner") == ACCOUNT for h in heads), heads
    assert puts and all(p.get("ExpectedBucketOwner") == ACCOUNT for p in puts), puts
    assert boto3.client("s3").head_object(Bucket=DEFAULT_BUCKET, Key=f"{name}/source/sourcedir.tar.gz")


def test_bucket_ownership_a_bucket_owned_by_another_account_is_refused(
    boto_session: Any, moto_endpoint: str, source_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Someone else pre-created sagemaker-{region}-{our account}. S3 (here: moto with
    # cross-account access off, as S3 is without a bucket policy) answers 403 to our HeadBucket.
    monkeypatch.setenv("MOTO_S3_ALLOW_CROSSACCOUNT_ACCESS", "false")
    squatter = boto3.client("s3")
    squatter.meta.events.register(
        "before-sign.s3.*", lambda request, **_: request.headers.__setitem__("x-moto-account-id", OTHER_ACCOUNT)
    )
    squatter.create_bucket(Bucket=DEFAULT_BUCKET)

    with pytest.raises(BackendError) as err:
        SageMakerBackend(boto_session=boto_session).launch(make_spec(source_dir, "hpo-moto-squat"))
    text = str(err.value)
    assert "s3:ListBucket" in text and "another AWS account" in text and "Nothing was uploaded" in text
    assert squatter.list_objects_v2(Bucket=DEFAULT_BUCKET).get("KeyCount", 0) == 0  # the code stayed home
    assert boto3.client("sagemaker").list_hyper_parameter_tuning_jobs()["HyperParameterTuningJobSummaries"] == []


def test_s3_source_dir_is_used_at_launch_not_the_bundled_training_dir(
    boto_session: Any, moto_endpoint: str, source_dir: Path
) -> None:
    code = "s3://code-bucket/mnist/sourcedir.tar.gz"
    spec = make_spec(source_dir, "hpo-moto-s3src")
    spec.estimator.source_dir = code
    name = SageMakerBackend(boto_session=boto_session).launch(spec)
    static = describe(name)["TrainingJobDefinition"]["StaticHyperParameters"]
    assert static["sagemaker_submit_directory"] == f'"{code}"'
    buckets = [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]]
    if DEFAULT_BUCKET in buckets:  # nothing of ours was uploaded
        assert boto3.client("s3").list_objects_v2(Bucket=DEFAULT_BUCKET).get("KeyCount", 0) == 0


def test_mistyped_local_source_dir_is_refused_not_replaced_by_the_bundled_one(
    boto_session: Any, moto_endpoint: str, source_dir: Path
) -> None:
    spec = make_spec(source_dir, "hpo-moto-typo")
    spec.estimator.source_dir = str(source_dir) + "-typo"
    with pytest.raises(UserError, match=r"estimator\.source_dir: .*typo.* does not exist"):
        SageMakerBackend(boto_session=boto_session).launch(spec)
    assert made_buckets() == []
    assert boto3.client("sagemaker").list_hyper_parameter_tuning_jobs()["HyperParameterTuningJobSummaries"] == []


def test_unknown_region_is_refused_before_anything_is_created(moto_endpoint: str, source_dir: Path) -> None:
    spec = make_spec(source_dir, "hpo-moto-region")
    with pytest.raises(BackendError, match=r"(?s)zz-north-1.*Nothing was created or uploaded"):
        SageMakerBackend(region="zz-north-1").launch(spec)
    assert made_buckets() == []


def test_throttled_get_caller_identity_at_launch_is_a_message(
    boto_session: Any, moto_endpoint: str, source_dir: Path
) -> None:
    from botocore.stub import Stubber

    backend = SageMakerBackend(boto_session=boto_session)
    with Stubber(backend.client("sts")) as sts:
        sts.add_client_error("get_caller_identity", "Throttling", "Rate exceeded", 400)
        with pytest.raises(BackendError, match=r"throttled on GetCallerIdentity.*Nothing was launched"):
            backend.launch(make_spec(source_dir, "hpo-moto-throttle"))
    assert made_buckets() == []


def test_warm_start_launch_sends_warm_start_config_and_checks_the_parents(
    boto_session: Any, moto_endpoint: str, source_dir: Path
) -> None:
    backend = SageMakerBackend(boto_session=boto_session)
    orphan = make_spec(source_dir, "hpo-moto-orphan")
    orphan.warm_start.parents = ["hpo-moto-nobody"]
    with pytest.raises(UserError, match=r"warm_start\.parents\[0\]: no SageMaker tuning job named 'hpo-moto-nobody'"):
        backend.launch(orphan)
    parent = backend.launch(make_spec(source_dir, "hpo-moto-parent"))
    assert describe(parent)["HyperParameterTuningJobStatus"] == "Completed"  # moto ends jobs at once
    child = make_spec(source_dir, "hpo-moto-child")
    child.warm_start.parents = [parent]
    child.warm_start.type = "TransferLearning"
    backend.launch(child)
    assert describe("hpo-moto-child")["WarmStartConfig"] == {
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": parent}],
        "WarmStartType": "TransferLearning",
    }


def test_head_bucket_403_is_a_denial_naming_s3_list_bucket_and_the_other_account(
    boto_session: Any, moto_endpoint: str, source_dir: Path
) -> None:
    # Was "AWS error on HeadBucket (403): Forbidden". HEAD has no body: S3 says only 403.
    from botocore.awsrequest import AWSResponse

    def forbid(**_: Any) -> tuple[Any, dict[str, Any]]:
        return AWSResponse(None, 403, {}, None), {
            "Error": {"Code": "403", "Message": "Forbidden"}, "ResponseMetadata": {"HTTPStatusCode": 403}}

    boto_session.events.register_first("before-call.s3.HeadBucket", forbid)
    with pytest.raises(BackendError) as err:
        SageMakerBackend(boto_session=boto_session).launch(make_spec(source_dir, "hpo-moto-head403"))
    text = str(err.value)
    assert "s3:ListBucket" in text and "belongs to another AWS account" in text and "(403" in text
    assert boto3.client("sagemaker").list_hyper_parameter_tuning_jobs()["HyperParameterTuningJobSummaries"] == []
