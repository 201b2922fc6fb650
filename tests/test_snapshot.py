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
