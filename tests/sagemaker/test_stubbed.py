"""Operations moto lacks, through botocore's Stubber (responses validated against the service
model): a 250-job tuning job, throttling, error messages, idempotent stop."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber

from hpo_tui.backends.base import BackendError, TuningJobNotFound
from hpo_tui.views import FAILURE_REASON_MAX
from hpo_tui.backends.sagemaker import LOG_GROUP, MAX_INTERVAL, AwsUnavailable, SageMakerBackend
from tests.sagemaker.stubs import (
    T0,
    describe_response,
    list_params,
    log_event,
    no_log_events,
    pages,
    training_summary,
)

NAME = "hpo-stubbed"
T0_MS = int(T0.timestamp() * 1000)
LOG_PARAMS = {
    "logGroupName": LOG_GROUP,
    "logStreamNamePrefix": NAME,
    "startTime": T0_MS,
    "filterPattern": '?"Validation-accuracy" ?"Train-accuracy"',
}


@pytest.fixture()
def backend(boto_session: Any) -> SageMakerBackend:
    return SageMakerBackend(boto_session=boto_session)


@pytest.fixture()
def stubs(backend: SageMakerBackend) -> Iterator[tuple[Stubber, Stubber]]:
    sm, logs = Stubber(backend.client("sagemaker")), Stubber(backend.client("logs"))
    with sm, logs:
        yield sm, logs
        sm.assert_no_pending_responses()
        logs.assert_no_pending_responses()


def add_pages(sm: Stubber, summaries: list[dict[str, Any]], name: str = NAME) -> None:
    for response, params in pages(name, summaries):
        sm.add_response("list_training_jobs_for_hyper_parameter_tuning_job", response, params)


def describe_params(name: str = NAME) -> dict[str, str]:
    return {"HyperParameterTuningJobName": name}


def test_250_training_jobs_over_three_pages_map_to_views(backend: SageMakerBackend, stubs: Any) -> None:
    sm, logs = stubs
    long_reason = "AlgorithmError: ExecuteUserScriptError:\n" + "Traceback line\n" * 300
    summaries = []
    for i in range(250):
        kind = i % 5
        if kind == 0:
            s = training_summary(NAME, i, objective=0.9 + i / 10_000, objective_status="Succeeded")
        elif kind == 1:
            s = training_summary(NAME, i, status="InProgress")
        elif kind == 2:
            s = training_summary(NAME, i, status="Failed", objective_status="Failed", failure_reason=long_reason)
        elif kind == 3:
            s = training_summary(NAME, i, status="Stopped", objective=0.5, objective_status="Succeeded")
        else:
            s = training_summary(
                NAME, i, status="Failed", objective_status="Failed", failure_reason="ClientError: no objective"
            )
        summaries.append(s)
    summaries[0]["TunedHyperParameters"] = {
        "learning_rate": "0.0512",
        "num_epoch": "12",
        "optimizer": '"Adam"',
        "_tuning_objective_metric": '"Validation-accuracy"',
        "sagemaker_estimator_class_name": '"MXNet"',
    }
    best = summaries[245]
    sm.add_response(
        "describe_hyper_parameter_tuning_job",
        describe_response(
            NAME,
            counters={"Completed": 50, "InProgress": 50, "NonRetryableError": 100, "Stopped": 50},
            best={k: v for k, v in best.items() if k != "TuningJobName"},
            max_jobs=250,
        ),
        describe_params(),
    )
    # AWS pages come sorted; shuffle inside pages so launch order must come from CreationTime.
    shuffled = [p for chunk in range(0, 250, 100) for p in random.Random(chunk).sample(summaries[chunk : chunk + 100], len(summaries[chunk : chunk + 100]))]
    add_pages(sm, shuffled)
    logs.add_response("filter_log_events", no_log_events(), LOG_PARAMS)

    snap = backend.poll(NAME)

    job = snap.tuning_job
    assert (job.status, job.max_jobs, job.max_parallel_jobs) == ("InProgress", 250, 10)
    assert job.status_counters.finished == 200 and job.status_counters.in_progress == 50
    assert job.best_training_job == best["TrainingJobName"]
    assert job.best_objective == pytest.approx(0.9245)
    assert set(job.tuned_parameters) == {"optimizer", "learning_rate", "num_epoch"}
    assert job.max_epochs == 50
    views = snap.training_jobs
    assert len(views) == 250
    assert [v.name for v in views] == [s["TrainingJobName"] for s in summaries]
    assert [v.launch_index for v in views] == list(range(250))
    first = views[0]
    assert first.hyperparameters == {"learning_rate": "0.0512", "num_epoch": "12", "optimizer": "Adam"}
    assert all(isinstance(v, str) for view in views for v in view.hyperparameters.values())
    assert views[1].hyperparameters["num_epoch"] == "11"
    assert (first.status, first.objective_status, first.final_objective) == ("Completed", "Succeeded", 0.9)
    running = views[1]
    assert (running.status, running.objective_status, running.final_objective, running.ended_at) == (
        "InProgress",
        "Pending",
        None,
        None,
    )
    failed = views[2]
    assert (failed.status, failed.objective_status, failed.final_objective) == ("Failed", "Failed", None)
    assert failed.failure_reason is not None and len(failed.failure_reason) == FAILURE_REASON_MAX
    assert failed.failure_reason.startswith("AlgorithmError: ExecuteUserScriptError:")
    stopped = views[3]
    assert (stopped.status, stopped.objective_status, stopped.final_objective) == ("Stopped", "Succeeded", 0.5)
    assert views[4].failure_reason == "ClientError: no objective"
    assert first.created_at == T0.timestamp() and first.started_at == T0.timestamp() + 60
    assert first.ended_at == T0.timestamp() + 600


def _three_jobs() -> list[dict[str, Any]]:
    return [training_summary(NAME, i, status="InProgress") for i in range(3)]


def _events(epoch: int, base_ms: int) -> list[dict[str, Any]]:
    out = []
    for i in range(3):
        stream = f"{NAME}-{i + 1:03d}-{i:08x}/algo-1-1764331200"
        out.append(log_event(stream, epoch * 10 + i, f"Epoch[{epoch}] Validation-accuracy=0.{80 + epoch + i}", base_ms + i))
    return out


def test_throttling_backs_off_keeps_data_and_recovers(backend: SageMakerBackend, stubs: Any) -> None:
    sm, logs = stubs
    # Poll 1: fine.
    sm.add_response("describe_hyper_parameter_tuning_job", describe_response(NAME), describe_params())
    add_pages(sm, _three_jobs())
    epoch0 = _events(0, T0_MS + 600_000)
    logs.add_response("filter_log_events", {"events": epoch0}, LOG_PARAMS)
    # Poll 2: throttled at the describe; poll 3: throttled in the middle (listing).
    sm.add_client_error("describe_hyper_parameter_tuning_job", "ThrottlingException", "Rate exceeded", 400)
    sm.add_response("describe_hyper_parameter_tuning_job", describe_response(NAME), describe_params())
    sm.add_client_error("list_training_jobs_for_hyper_parameter_tuning_job", "ThrottlingException", "Rate exceeded", 400)
    # Poll 4: recovered. Each stream re-reads its own overlap behind its newest event (the
    # oldest of them is at +600_000), so epoch 0 comes again but only epoch 1 is new.
    sm.add_response("describe_hyper_parameter_tuning_job", describe_response(NAME, status="Completed"), describe_params())
    add_pages(sm, _three_jobs())
    epoch1 = _events(1, T0_MS + 660_000)
    logs.add_response(
        "filter_log_events",
        {"events": epoch0 + epoch1},
        {**LOG_PARAMS, "startTime": T0_MS + 600_000 - 120_000},
    )

    first = backend.poll(NAME)
    assert len(first.new_points) == 3 and first.suggested_interval is None and first.throttle_count == 0

    second = backend.poll(NAME, first.cursor)
    assert second.tuning_job == first.tuning_job and second.training_jobs == first.training_jobs
    assert second.new_points == ()  # the UI already has them
    assert second.cursor is first.cursor
    assert second.throttle_count == 1
    assert second.suggested_interval == 2 * backend.default_interval
    assert second.data_age >= 0.0 and second.fetched_at == first.fetched_at
    assert second.warning and "throttl" in second.warning.lower()

    third = backend.poll(NAME, second.cursor)
    assert third.throttle_count == 2 and third.suggested_interval == 4 * backend.default_interval
    assert third.new_points == ()

    fourth = backend.poll(NAME, third.cursor)
    assert fourth.tuning_job.status == "Completed"
    assert fourth.suggested_interval is None and fourth.warning is None and fourth.data_age == 0.0
    assert fourth.throttle_count == 2  # a running total for the status bar
    assert sorted((p.job[-12:], p.epoch) for p in fourth.new_points) == sorted(
        (f"{i + 1:03d}-{i:08x}", 1) for i in range(3)
    )


def test_throttle_back_off_is_capped(backend: SageMakerBackend, stubs: Any) -> None:
    sm, logs = stubs
    sm.add_response("describe_hyper_parameter_tuning_job", describe_response(NAME), describe_params())
    add_pages(sm, [])
    first = backend.poll(NAME)  # no training jobs yet: no log call at all
    intervals = []
    for _ in range(8):
        sm.add_client_error("describe_hyper_parameter_tuning_job", "ThrottlingException", "Rate exceeded", 400)
        intervals.append(backend.poll(NAME, first.cursor).suggested_interval)
    assert intervals == sorted(intervals) and intervals[-1] == MAX_INTERVAL


def test_throttled_first_poll_raises_a_retryable_message(backend: SageMakerBackend, stubs: Any) -> None:
    sm, _ = stubs
    sm.add_client_error("describe_hyper_parameter_tuning_job", "ThrottlingException", "Rate exceeded", 400)
    with pytest.raises(AwsUnavailable, match="throttling") as err:
        backend.poll(NAME)
    assert err.value.retry_after == 2 * backend.default_interval


def test_access_denied_names_the_action(backend: SageMakerBackend, stubs: Any) -> None:
    sm, logs = stubs
    sm.add_client_error(
        "describe_hyper_parameter_tuning_job",
        "AccessDeniedException",
        "User: arn:aws:iam::123456789012:user/dev is not authorized to perform: "
        "sagemaker:DescribeHyperParameterTuningJob on resource: arn:aws:sagemaker:us-east-1:"
        "123456789012:hyper-parameter-tuning-job/hpo-stubbed because no identity-based policy allows it",
        400,
    )
    with pytest.raises(BackendError, match=r"may not call sagemaker:DescribeHyperParameterTuningJob\. Add"):
        backend.poll(NAME)

    # Without the action in AWS's text, it is named from the operation.
    sm.add_response("describe_hyper_parameter_tuning_job", describe_response(NAME), describe_params())
    add_pages(sm, _three_jobs())
    logs.add_client_error("filter_log_events", "AccessDeniedException", "Access denied", 400)
    with pytest.raises(BackendError, match="logs:FilterLogEvents"):
        backend.poll(NAME)


def test_validation_exception_carries_aws_text(backend: SageMakerBackend, stubs: Any) -> None:
    sm, _ = stubs
    text = (
        "1 validation error detected: Value 'bad_name!' at 'hyperParameterTuningJobName' failed to "
        "satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}"
    )
    sm.add_client_error("describe_hyper_parameter_tuning_job", "ValidationException", text, 400)
    with pytest.raises(BackendError) as err:
        backend.poll("bad_name!")
    assert text in str(err.value)
    assert "DescribeHyperParameterTuningJob" in str(err.value)


def test_expired_token_says_to_refresh(backend: SageMakerBackend, stubs: Any) -> None:
    sm, _ = stubs
    sm.add_client_error(
        "describe_hyper_parameter_tuning_job", "ExpiredTokenException", "The security token included in the request is expired", 400
    )
    with pytest.raises(BackendError, match="expired.*Refresh"):
        backend.poll(NAME)


def test_no_credentials_explains_setup_and_local_backend(fake_aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(BackendError) as err:
        SageMakerBackend().poll(NAME)
    text = str(err.value)
    assert "No AWS credentials" in text and "aws configure" in text and "--backend local" in text


def test_unknown_profile_is_named(fake_aws: None) -> None:
    with pytest.raises(BackendError, match="profile 'nobody'.*aws configure --profile nobody"):
        SageMakerBackend(profile="nobody").poll(NAME)


def test_stop_is_idempotent(backend: SageMakerBackend, stubs: Any) -> None:
    sm, _ = stubs
    stop = "stop_hyper_parameter_tuning_job"
    sm.add_response(stop, {}, describe_params())
    backend.stop(NAME)  # running -> stopping

    sm.add_client_error(stop, "ValidationException", f"The hyperparameter tuning job {NAME} has already been stopped.", 400)
    backend.stop(NAME)

    # Whatever AWS says, a job that already ended counts as stopped.
    sm.add_client_error(stop, "ValidationException", "Job can no longer be modified", 400)
    sm.add_response("describe_hyper_parameter_tuning_job", describe_response(NAME, status="Completed"), describe_params())
    backend.stop(NAME)

    sm.add_client_error(stop, "ValidationException", "Job can no longer be modified", 400)
    sm.add_response("describe_hyper_parameter_tuning_job", describe_response(NAME, status="InProgress"), describe_params())
    with pytest.raises(BackendError, match="Job can no longer be modified"):
        backend.stop(NAME)

    sm.add_client_error(stop, "ResourceNotFound", f"Amazon SageMaker can't find a tuning job named {NAME}", 400)
    with pytest.raises(TuningJobNotFound, match=NAME):
        backend.stop(NAME)


def test_list_tuning_jobs_newest_first(backend: SageMakerBackend, stubs: Any) -> None:
    sm, _ = stubs
    summaries = [
        {
            "HyperParameterTuningJobName": name,
            "HyperParameterTuningJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/{name}",
            "HyperParameterTuningJobStatus": status,
            "Strategy": "Bayesian",
            "CreationTime": T0,
            "TrainingJobStatusCounters": {"Completed": 2},
            "ObjectiveStatusCounters": {"Succeeded": 2},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 9, "MaxParallelTrainingJobs": 3},
        }
        for name, status in (("hpo-new", "InProgress"), ("hpo-old", "Completed"))
    ]
    sm.add_response(
        "list_hyper_parameter_tuning_jobs",
        {"HyperParameterTuningJobSummaries": summaries},
        {"SortBy": "CreationTime", "SortOrder": "Descending", "MaxResults": 100},
    )
    views = backend.list_tuning_jobs()
    assert [(v.name, v.status, v.backend, v.max_jobs) for v in views] == [
        ("hpo-new", "InProgress", "sagemaker", 9),
        ("hpo-old", "Completed", "sagemaker", 9),
    ]
    assert views[0].status_counters.completed == 2


def test_listing_never_sorts_by_objective(backend: SageMakerBackend, stubs: Any) -> None:
    """Stubber checks the exact parameters: CreationTime order, 100 per page, no objective sort."""
    sm, logs = stubs
    sm.add_response("describe_hyper_parameter_tuning_job", describe_response(NAME), describe_params())
    sm.add_response(
        "list_training_jobs_for_hyper_parameter_tuning_job",
        {"TrainingJobSummaries": _three_jobs()},
        list_params(NAME),
    )
    logs.add_response("filter_log_events", no_log_events(), LOG_PARAMS)
    assert [v.objective_status for v in backend.poll(NAME).training_jobs] == ["Pending"] * 3


def test_log_filter_pattern_asks_only_for_metric_lines() -> None:
    from hpo_tui.backends.sagemaker import filter_pattern

    assert (
        filter_pattern([("acc", r"Validation-accuracy=([0-9\.]+)"), ("loss", r"Validation-loss=([0-9\.]+)")])
        == '?"Validation-accuracy" ?"Validation-loss"'
    )
    assert filter_pattern([("loss", r"train loss: ([0-9.]+)")]) == '?"train loss"'
    # A regex without a literal start could match any line: then every line is read.
    assert filter_pattern([("acc", r"Validation-accuracy=(\S+)"), ("n", r"(\d+) samples/sec")]) is None
    assert filter_pattern([("x", r"ab?c=(\d+)")]) is None


@pytest.mark.parametrize(
    ("criteria", "details", "best_value", "reason"),
    [
        ({"TargetObjectiveMetricValue": 0.97}, {}, 0.981, "target objective value reached"),
        (
            {"BestObjectiveNotImproving": {"MaxNumberOfTrainingJobsNotImproving": 5}},
            {"NumberOfTrainingJobsObjectiveNotImproving": 5},
            0.95,
            "5 jobs did not improve the best by 1%",
        ),
        ({"TargetObjectiveMetricValue": 0.99}, {}, 0.981, None),  # ran to max_jobs
    ],
)
def test_early_completion_says_why(
    backend: SageMakerBackend, stubs: Any, criteria: dict[str, Any], details: dict[str, Any],
    best_value: float, reason: str | None,
) -> None:
    sm, logs = stubs
    best = {
        "TrainingJobName": f"{NAME}-001-00000000",
        "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{NAME}-001-00000000",
        "CreationTime": T0,
        "TrainingJobStatus": "Completed",
        "TunedHyperParameters": {"learning_rate": "0.1"},
        "FinalHyperParameterTuningJobObjectiveMetric": {"MetricName": "Validation-accuracy", "Value": best_value},
        "ObjectiveStatus": "Succeeded",
    }
    desc = describe_response(NAME, status="Completed", best=best, max_jobs=20)
    desc["HyperParameterTuningJobConfig"]["TuningJobCompletionCriteria"] = criteria
    if details:
        desc["TuningJobCompletionDetails"] = details
    sm.add_response("describe_hyper_parameter_tuning_job", desc, describe_params())
    add_pages(sm, _three_jobs())
    logs.add_response("filter_log_events", {"events": []}, LOG_PARAMS)
    assert backend.poll(NAME).tuning_job.completion_reason == reason
