"""Request budget: one poll of a 500-job tuning job with no new log events costs at most
1 describe + 5 list pages + 1 log query + MaxParallel DescribeTrainingJob (SecondaryStatus),
counted by a botocore event hook on every client."""

from __future__ import annotations

from typing import Any

from botocore.stub import Stubber

from hpo_tui.backends.sagemaker import LOG_GROUP, SageMakerBackend
from tests.sagemaker.conftest import count_calls
from tests.sagemaker.stubs import (
    T0,
    describe_response,
    no_log_events,
    pages,
    training_job_description,
    training_summary,
)

NAME = "hpo-budget"


def test_one_poll_of_500_jobs_stays_within_1_plus_pages_plus_1_plus_max_parallel(
    boto_session: Any, fake_aws: None
) -> None:
    backend = SageMakerBackend(boto_session=boto_session)
    calls = count_calls(backend)
    max_parallel = 10
    summaries = [
        training_summary(NAME, i, status="Completed" if i < 480 else "InProgress", objective=0.9 if i < 480 else None)
        for i in range(500)
    ]
    running = [s for s in summaries if s["TrainingJobStatus"] == "InProgress"]  # 20, more than MaxParallel
    log_params = {
        "logGroupName": LOG_GROUP,
        "logStreamNamePrefix": NAME,
        "filterPattern": '?"Validation-accuracy" ?"Train-accuracy"',
    }
    first_start = int(T0.timestamp() * 1000)  # every job's log is still to read
    # After the first poll the 480 jobs that ended long ago are read to the end: the query
    # starts at the oldest running job's creation.
    steady_start = int(running[0]["CreationTime"].timestamp() * 1000)
    with Stubber(backend.client("sagemaker")) as sm, Stubber(backend.client("logs")) as logs:
        for start, batch in ((first_start, running[:10]), (steady_start, running[10:])):
            sm.add_response("describe_hyper_parameter_tuning_job", describe_response(NAME, max_parallel=max_parallel),
                            {"HyperParameterTuningJobName": NAME})
            for response, params in pages(NAME, summaries):
                sm.add_response("list_training_jobs_for_hyper_parameter_tuning_job", response, params)
            logs.add_response("filter_log_events", no_log_events(), {**log_params, "startTime": start})
            for s in batch:  # least recently asked first: the other 10 on the next poll
                sm.add_response("describe_training_job", training_job_description(s),
                                {"TrainingJobName": s["TrainingJobName"]})

        first = backend.poll(NAME)
        first_cost = list(calls)
        calls.clear()
        second = backend.poll(NAME, first.cursor)
        sm.assert_no_pending_responses()
        logs.assert_no_pending_responses()

    assert len(first.training_jobs) == len(second.training_jobs) == 500
    expected = (["DescribeHyperParameterTuningJob"] + ["ListTrainingJobsForHyperParameterTuningJob"] * 5
                + ["FilterLogEvents"] + ["DescribeTrainingJob"] * max_parallel)
    assert first_cost == expected
    assert calls == expected
    assert len(calls) <= 1 + 5 + 1 + max_parallel
    assert {j.secondary_status for j in second.training_jobs if j.status == "InProgress"} == {"Training"}


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
