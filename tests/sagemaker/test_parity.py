"""Parity: the same training jobs read through the local backend and through the SageMaker
backend (fed by Stubber and CloudWatch log events) give the same views and metric points.

A real local tuning job runs tests/engine/fake_train.py. What SageMaker would report for those
jobs (names, statuses, hyperparameters as the SDK encodes them, final objectives, failure
reasons, and each job's log lines as CloudWatch events) is then served to SageMakerBackend.

Fields that legitimately differ, and are compared apart:
- times (created/started/ended): the SageMaker API has millisecond precision -> within 1 ms;
- MetricPoint.timestamp: local = when the runner read the line, SageMaker = the log event's
  time -> not compared; job, metric, epoch and value are;
- TrainingJobView.billable_seconds / instance_hours: SageMaker's bill; the local engine has none;
- TrainingJobView.objective_from_log: SageMaker marks a final objective it did not report
  itself (read from the log); the local engine's values are its own;
- TuningJobView.backend ("local"/"sagemaker"), and tuned_parameters order for a tuning job
  this process did not launch (DescribeHyperParameterTuningJob groups ranges by type).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from hpo_tui.views import Snapshot, TrainingJobView
from hpo_tui.backends.local import LocalBackend
from hpo_tui.backends.sagemaker import SageMakerBackend, filter_pattern
from hpo_tui.spec import CategoricalParameter, Channels, Estimator, MetricDefinition, TuningSpec
from tests.conftest import processes_with_home
from tests.engine.conftest import FAKE_TRAIN

NAME = "parity-grid"


@pytest.fixture()
def local_run(hpo_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A finished local Grid tuning job over fake_train.py (one configuration fails at epoch 2)."""
    monkeypatch.setenv("HPO_TUI_STOP_GRACE", "1")
    for channel in ("train", "test"):
        (tmp_path / "channels" / channel).mkdir(parents=True)
    spec = TuningSpec(
        estimator=Estimator(
            entry_point=FAKE_TRAIN.name,
            source_dir=str(FAKE_TRAIN.parent),
            hyperparameters={"num_epoch": 3, "fail_at": 2, "learning_rate": 0.05},
            base_job_name="parity",
        ),
        ranges={"optimizer": CategoricalParameter(["sgd", "Adam"]), "fail_exit": CategoricalParameter(["0", "3"])},
        metric_definitions=[
            MetricDefinition("Validation-accuracy", r"Validation-accuracy=([0-9\.]+)"),
            MetricDefinition("Train-accuracy", r"Train-accuracy=([0-9\.]+)"),
        ],
        strategy="Grid",
        max_jobs=None,
        max_parallel_jobs=2,
        channels=Channels(train=str(tmp_path / "channels" / "train"), test=str(tmp_path / "channels" / "test")),
        tuning_job_name=NAME,
    )
    backend = LocalBackend()
    try:
        backend.launch(spec)
        deadline = time.monotonic() + 120
        while not (snap := backend.poll(NAME)).tuning_job.is_terminal:
            assert time.monotonic() < deadline, f"local tuning job did not finish: {snap.tuning_job}"
            time.sleep(0.1)
        logs = {job.name: backend.log_tail(job.name).lines for job in snap.training_jobs}
        yield spec, snap, logs
    finally:
        backend.close()
        for pid in processes_with_home(hpo_home):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _ms(t: float | None) -> datetime | None:
    return None if t is None else datetime.fromtimestamp(round(t, 3), tz=timezone.utc)


def sagemaker_summary(job: TrainingJobView, spec: TuningSpec) -> dict[str, Any]:
    """The HyperParameterTrainingJobSummary SageMaker would list for this job."""
    summary: dict[str, Any] = {
        "TrainingJobName": job.name,
        "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{job.name}",
        "TuningJobName": NAME,
        "CreationTime": _ms(job.created_at),
        "TrainingJobStatus": job.status,
        # The SDK JSON-encodes categorical values for framework estimators such as MXNet.
        "TunedHyperParameters": {
            k: f'"{v}"' if isinstance(spec.ranges[k], CategoricalParameter) else v
            for k, v in job.hyperparameters.items()
        },
        "ObjectiveStatus": job.objective_status,
    }
    if job.started_at is not None:
        summary["TrainingStartTime"] = _ms(job.started_at)
    if job.ended_at is not None:
        summary["TrainingEndTime"] = _ms(job.ended_at)
    if job.failure_reason:
        summary["FailureReason"] = job.failure_reason
    if job.final_objective is not None and job.objective_status == "Succeeded":
        # SageMaker reports it for jobs whose objective succeeded; the others' come from the log.
        summary["FinalHyperParameterTuningJobObjectiveMetric"] = {
            "Type": spec.objective.type,
            "MetricName": spec.objective.name,
            "Value": job.final_objective,
        }
    return summary


