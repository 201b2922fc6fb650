"""A first poll without points (attach, status, export) reads no log line: the rows come from
the list pages. The curves of the jobs shown are read from their own log streams, so the log
pages grow with the jobs shown, not with the tuning job (issue 16). Polls after it go on
from where curves() stopped. Calls counted by a botocore hook; responses from Stubber."""

from __future__ import annotations

from typing import Any

from botocore.stub import Stubber

from hpo_tui.backends.sagemaker import LOG_GROUP, SageMakerBackend
from tests.sagemaker.conftest import count_calls
from tests.sagemaker.stubs import (
    T0,
    describe_response,
    log_event,
    pages,
    training_job_description,
    training_summary,
)

NAME = "hpo-first"
PATTERN = '?"Validation-accuracy" ?"Train-accuracy"'
T0_MS = int(T0.timestamp() * 1000)


def epoch_events(job: str, epochs: range, base: float = 0.8) -> list[dict[str, Any]]:
    stream = f"{job}/algo-1-1700000000"
    return [log_event(stream, e, f"Epoch[{e}] Validation-accuracy={base + e / 1000:.4f}", T0_MS + 600_000 + 1000 * e)
            for e in epochs]


def expect_poll(sm: Stubber, summaries: list[dict[str, Any]]) -> None:
    sm.add_response("describe_hyper_parameter_tuning_job", describe_response(NAME), {"HyperParameterTuningJobName": NAME})
    for response, params in pages(NAME, summaries):
        sm.add_response("list_training_jobs_for_hyper_parameter_tuning_job", response, params)


def job_query(job: str, start_ms: int) -> dict[str, Any]:
    return {"logGroupName": LOG_GROUP, "logStreamNamePrefix": f"{job}/", "startTime": start_ms, "filterPattern": PATTERN}


def test_rows_first_then_the_curves_of_three_jobs_of_500_cost_three_log_queries(boto_session: Any,
                                                                                fake_aws: None) -> None:
    backend = SageMakerBackend(boto_session=boto_session)
    calls = count_calls(backend)
    summaries = [training_summary(NAME, i, objective=0.9 + i / 100_000) for i in range(500)]
    shown = [s["TrainingJobName"] for s in summaries[:3]]
    with Stubber(backend.client("sagemaker")) as sm, Stubber(backend.client("logs")) as logs:
        expect_poll(sm, summaries)
        for k, (job, s) in enumerate(zip(shown, summaries)):
            events = epoch_events(job, range(50), base=0.8 + k / 100)
            logs.add_response("filter_log_events", {"events": events, "searchedLogStreams": []},
                              job_query(job, int(s["CreationTime"].timestamp() * 1000)))

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
    assert calls == ["FilterLogEvents"] * 3
    by_job = {job: [p.value for p in points if p.job == job] for job in shown}
    assert [len(v) for v in by_job.values()] == [50, 50, 50]
    assert by_job[shown[1]][:2] == [0.81, 0.811]


