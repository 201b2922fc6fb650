"""The first poll of a large tuning job reads no log; the curves of the jobs shown are read
from their own log streams, so the log pages grow with the jobs shown, not the total
(issue 16). Calls counted by a botocore hook; responses from botocore's Stubber."""

from __future__ import annotations

from typing import Any

from botocore.stub import Stubber

from hpo_tui.backends.sagemaker import LOG_GROUP, SageMakerBackend
from tests.sagemaker.stubs import describe_response, log_event, no_log_events, pages, training_summary
from tests.sagemaker.test_budget import count_calls

NAME = "hpo-first"
PATTERN = '?"Validation-accuracy" ?"Train-accuracy"'


def test_rows_first_then_the_curves_of_three_jobs_of_500_cost_three_log_queries(boto_session: Any,
                                                                                fake_aws: None) -> None:
    backend = SageMakerBackend(boto_session=boto_session)
    calls = count_calls(backend)
    summaries = [training_summary(NAME, i, objective=0.9 + i / 100_000) for i in range(500)]
    shown = [s["TrainingJobName"] for s in summaries[:3]]
    with Stubber(backend.client("sagemaker")) as sm, Stubber(backend.client("logs")) as logs:
        sm.add_response("describe_hyper_parameter_tuning_job", describe_response(NAME),
                        {"HyperParameterTuningJobName": NAME})
        for response, params in pages(NAME, summaries):
            sm.add_response("list_training_jobs_for_hyper_parameter_tuning_job", response, params)
        sm.add_response("describe_hyper_parameter_tuning_job", describe_response(NAME),
                        {"HyperParameterTuningJobName": NAME})
        for k, job in enumerate(shown):
            stream = f"{job}/algo-1-1700000000"
            events = [log_event(stream, e, f"Epoch[{e}] Validation-accuracy={0.8 + k / 100 + e / 1000:.4f}",
                                1_764_331_200_000 + 1000 * e) for e in range(50)]
            logs.add_response("filter_log_events", {"events": events, "searchedLogStreams": []},
                              {"logGroupName": LOG_GROUP, "logStreamNamePrefix": f"{job}/", "filterPattern": PATTERN})

        first = backend.poll(NAME, points=False)
        rows_cost = list(calls)
        calls.clear()
        points = backend.curves(NAME, shown, "Validation-accuracy")
        sm.assert_no_pending_responses()
        logs.assert_no_pending_responses()

    assert len(first.training_jobs) == 500 and first.new_points == ()
    # The final objective of every job comes from the list pages already read.
    assert first.training_jobs[499].final_objective == summaries[499]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    assert rows_cost == ["DescribeHyperParameterTuningJob"] + ["ListTrainingJobsForHyperParameterTuningJob"] * 5
    assert calls == ["DescribeHyperParameterTuningJob"] + ["FilterLogEvents"] * 3
    by_job = {job: [p.value for p in points if p.job == job] for job in shown}
    assert [len(v) for v in by_job.values()] == [50, 50, 50]
    assert by_job[shown[1]][:2] == [0.81, 0.811]


def test_the_poll_after_a_rows_only_poll_reads_only_new_lines(boto_session: Any, fake_aws: None) -> None:
    backend = SageMakerBackend(boto_session=boto_session)
    summaries = [training_summary(NAME, i, status="InProgress") for i in range(3)]
    with Stubber(backend.client("sagemaker")) as sm, Stubber(backend.client("logs")) as logs:
        for _ in range(2):
            sm.add_response("describe_hyper_parameter_tuning_job", describe_response(NAME),
                            {"HyperParameterTuningJobName": NAME})
            for response, params in pages(NAME, summaries):
                sm.add_response("list_training_jobs_for_hyper_parameter_tuning_job", response, params)
        first = backend.poll(NAME, points=False)
        start = first.cursor.log_start_ms
        logs.add_response("filter_log_events", no_log_events(),
                          {"logGroupName": LOG_GROUP, "logStreamNamePrefix": NAME, "startTime": start,
                           "filterPattern": PATTERN})
        backend.poll(NAME, first.cursor)
        logs.assert_no_pending_responses()
    # From about the first poll on (less the ingestion overlap), not the tuning job's creation.
    assert start > describe_response(NAME)["CreationTime"].timestamp() * 1000
