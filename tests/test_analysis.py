"""hpo_tui.analysis: what the search views show and the Optuna export writes, computed from
a Snapshot (a fixture of a real run, and small hand-made ones)."""

from __future__ import annotations

import math
import random
from dataclasses import replace
from pathlib import Path

import pytest
from optuna.trial import TrialState

from hpo_tui import analysis
from hpo_tui.views import ParameterRangeView, Snapshot, TrainingJobView, TuningJobView
from tests.app.fixtures.snapshot_json import load

FIXTURE = Path(__file__).parent / "app" / "fixtures" / "reference_run.json"


def _snap(jobs: list[TrainingJobView], *, objective_type: str = "Maximize",
          ranges: tuple[ParameterRangeView, ...] = ()) -> Snapshot:
    view = TuningJobView(name="t", backend="local", status="Completed", strategy="Random",
                         objective_name="acc", objective_type=objective_type, max_jobs=len(jobs),
                         max_parallel_jobs=1, created_at=1000.0, parameter_ranges=ranges,
                         tuned_parameters=tuple(r.name for r in ranges))
    return Snapshot(view, tuple(jobs), (), None, 0.0)


def _job(i: int, hps: dict[str, str], value: float | None, status: str = "Completed",
         ended: float | None = None) -> TrainingJobView:
    terminal = status != "InProgress"
    return TrainingJobView(
        name=f"t-{i:03d}", status=status,
        objective_status="Succeeded" if value is not None and terminal else "Pending" if not terminal else "Failed",
        hyperparameters=hps, final_objective=value, created_at=1000.0 + i, started_at=1000.0 + i,
        ended_at=(ended if ended is not None else 1010.0 + i) if terminal else None, launch_index=i)


def test_importance_waits_for_enough_completed_jobs():
    snap = load(FIXTURE)
    few = replace(snap, training_jobs=snap.training_jobs[: analysis.MIN_IMPORTANCE_JOBS - 1])
    result = analysis.importance(few)
    assert (result.values, result.jobs, result.needed) == ({}, analysis.MIN_IMPORTANCE_JOBS - 1, 1)
    enough = analysis.importance(replace(snap, training_jobs=snap.training_jobs[: analysis.MIN_IMPORTANCE_JOBS]))
    assert enough.needed == 0 and set(enough.values) == {"optimizer", "learning_rate", "num_epoch"}
    assert math.isclose(sum(enough.values.values()), 1.0)


def test_importance_finds_the_hyperparameter_that_matters():
    rng = random.Random(4)
    ranges = (ParameterRangeView("x", "continuous", 0.0, 1.0), ParameterRangeView("noise", "continuous", 0.0, 1.0),
              ParameterRangeView("opt", "categorical", values=("a", "b")))
    jobs = []
    for i in range(30):
        x, noise = rng.random(), rng.random()
        jobs.append(_job(i, {"x": repr(x), "noise": repr(noise), "opt": rng.choice("ab")}, 1 - abs(x - 0.7)))
    values = analysis.importance(_snap(jobs, ranges=ranges)).values
    assert list(values)[0] == "x" and values["x"] > 0.6


def test_objective_over_time_tracks_the_best_so_far_both_ways():
    jobs = [_job(0, {}, 0.5, ended=1030.0), _job(1, {}, 0.7, ended=1020.0), _job(2, {}, 0.6, ended=1040.0),
            _job(3, {}, None, status="Failed", ended=1050.0), _job(4, {}, 0.9, status="InProgress")]
    points = analysis.objective_over_time(_snap(jobs))
    assert [(p.seconds, p.value, p.best_so_far, p.improved) for p in points] == [
        (20.0, 0.7, 0.7, True), (30.0, 0.5, 0.7, False), (40.0, 0.6, 0.7, False)]
    points = analysis.objective_over_time(_snap(jobs, objective_type="Minimize"))
    assert [(p.best_so_far, p.improved) for p in points] == [(0.7, True), (0.5, True), (0.5, False)]


def test_axes_from_the_launched_ranges_or_from_the_values():
    ranges = (ParameterRangeView("lr", "continuous", 0.001, 0.5, "Logarithmic"),
              ParameterRangeView("epochs", "integer", 1, 9))
    jobs = [_job(0, {"lr": "0.01", "epochs": "3", "opt": "sgd"}, 0.5),
            _job(1, {"lr": "0.1", "epochs": "5", "opt": "adam"}, 0.6)]
    axes = {a.name: a for a in analysis.axes(_snap(jobs, ranges=ranges))}
    assert axes["lr"].log and (axes["lr"].low, axes["lr"].high) == (0.001, 0.5)
    assert axes["lr"].position("0.5") == pytest.approx(1.0) and axes["lr"].position("0.001") == pytest.approx(0.0)
    assert axes["epochs"].integer and not axes["epochs"].log
    # No range known (opt was not launched as one): inferred from the values seen.
    assert axes["opt"].categorical and axes["opt"].values == ("sgd", "adam")
    inferred = {a.name: a for a in analysis.axes(_snap(jobs))}
    assert not inferred["lr"].log and (inferred["lr"].low, inferred["lr"].high) == (0.01, 0.1)


def test_trials_map_every_status():
    ranges = (ParameterRangeView("lr", "continuous", 0.01, 0.2),)
    jobs = [_job(0, {"lr": "0.1"}, 0.9), _job(1, {"lr": "0.2"}, 0.4, status="Stopped"),
            _job(2, {"lr": "0.05"}, None, status="Failed"), _job(3, {"lr": "0.15"}, 0.3, status="InProgress")]
    trials = analysis.frozen_trials(_snap(jobs, ranges=ranges))
    assert [(t.state, t.value) for t in trials] == [
        (TrialState.COMPLETE, 0.9), (TrialState.PRUNED, 0.4), (TrialState.FAIL, None), (TrialState.RUNNING, None)]
    assert [t.params["lr"] for t in trials] == [0.1, 0.2, 0.05, 0.15]
    assert [t.user_attrs["training_job"] for t in trials] == ["t-000", "t-001", "t-002", "t-003"]
