"""Request budget: one poll of a 500-job tuning job with no new log events costs at most
1 describe + 5 list pages + 1 log query, counted by a botocore event hook on every client."""

from __future__ import annotations

from typing import Any

from botocore.stub import Stubber

from hpo_tui.backends.sagemaker import LOG_GROUP, SageMakerBackend
from tests.sagemaker.stubs import T0, describe_response, no_log_events, pages, training_summary

NAME = "hpo-budget"


def count_calls(backend: SageMakerBackend) -> list[str]:
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    for service in ("sagemaker", "logs"):
        backend.client(service).meta.events.register("provide-client-params", record)
    return calls


def test_one_poll_of_500_jobs_costs_at_most_seven_calls(boto_session: Any, fake_aws: None) -> None:
    backend = SageMakerBackend(boto_session=boto_session)
    calls = count_calls(backend)
    summaries = [
        training_summary(NAME, i, status="Completed" if i < 480 else "InProgress", objective=0.9 if i < 480 else None)
        for i in range(500)
    ]
    log_params = {
        "logGroupName": LOG_GROUP,
        "logStreamNamePrefix": NAME,
        "startTime": int(T0.timestamp() * 1000),
        "filterPattern": '?"Validation-accuracy" ?"Train-accuracy"',
    }
    with Stubber(backend.client("sagemaker")) as sm, Stubber(backend.client("logs")) as logs:
        for _ in range(2):  # the first poll and a steady-state poll from its cursor
            sm.add_response("describe_hyper_parameter_tuning_job", describe_response(NAME), {"HyperParameterTuningJobName": NAME})
            for response, params in pages(NAME, summaries):
                sm.add_response("list_training_jobs_for_hyper_parameter_tuning_job", response, params)
            logs.add_response("filter_log_events", no_log_events(), log_params)

        first = backend.poll(NAME)
        first_cost = list(calls)
        calls.clear()
        second = backend.poll(NAME, first.cursor)
        sm.assert_no_pending_responses()
        logs.assert_no_pending_responses()

    assert len(first.training_jobs) == len(second.training_jobs) == 500
    expected = ["DescribeHyperParameterTuningJob"] + ["ListTrainingJobsForHyperParameterTuningJob"] * 5 + ["FilterLogEvents"]
    assert first_cost == expected
    assert calls == expected
    assert len(calls) <= 1 + 5 + 1


def test_no_log_query_before_any_training_job_exists(boto_session: Any, fake_aws: None) -> None:
    backend = SageMakerBackend(boto_session=boto_session)
    calls = count_calls(backend)
    with Stubber(backend.client("sagemaker")) as sm:
        sm.add_response("describe_hyper_parameter_tuning_job", describe_response(NAME), {"HyperParameterTuningJobName": NAME})
        sm.add_response(
            "list_training_jobs_for_hyper_parameter_tuning_job", {"TrainingJobSummaries": []}, pages(NAME, [])[0][1]
        )
        snap = backend.poll(NAME)
    assert snap.training_jobs == ()
    assert calls == ["DescribeHyperParameterTuningJob", "ListTrainingJobsForHyperParameterTuningJob"]
