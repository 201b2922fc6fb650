"""What a Snapshot derives from its training jobs once (issue 16): the running jobs, the
finished objectives in launch order and the leaders, computed by prepare() where the poll
ran, the same as computed on first use."""

from __future__ import annotations

from dataclasses import replace

from hpo_tui.views import LEADERS, Snapshot, StatusCounters, TrainingJobView, TuningJobView


def _snapshot(jobs: list[TrainingJobView], objective_type: str = "Maximize") -> Snapshot:
    view = TuningJobView(name="t", backend="local", status="InProgress", strategy="Random",
                         objective_name="Validation-accuracy", objective_type=objective_type, max_jobs=len(jobs),
                         max_parallel_jobs=2, status_counters=StatusCounters(), created_at=0.0, max_epochs=10)
    return Snapshot(view, tuple(jobs), (), cursor=None, fetched_at=100.0)


def _job(index: int, status: str, objective: float | None) -> TrainingJobView:
    return TrainingJobView(name=f"t-{index:03d}", status=status, objective_status="Pending",
                           hyperparameters={"num_epoch": "10"}, final_objective=objective,
                           last_epoch=3 if objective is not None else None, created_at=float(index),
                           started_at=float(index), ended_at=None if status == "InProgress" else index + 50.0,
                           launch_index=index)


JOBS = [_job(4, "Completed", 0.91), _job(0, "Completed", 0.95), _job(2, "InProgress", 0.97),
        _job(1, "Failed", None), _job(3, "Completed", 0.95), _job(5, "Stopped", 0.80)]


def test_finished_objectives_are_in_launch_order_without_running_or_missing_values():
    assert _snapshot(JOBS).finished_objectives == ((1, 0.95), (4, 0.95), (5, 0.91), (6, 0.80))


def test_leaders_are_best_first_either_way_with_ties_in_the_order_polled():
    assert _snapshot(JOBS).leaders == ("t-002", "t-000", "t-003", "t-004", "t-005")
    assert _snapshot(JOBS, "Minimize").leaders == ("t-005", "t-004", "t-000", "t-003", "t-002")
    many = [_job(i, "Completed", i / 100) for i in range(30)]
    assert _snapshot(many).leaders == tuple(f"t-{i:03d}" for i in range(29, 29 - LEADERS, -1))


def test_running_and_prepare_give_what_first_use_gives():
    prepared = _snapshot(JOBS).prepare()
    lazy = _snapshot(JOBS)
    assert prepared.running == lazy.running == (JOBS[2],)
    assert prepared.estimate == lazy.estimate
    assert (prepared.leaders, prepared.finished_objectives) == (lazy.leaders, lazy.finished_objectives)
    # A snapshot made from another (dataclasses.replace) derives its own values.
    finished = replace(prepared, training_jobs=tuple(replace(j, status="Completed", ended_at=60.0) for j in JOBS))
    assert finished.running == ()


def test_a_poll_with_nothing_new_takes_over_what_it_can_and_still_gives_the_right_values():
    finished = tuple(replace(j, status="Completed", ended_at=60.0) if j.status == "InProgress" else j for j in JOBS)
    before = _snapshot(list(finished)).prepare()
    # The same tuple of rows, fetched later: everything is taken over, and it is right.
    again = replace(before, fetched_at=400.0).prepare(before)  # replace(): a new snapshot, nothing derived yet
    fresh = _snapshot(list(finished))
    fresh = replace(fresh, fetched_at=400.0)
    assert again.leaders is before.leaders and again.estimate is before.estimate
    assert (again.leaders, again.finished_objectives, again.running, again.estimate) == \
        (fresh.leaders, fresh.finished_objectives, fresh.running, fresh.estimate)
    # A job running: its time left moves with the clock, so the ETA is computed again.
    running = _snapshot(JOBS).prepare()
    later = replace(running, fetched_at=400.0).prepare(running)
    assert later.estimate is not running.estimate
    assert later.estimate == replace(_snapshot(JOBS), fetched_at=400.0).estimate
    # Other rows (a new tuple): nothing is taken over.
    other = _snapshot(list(finished)[:-1]).prepare(before)
    assert other.finished_objectives == ((1, 0.95), (3, 0.97), (4, 0.95), (5, 0.91))