def test_polls_after_a_rows_only_poll_read_the_running_jobs_but_not_the_ended_ones(boto_session: Any,
                                                                                  fake_aws: None) -> None:
    """Three finished jobs and one running (issue 24): the second poll reads the running job's
    log from its creation (its epochs are what progress and the ETA go by), never the logs
    of the jobs that had ended; the poll after it goes on from that job's stream cursor and
    returns only the new epochs. Before the fix, the running job was read by no poll."""
    backend = SageMakerBackend(boto_session=boto_session)
    calls = count_calls(backend)
    summaries = [training_summary(NAME, i) for i in range(3)] + [training_summary(NAME, 3, status="InProgress")]
    running = summaries[3]["TrainingJobName"]
    created_ms = int(summaries[3]["CreationTime"].timestamp() * 1000)
    with Stubber(backend.client("sagemaker")) as sm, Stubber(backend.client("logs")) as logs:
        for _ in range(3):
            expect_poll(sm, summaries)
            sm.add_response("describe_training_job", training_job_description(summaries[3]),
                            {"TrainingJobName": running})
        first = backend.poll(NAME, points=False)
        calls.clear()
        logs.add_response("filter_log_events", {"events": epoch_events(running, range(3)), "searchedLogStreams": []},
                          {"logGroupName": LOG_GROUP, "logStreamNamePrefix": NAME, "startTime": created_ms,
                           "filterPattern": PATTERN})
        second = backend.poll(NAME, first.cursor)
        assert calls.count("FilterLogEvents") == 1
        assert [p.epoch for p in second.new_points] == [0, 1, 2]
        assert {p.job for p in second.new_points} == {running}

        newest = T0_MS + 600_000 + 2000  # where the second poll stopped, well after the job began
        logs.add_response("filter_log_events", {"events": epoch_events(running, range(5)), "searchedLogStreams": []},
                          {"logGroupName": LOG_GROUP, "logStreamNamePrefix": NAME, "startTime": newest - 120_000,
                           "filterPattern": PATTERN})
        third = backend.poll(NAME, second.cursor)
        sm.assert_no_pending_responses()
        logs.assert_no_pending_responses()
    # Epochs 0-2 came with the second poll: the third returns 3 and 4 only, and the row has its progress.
    assert [p.epoch for p in third.new_points] == [3, 4]
    row = next(j for j in third.training_jobs if j.name == running)
    assert row.last_epoch == 4 and row.best_objective == 0.804
    # The ended jobs' logs were never read, and they count whole all the same: 3 ended
    # plus 5 of the running job's planned epochs, of the budget.
    planned = int(summaries[3]["TunedHyperParameters"]["num_epoch"])
    assert third.estimate.fraction == (3 + 5 / planned) / third.tuning_job.max_jobs


def test_a_job_that_starts_after_the_first_poll_is_read_by_the_polls(boto_session: Any, fake_aws: None) -> None:
    backend = SageMakerBackend(boto_session=boto_session)
    before = [training_summary(NAME, i) for i in range(2)]
    new = training_summary(NAME, 2, status="InProgress")
    with Stubber(backend.client("sagemaker")) as sm, Stubber(backend.client("logs")) as logs:
        expect_poll(sm, before)
        expect_poll(sm, before + [new])
        sm.add_response("describe_training_job", training_job_description(new),
                        {"TrainingJobName": new["TrainingJobName"]})
        logs.add_response("filter_log_events",
                          {"events": epoch_events(new["TrainingJobName"], range(2)), "searchedLogStreams": []},
                          {"logGroupName": LOG_GROUP, "logStreamNamePrefix": NAME,
                           "startTime": int(new["CreationTime"].timestamp() * 1000), "filterPattern": PATTERN})
        first = backend.poll(NAME, points=False)
        second = backend.poll(NAME, first.cursor)
        logs.assert_no_pending_responses()
    assert [(p.job, p.epoch) for p in second.new_points] == [(new["TrainingJobName"], 0), (new["TrainingJobName"], 1)]


def test_status_of_a_large_finished_tuning_job_reads_no_log(boto_session: Any, fake_aws: None) -> None:
    """`status` and `export` poll without points: the whole read is the describe and the list pages."""
    from hpo_tui.backends.base import poll_rows

    backend = SageMakerBackend(boto_session=boto_session)
    calls = count_calls(backend)
    summaries = [training_summary(NAME, i, objective=0.5 + i / 10_000) for i in range(250)]
    with Stubber(backend.client("sagemaker")) as sm, Stubber(backend.client("logs")):
        expect_poll(sm, summaries)
        snap = poll_rows(backend, NAME)
    assert "FilterLogEvents" not in calls
    assert snap.tuning_job.name == NAME and len(snap.training_jobs) == 250
    assert snap.training_jobs[249].final_objective == 0.5 + 249 / 10_000