def sagemaker_describe(local: Snapshot, spec: TuningSpec) -> dict[str, Any]:
    tj = local.tuning_job
    c, o = tj.status_counters, tj.objective_counters
    response: dict[str, Any] = {
        "HyperParameterTuningJobName": NAME,
        "HyperParameterTuningJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/{NAME}",
        "HyperParameterTuningJobConfig": {
            "Strategy": tj.strategy,
            "HyperParameterTuningJobObjective": {"Type": tj.objective_type, "MetricName": tj.objective_name},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": tj.max_jobs, "MaxParallelTrainingJobs": tj.max_parallel_jobs},
            "ParameterRanges": {
                "CategoricalParameterRanges": [
                    {"Name": n, "Values": [f'"{v}"' for v in p.values]} for n, p in spec.ranges.items()
                ]
            },
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {k: str(v) for k, v in spec.estimator.hyperparameters.items()},
            "AlgorithmSpecification": {
                "TrainingInputMode": "File",
                "MetricDefinitions": [{"Name": m.name, "Regex": m.regex} for m in spec.metric_definitions],
            },
            "RoleArn": "arn:aws:iam::123456789012:role/SageMakerTuning",
            "OutputDataConfig": {"S3OutputPath": "s3://bucket/"},
            "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        },
        "HyperParameterTuningJobStatus": tj.status,
        "CreationTime": _ms(tj.created_at),
        "TrainingJobStatusCounters": {
            "Completed": c.completed,
            "InProgress": c.in_progress,
            "RetryableError": c.retryable_error,
            "NonRetryableError": c.non_retryable_error,
            "Stopped": c.stopped,
        },
        "ObjectiveStatusCounters": {"Succeeded": o.succeeded, "Pending": o.pending, "Failed": o.failed},
    }
    if tj.ended_at is not None:
        response["HyperParameterTuningEndTime"] = _ms(tj.ended_at)
    if tj.failure_reason:
        response["FailureReason"] = tj.failure_reason
    if tj.best_training_job:
        best = next(j for j in local.training_jobs if j.name == tj.best_training_job)
        response["BestTrainingJob"] = sagemaker_summary(best, spec)
    return response


def log_events(local: Snapshot, logs: dict[str, tuple[str, ...]], pattern: str | None) -> list[dict[str, Any]]:
    """Each job's log lines as CloudWatch events, filtered as the filter pattern would."""
    terms = [t.strip('?"') for t in pattern.split()] if pattern else []
    events = []
    for job in local.training_jobs:
        base = int(round((job.started_at or job.created_at or 0) * 1000))
        stream = f"{job.name}/algo-1-{base // 1000}"
        for n, line in enumerate(logs[job.name]):
            if terms and not any(t in line for t in terms):
                continue
            events.append(
                {
                    "logStreamName": stream,
                    "timestamp": base + n,
                    "message": line,
                    "ingestionTime": base + n + 200,
                    "eventId": f"{base + n:020d}{len(events):016d}",
                }
            )
    return sorted(events, key=lambda e: e["timestamp"])


def _without_times(job: TrainingJobView) -> TrainingJobView:
    return dataclasses.replace(job, created_at=None, started_at=None, ended_at=None, objective_from_log=False,
                               billable_seconds=None, instance_hours=None)


def test_local_and_sagemaker_backends_give_the_same_views(boto_session: Any, local_run: Any, fake_aws: None) -> None:
    spec, local, logs = local_run
    assert len(local.training_jobs) == 4
    assert {j.status for j in local.training_jobs} == {"Completed", "Failed"}  # both paths exercised
    assert local.new_points, "the local run produced metric points"

    backend = SageMakerBackend(boto_session=boto_session)
    definitions = [(m.name, m.regex) for m in spec.metric_definitions]
    pattern = filter_pattern(definitions)
    with Stubber(backend.client("sagemaker")) as sm, Stubber(backend.client("logs")) as cw:
        sm.add_response("describe_hyper_parameter_tuning_job", sagemaker_describe(local, spec), {"HyperParameterTuningJobName": NAME})
        sm.add_response(
            "list_training_jobs_for_hyper_parameter_tuning_job",
            {"TrainingJobSummaries": [sagemaker_summary(j, spec) for j in local.training_jobs]},
            None,
        )
        cw.add_response("filter_log_events", {"events": log_events(local, logs, pattern)}, None)
        remote = backend.poll(NAME)

    # Training jobs: identical, times to the millisecond.
    assert [_without_times(j) for j in remote.training_jobs] == [_without_times(j) for j in local.training_jobs]
    for r, lo in zip(remote.training_jobs, local.training_jobs):
        for field in ("created_at", "started_at", "ended_at"):
            a, b = getattr(r, field), getattr(lo, field)
            assert (a is None) == (b is None) and (a is None or abs(a - b) <= 1e-3), (r.name, field, a, b)

    # Metric points: the same (job, metric, epoch, value), each once.
    def key(points: tuple[Any, ...]) -> list[tuple[str, str, int, float]]:
        return sorted((p.job, p.metric, p.epoch, p.value) for p in points)

    assert key(remote.new_points) == key(local.new_points)

    # The tuning job, apart from the backend label and the ranges' order.
    def comparable(view: Any) -> Any:
        return dataclasses.replace(
            view, backend="", tuned_parameters=tuple(sorted(view.tuned_parameters)), created_at=None, ended_at=None,
            region=None,  # SageMaker's region, for console links
            job_slots=None, cores=None,  # the local engine's own cap on jobs at once (issue 15)
            machine_slots=None, slot_users=(),  # and the machine's slots it shares (issue 25)
        )

    assert comparable(remote.tuning_job) == comparable(local.tuning_job)
