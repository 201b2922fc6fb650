"""The SageMaker commands end to end (launch, jobs, status, logs --follow, stop) against the
moto server on 127.0.0.1 (botocore Stubber, or validated local answers, for what moto lacks):
stop first, paging, throttling and denied reads as messages, per-stream log cursors, the
README's IAM policy."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from hpo_tui.backends.base import BackendError
from hpo_tui.backends.sagemaker import LOG_GROUP, SageMakerBackend, filter_pattern
from hpo_tui.cli import main
from hpo_tui.report import render_status
from hpo_tui.spec import TuningSpec, render_request, save_spec
from tests.sagemaker.conftest import answer_locally, answer_on_session, make_spec, no_traceback, record_calls
from tests.sagemaker.stubs import T0, describe_response, log_event, pages, training_summary

ROLE = "arn:aws:iam::123456789012:role/SageMakerTuning"


def deny(session: Any, event: str, code: str = "AccessDeniedException", status: int = 400) -> None:
    from botocore.awsrequest import AWSResponse

    def refuse(**_: Any) -> tuple[Any, dict[str, Any]]:
        message = f"User is not authorized to perform: logs:FilterLogEvents ({code})"
        return AWSResponse(None, status, {}, None), {
            "Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}

    session.events.register_first(f"before-call.{event}", refuse)


# -- stop ---------------------------------------------------------------------------------------


def test_stop_sends_stop_first_then_one_describe_even_when_the_log_read_is_denied(
    cli_session: Any, moto_endpoint: str, source_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = SageMakerBackend(boto_session=cli_session).launch(make_spec(source_dir, "hpo-stop-first"))
    # moto lacks these two; the log read would be refused (what broke the old poll-first stop).
    listed = answer_on_session(cli_session, "sagemaker", "ListTrainingJobsForHyperParameterTuningJob",
                               [pages(name, [training_summary(name, 0, status="InProgress")])[0][0]] * 3)
    stops = answer_on_session(cli_session, "sagemaker", "StopHyperParameterTuningJob", [{}])
    deny(cli_session, "cloudwatch-logs.FilterLogEvents")
    calls = record_calls(cli_session)

    assert main(["stop", name, "--backend", "sagemaker"]) == 0
    out, err = capsys.readouterr()
    no_traceback(out + err)
    assert stops == [{"HyperParameterTuningJobName": name}]
    assert calls == ["StopHyperParameterTuningJob", "DescribeHyperParameterTuningJob"]
    assert listed == []
    assert f"tuning job {name}:" in out


def test_stop_of_an_ended_job_says_nothing_to_stop(stubbed: Any) -> None:
    backend, sm, _ = stubbed
    sm.add_client_error("stop_hyper_parameter_tuning_job", "ValidationException",
                        "The tuning job has already been completed.", 400)
    assert backend.stop("hpo-done") is False


# -- jobs: throttling, paging, filters ------------------------------------------------------------


def test_throttling_in_jobs_is_a_message_not_a_traceback(stubbed: Any) -> None:
    from hpo_tui.errors import UserError

    backend, sm, _ = stubbed
    sm.add_client_error("list_hyper_parameter_tuning_jobs", "ThrottlingException", "Rate exceeded", 400)
    with pytest.raises(BackendError, match=r"Could not list the tuning jobs: throttled.*Try again") as err:
        backend.list_tuning_jobs()
    assert isinstance(err.value, UserError)  # the CLI prints it and exits 1


def test_jobs_pages_past_100_with_name_contains_and_status(
    moto_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    client = boto3.client("sagemaker")
    for i in range(105):
        spec = TuningSpec(backend="sagemaker")
        client.create_hyper_parameter_tuning_job(**render_request(spec, job_name=f"page-{i:03d}", role_arn=ROLE))
    calls = record_calls(boto3.DEFAULT_SESSION or boto3.Session())
    del calls  # the CLI makes its own session; counted by rows below

    assert main(["jobs", "--backend", "sagemaker"]) == 0
    out, err = capsys.readouterr()
    no_traceback(out + err)
    rows = [line for line in out.splitlines() if line.startswith("page-")]
    assert len(rows) == 105  # two pages

    assert main(["jobs", "--backend", "sagemaker", "--name-contains", "page-07"]) == 0
    rows = [line.split()[0] for line in capsys.readouterr().out.splitlines() if line.startswith("page-")]
    assert sorted(rows) == [f"page-{i:03d}" for i in range(70, 80)]

    status = client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="page-000")[
        "HyperParameterTuningJobStatus"]
    other = "Failed" if status != "Failed" else "Completed"
    assert main(["jobs", "--backend", "sagemaker", "--status", other]) == 0
    assert "match the filters" in capsys.readouterr().out
    assert main(["jobs", "--backend", "sagemaker", "--status", status, "--name-contains", "page-10"]) == 0
    rows = [line.split()[0] for line in capsys.readouterr().out.splitlines() if line.startswith("page-")]
    assert sorted(rows) == [f"page-{i:03d}" for i in range(100, 105)]


# -- moto end to end ---------------------------------------------------------------------------------


def test_moto_end_to_end_launch_jobs_status_stop_print_no_traceback_and_exit_0(
    cli_session: Any, moto_endpoint: str, source_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = make_spec(source_dir, "hpo-e2e")
    spec.sagemaker.price_per_hour = 0.23
    path = save_spec(spec, tmp_path / "tuning.toml")
    assert main(["launch", str(path)]) == 0
    out, err = capsys.readouterr()
    no_traceback(out + err)
    assert "launched tuning job hpo-e2e on the sagemaker backend" in out

    summaries = [
        training_summary("hpo-e2e", 0, objective=0.97, objective_status="Succeeded"),
        training_summary("hpo-e2e", 1, status="InProgress"),
    ]
    answer_on_session(cli_session, "sagemaker", "ListTrainingJobsForHyperParameterTuningJob",
                      [{"TrainingJobSummaries": summaries}] * 3)
    answer_on_session(cli_session, "sagemaker", "StopHyperParameterTuningJob", [{}])
    answer_on_session(cli_session, "sagemaker", "DescribeTrainingJob", [{  # moto has none of them
        "TrainingJobName": summaries[1]["TrainingJobName"],
        "TrainingJobArn": summaries[1]["TrainingJobArn"],
        "ModelArtifacts": {"S3ModelArtifacts": "s3://bucket/model.tar.gz"},
        "TrainingJobStatus": "InProgress",
        "SecondaryStatus": "Downloading",
        "AlgorithmSpecification": {"TrainingInputMode": "File", "TrainingImage": "mxnet-training:1.9.0-cpu-py38"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        "CreationTime": T0,
    }] * 2)

    assert main(["jobs", "--backend", "sagemaker"]) == 0
    out, err = capsys.readouterr()
    no_traceback(out + err)
    assert "hpo-e2e" in out

    assert main(["status", "hpo-e2e", "--backend", "sagemaker"]) == 0
    out, err = capsys.readouterr()
    no_traceback(out + err)
    assert "hpo-e2e-001-00000000" in out and "0.97" in out
    assert "InProgress (Downloading)" in out  # SecondaryStatus of the running job
    assert "cost         billed" in out

    assert main(["status", "hpo-e2e", "--backend", "sagemaker", "--links", "--price-per-hour", "0.5"]) == 0
    out, err = capsys.readouterr()
    no_traceback(out + err)
    assert "at $0.5/instance-hour" in out
    job = summaries[0]["TrainingJobName"]
    assert f"{job}  logs: https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:" in out
    assert f"{job}  console: https://console.aws.amazon.com/sagemaker/home?region=us-east-1#/jobs/{job}" in out
    assert "console.aws.amazon.com/sagemaker/home?region=us-east-1#/hyper-tuning-jobs/hpo-e2e" in out

    assert main(["stop", "hpo-e2e", "--backend", "sagemaker"]) == 0
    out, err = capsys.readouterr()
    no_traceback(out + err)
    assert "tuning job hpo-e2e:" in out


# -- logs -------------------------------------------------------------------------------------------


def test_regex_with_top_level_alternation_keeps_every_alternative_in_the_filter_pattern() -> None:
    # Was ?"Validation-accuracy" only: the val_acc lines never reached the extractor.
    definitions = [("acc", r"Validation-accuracy=([0-9.]+)|val_acc: ([0-9.]+)")]
    assert filter_pattern(definitions) == '?"Validation-accuracy" ?"val_acc"'
    assert filter_pattern([("x", r"(?:a|b)=([0-9]+)")]) is None  # no literal prefix: read every line
    assert filter_pattern([("x", r"loss=([0-9.]+)|[ab]=([0-9]+)")]) is None
    assert filter_pattern([("x", r"loss\|x=([0-9.]+)")]) == '?"loss|x"'  # an escaped | is text


def _summary(name: str, tuning: str, index: int) -> dict[str, Any]:
    from datetime import datetime, timezone

    return {
        "TrainingJobName": name,
        "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}",
        "TuningJobName": tuning,
        "CreationTime": datetime.fromtimestamp(time.time() - 3600 + index, tz=timezone.utc),
        "TrainingJobStatus": "InProgress",
        "TunedHyperParameters": {"learning_rate": "0.05", "num_epoch": "12", "optimizer": '"sgd"'},
        "ObjectiveStatus": "Pending",
    }


def test_per_stream_cursors_read_events_ingested_after_another_stream_moved_ahead(
    boto_session: Any, moto_endpoint: str, source_dir: Path
) -> None:
    backend = SageMakerBackend(boto_session=boto_session)
    name = backend.launch(make_spec(source_dir, "hpo-late"))
    jobs = [f"{name}-00{i}-{i:08x}" for i in (1, 2)]
    answer_locally(backend.client("sagemaker"), "list_training_jobs_for_hyper_parameter_tuning_job",
                   [{"TrainingJobSummaries": [_summary(j, name, i) for i, j in enumerate(jobs)]}] * 3)
    answer_locally(backend.client("sagemaker"), "describe_training_job", [])
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName=LOG_GROUP)
    streams = [f"{job}/algo-1-1764331200" for job in jobs]
    for stream in streams:
        logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
    now = int(time.time() * 1000)

    def put(stream: str, at: int, line: str) -> None:
        logs.put_log_events(logGroupName=LOG_GROUP, logStreamName=stream, logEvents=[{"timestamp": at, "message": line}])

    put(streams[0], now, "Epoch[3] Validation-accuracy=0.93")  # job 1 is ahead
    put(streams[1], now - 300_000, "Epoch[0] Validation-accuracy=0.80")  # job 2's log lags 5 minutes
    first = backend.poll(name)
    # Job 2's next line, written 150 s before job 1's newest event, arrives only now: a shared
    # cursor 120 s behind the newest event of any stream has already moved past it.
    put(streams[1], now - 150_000, "Epoch[1] Validation-accuracy=0.85")
    second = backend.poll(name, first.cursor)
    assert sorted((p.job, p.epoch) for p in first.new_points) == [(jobs[0], 3), (jobs[1], 0)]
    assert [(p.job, p.epoch, p.value) for p in second.new_points] == [(jobs[1], 1, 0.85)]
    assert backend.poll(name, second.cursor).new_points == ()


def test_logs_follow_asks_one_describe_training_job_not_the_whole_tuning_job(
    cli_session: Any, moto_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    job = "hpo-follow-001-0000abcd"
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName=LOG_GROUP)
    stream = f"{job}/algo-1-1764331200"
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
    logs.put_log_events(logGroupName=LOG_GROUP, logStreamName=stream,
                        logEvents=[{"timestamp": int(time.time() * 1000), "message": "Epoch[0] Validation-accuracy=0.9"}])
    described = answer_on_session(cli_session, "sagemaker", "DescribeTrainingJob", [{
        "TrainingJobName": job,
        "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{job}",
        "ModelArtifacts": {"S3ModelArtifacts": "s3://bucket/model.tar.gz"},
        "TrainingJobStatus": "Completed",
        "SecondaryStatus": "Completed",
        "AlgorithmSpecification": {"TrainingInputMode": "File", "TrainingImage": "mxnet-training:1.9.0-cpu-py38"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        "CreationTime": T0,
    }])
    calls = record_calls(cli_session)
    assert main(["logs", job, "--follow", "--backend", "sagemaker"]) == 0
    out, err = capsys.readouterr()
    no_traceback(out + err)
    assert "Epoch[0] Validation-accuracy=0.9" in out
    assert described == [{"TrainingJobName": job}]
    assert "DescribeHyperParameterTuningJob" not in calls
    assert calls.count("DescribeTrainingJob") == 1


def test_logs_follow_goes_on_through_a_throttled_status_read(stubbed: Any) -> None:
    backend, sm, _ = stubbed
    sm.add_client_error("describe_training_job", "ThrottlingException", "Rate exceeded", 400)
    sm.add_client_error("describe_training_job", "ValidationException", "Requested resource not found.", 400)
    assert backend.training_job_status("hpo-x-001-00000000") == ""  # unknown this time: keep following
    assert backend.training_job_status("hpo-x-001-00000000") is None  # no such job: stop


# -- attach: deleting, provenance of the final objective ----------------------------------------


def test_deleting_and_delete_failed_tuning_jobs_end_launch_wait(stubbed: Any) -> None:
    import io

    from hpo_tui.commands.jobs import wait_and_report

    backend, sm, _ = stubbed
    for status in ("Deleting", "DeleteFailed"):
        response = describe_response("hpo-del")
        response["HyperParameterTuningJobStatus"] = status
        sm.add_response("describe_hyper_parameter_tuning_job", response, {"HyperParameterTuningJobName": "hpo-del"})
        sm.add_response("list_training_jobs_for_hyper_parameter_tuning_job", {"TrainingJobSummaries": []}, None)
        out = io.StringIO()
        assert wait_and_report(backend, "hpo-del", out) == status  # one poll, no endless wait
        assert status in out.getvalue()


def test_final_objective_sagemaker_did_not_report_is_not_shown_as_sagemakers(stubbed: Any) -> None:
    backend, sm, logs = stubbed
    name = "hpo-prov"
    done = training_summary(name, 0, objective=0.91, objective_status="Succeeded")
    failed = training_summary(name, 1, status="Failed", objective_status="Failed", failure_reason="AlgorithmError")
    sm.add_response("describe_hyper_parameter_tuning_job", describe_response(name), {"HyperParameterTuningJobName": name})
    sm.add_response("list_training_jobs_for_hyper_parameter_tuning_job", {"TrainingJobSummaries": [done, failed]}, None)
    base = int(T0.timestamp() * 1000) + 120_000
    events = [log_event(f"{job['TrainingJobName']}/algo-1-1764331200", n, f"Epoch[1] Validation-accuracy={v}", base + n)
              for n, (job, v) in enumerate(((done, "0.91"), (failed, "0.77")))]
    logs.add_response("filter_log_events", {"events": events}, None)
    snap = backend.poll(name)
    by_name = {j.name: j for j in snap.training_jobs}
    assert by_name[done["TrainingJobName"]].objective_from_log is False
    assert by_name[failed["TrainingJobName"]].final_objective == pytest.approx(0.77)
    assert by_name[failed["TrainingJobName"]].objective_from_log is True
    text = render_status(snap)
    assert "0.77 (log)" in text and "0.91 (log)" not in text


# -- README's IAM policy --------------------------------------------------------------------------


def test_readme_iam_policy_is_trimmed_and_partition_aware() -> None:
    import json
    import re

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### The smallest IAM policy to launch and watch", 1)[1]
    policy = json.loads(re.search(r"```json\n(.*?)\n```", section, re.DOTALL).group(1))
    actions = {a for st in policy["Statement"] for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])}
    resources = [r for st in policy["Statement"] for r in ([st["Resource"]] if isinstance(st["Resource"], str) else st["Resource"])]
    assert "s3:ListAllMyBuckets" not in actions  # boto3 ignores its denial
    assert all(r == "*" or r.startswith("arn:PARTITION:") for r in resources), resources  # no hard-coded arn:aws:
    # Every call the backend makes while launching and watching is allowed.
    for action in ("sagemaker:CreateHyperParameterTuningJob", "sagemaker:DescribeHyperParameterTuningJob",
                   "sagemaker:StopHyperParameterTuningJob", "sagemaker:ListHyperParameterTuningJobs",
                   "sagemaker:ListTrainingJobsForHyperParameterTuningJob", "sagemaker:DescribeTrainingJob",
                   "iam:PassRole", "s3:CreateBucket", "s3:ListBucket", "s3:PutObject", "logs:FilterLogEvents",
                   "logs:DescribeLogStreams", "logs:GetLogEvents"):
        assert action in actions, action


def test_denied_describe_training_job_keeps_the_poll_and_says_what_is_missing(stubbed: Any) -> None:
    backend, sm, logs = stubbed
    name = "hpo-nodtj"
    sm.add_response("describe_hyper_parameter_tuning_job", describe_response(name), {"HyperParameterTuningJobName": name})
    sm.add_response("list_training_jobs_for_hyper_parameter_tuning_job",
                    {"TrainingJobSummaries": [training_summary(name, i, status="InProgress") for i in range(2)]}, None)
    logs.add_response("filter_log_events", {"events": []}, None)
    sm.add_client_error("describe_training_job", "AccessDeniedException",
                        "User is not authorized to perform: sagemaker:DescribeTrainingJob", 400)
    snap = backend.poll(name)  # one denial, no second try in the same poll
    assert len(snap.training_jobs) == 2 and all(j.secondary_status is None for j in snap.training_jobs)
    assert snap.warning and "sagemaker:DescribeTrainingJob" in snap.warning and "SecondaryStatus" in snap.warning


def test_a_job_that_failed_before_training_stops_holding_the_log_query_back(stubbed: Any) -> None:
    # No TrainingEndTime: it counts as ended when first seen, and is read no more 5 minutes later.
    from hpo_tui.backends.sagemaker.logs import LOG_SETTLE_MS

    backend, sm, logs = stubbed
    name = "hpo-early-fail"
    failed = training_summary(name, 0, status="Failed", objective_status="Failed", failure_reason="CapacityError")
    del failed["TrainingEndTime"], failed["TrainingStartTime"]
    running = training_summary(name, 1, status="InProgress")
    log_params = {"logGroupName": LOG_GROUP, "logStreamNamePrefix": name,
                  "filterPattern": '?"Validation-accuracy" ?"Train-accuracy"'}
    from_failed = {**log_params, "startTime": int(failed["CreationTime"].timestamp() * 1000)}
    from_running = {**log_params, "startTime": int(running["CreationTime"].timestamp() * 1000)}
    for expected in (from_failed, from_failed, from_running):
        sm.add_response("describe_hyper_parameter_tuning_job", describe_response(name), {"HyperParameterTuningJobName": name})
        sm.add_response("list_training_jobs_for_hyper_parameter_tuning_job",
                        {"TrainingJobSummaries": [failed, running]}, None)
        logs.add_response("filter_log_events", {"events": []}, expected)
    first = backend.poll(name)
    cursor = first.cursor
    cursor.ended_seen[failed["TrainingJobName"]] -= LOG_SETTLE_MS  # as if first seen 5 minutes ago
    second = backend.poll(name, cursor)  # one last read of its log, then it is settled
    backend.poll(name, second.cursor)  # the query starts at the running job's creation
