"""Progress weighted by epochs and the tuning job's ETA (hpo_tui.estimate), headless."""

from __future__ import annotations

import dataclasses

from hpo_tui.estimate import estimate_progress
from hpo_tui.views import StatusCounters, TrainingJobView, TuningJobView


def _view(max_jobs: int, parallel: int, status: str = "InProgress", max_epochs: int | None = 50) -> TuningJobView:
    return TuningJobView(name="t", backend="local", status=status, strategy="Random",
                         objective_name="Validation-accuracy", objective_type="Maximize", max_jobs=max_jobs,
                         max_parallel_jobs=parallel, status_counters=StatusCounters(), created_at=0.0,
                         max_epochs=max_epochs)


def _job(index: int, done: int, planned: int, *, start: float = 0.0, status: str = "InProgress",
         ended: float | None = None) -> TrainingJobView:
    return TrainingJobView(name=f"t-{index:03d}", status=status, objective_status="Pending",
                           hyperparameters={"num_epoch": str(planned), "optimizer": "sgd"},
                           last_epoch=done - 1 if done else None, created_at=start, started_at=start,
                           ended_at=ended, launch_index=index)


def test_the_reference_run_mid_way_is_not_zero_percent_and_has_an_eta():
    # The run the issue saw as "0% 0/9 finished": jobs 15/34, 14/15 and 13/37 epochs in after 93 s.
    jobs = [_job(0, 15, 34), _job(1, 14, 15), _job(2, 13, 37)]
    estimate = estimate_progress(_view(9, 3), jobs, now=93.0)
    assert estimate.epochs_done == 42
    assert 0.05 < estimate.fraction < 0.25
    assert estimate.remaining_seconds is not None and estimate.remaining_seconds > 93.0
    remaining = dict(estimate.job_remaining)
    # Job 1 has one epoch left at its own pace (93 s / 14 epochs).
    assert abs(remaining["t-001"] - 93.0 / 14) < 1e-6


def test_jobs_not_started_yet_queue_behind_the_parallel_slots():
    # 3 running jobs, 10 of 20 epochs each after 100 s: 10 s per epoch, 100 s left each.
    jobs = [_job(i, 10, 20) for i in range(3)]
    alone = estimate_progress(_view(3, 3), jobs, now=100.0)
    assert alone.remaining_seconds == 100.0
    assert alone.fraction == 0.5
    # Three more jobs of (on average) 20 epochs start as the slots free up: 200 s each.
    more = estimate_progress(_view(6, 3), jobs, now=100.0)
    assert more.remaining_seconds == 300.0
    assert more.fraction == 30 / 120
    assert more.epochs_total == 120
    # One slot: they run one after the other.
    serial = estimate_progress(_view(4, 1), jobs[:1], now=100.0)
    assert serial.remaining_seconds == 100.0 + 3 * 200.0


def test_finished_jobs_count_as_complete_whatever_epoch_they_stopped_at():
    jobs = [_job(0, 3, 20, status="Stopped", ended=30.0), _job(1, 10, 10, status="Completed", ended=100.0)]
    estimate = estimate_progress(_view(2, 2, status="InProgress"), jobs, now=100.0)
    assert estimate.fraction == 1.0
    assert estimate.remaining_seconds == 0.0


def test_an_ended_tuning_job_has_nothing_left_and_a_stopped_one_stays_where_it_stopped():
    jobs = [_job(0, 4, 20, status="Stopped", ended=40.0)]
    estimate = estimate_progress(_view(9, 3, status="Stopped"), jobs, now=100.0)
    assert estimate.fraction == 1 / 9  # not 100%: 1 of its 9 jobs ran
    assert estimate.ended == 1
    assert estimate.remaining_seconds == 0.0
    assert estimate.job_remaining == ()
    completed = estimate_progress(_view(9, 3, status="Completed"), jobs, now=100.0)
    assert completed.fraction == 1.0  # a completion criterion ended it


def test_progress_never_goes_back_when_a_longer_job_starts():
    # Weighted by epochs, a 50-epoch job starting beside 5-epoch ones moved 38% back to 35%.
    short = [_job(i, 5, 5, status="Completed", ended=50.0) for i in range(3)]
    before = estimate_progress(_view(9, 2), short + [_job(3, 4, 5)], now=60.0)
    after = estimate_progress(_view(9, 2), short + [_job(3, 4, 5), _job(4, 0, 50, start=61.0)], now=62.0)
    assert after.fraction >= before.fraction
    assert before.fraction == (3 + 4 / 5) / 9


def test_the_eta_queues_behind_the_slots_that_really_run():
    view = dataclasses.replace(_view(4, 3), job_slots=1)
    # One job running, 10 of 20 epochs in 100 s; three more of 20 epochs after it, one at a time.
    estimate = estimate_progress(view, [_job(0, 10, 20)], now=100.0)
    assert estimate.slots == 1
    assert estimate.remaining_seconds == 100.0 + 3 * 200.0
    assert estimate_progress(_view(4, 3), [_job(0, 10, 20)], now=100.0).remaining_seconds == 300.0


def test_before_the_first_epoch_there_is_no_eta_rather_than_a_guess():
    estimate = estimate_progress(_view(9, 3), [_job(0, 0, 20), _job(1, 0, 30)], now=20.0)
    assert estimate.remaining_seconds is None
    assert estimate.fraction == 0.0
    assert estimate_progress(_view(9, 3), [], now=0.0).remaining_seconds is None


def test_a_job_without_epochs_yet_runs_at_the_tuning_jobs_rate():
    # Job 0: 10 epochs in 50 s (5 s/epoch). Job 1 started 20 s ago, no epoch yet, 10 planned.
    jobs = [_job(0, 10, 10, status="Completed", ended=50.0), _job(1, 0, 10, start=80.0)]
    estimate = estimate_progress(_view(2, 2), jobs, now=100.0)
    assert dict(estimate.job_remaining)["t-001"] == 10 * 5.0 - 20.0
    assert estimate.remaining_seconds == 30.0
