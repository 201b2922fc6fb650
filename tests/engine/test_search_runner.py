"""Search strategies through the real runner: Grid coverage, Hyperband and median-rule early
stopping (jobs end Stopped), and completion criteria ending the tuning job early.

The training script is tests/engine/fake_train.py, whose per-epoch curves are a pure
function of the hyperparameters: lr 0.1 is the best, and accuracy falls with
|log10(lr) + 1|.
"""

from __future__ import annotations

import importlib.util
import itertools

from hpo_tui.spec import CategoricalParameter, CompletionCriteria, ContinuousParameter

from .conftest import FAKE_TRAIN, wait_for

_spec = importlib.util.spec_from_file_location("fake_train", FAKE_TRAIN)
fake_train = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fake_train)


def test_grid_runs_every_combination_exactly_once_across_three_slots(backend, fake_spec):
    ranges = {
        "optimizer": CategoricalParameter(["sgd", "Adam"]),
        "learning_rate": CategoricalParameter(["0.01", "0.1", "0.3"]),
        "x1": CategoricalParameter(["1", "2"]),
    }
    spec = fake_spec(strategy="Grid", ranges=ranges, max_jobs=None, max_parallel_jobs=3,
                     random_seed=None, static={"num_epoch": 2})
    snap = wait_for(backend, backend.launch(spec))
    assert snap.tuning_job.status == "Completed"
    assert snap.tuning_job.max_jobs == 12
    seen = [tuple(j.hyperparameters[n] for n in ranges) for j in snap.training_jobs]
    assert sorted(seen) == sorted(itertools.product(*(p.values for p in ranges.values())))
    assert all(j.status == "Completed" for j in snap.training_jobs)
    best = max(fake_train.curve(j.hyperparameters | {"num_epoch": "2"})[-1] for j in snap.training_jobs)
    assert snap.tuning_job.best_objective == best


def test_hyperband_stops_poor_curves_and_never_the_best(backend, fake_spec):
    # Three learning rates: 0.1 converges to 0.95, 0.001 to 0.45, 0.0001 to 0.2.
    spec = fake_spec(
        strategy="Hyperband",
        ranges={"learning_rate": CategoricalParameter(["0.1", "0.001", "0.0001"])},
        static={"num_epoch": 3, "sleep": 0.3},
        max_jobs=10, max_parallel_jobs=2, random_seed=10,
    )
    snap = wait_for(backend, backend.launch(spec))
    assert snap.tuning_job.status == "Completed"
    jobs = snap.training_jobs
    assert len(jobs) == 10
    stopped = [j for j in jobs if j.status == "Stopped"]
    assert stopped, [(j.hyperparameters, j.status) for j in jobs]
    for job in stopped:
        assert job.hyperparameters["learning_rate"] != "0.1"
        assert job.last_epoch is not None and job.last_epoch < 2  # cut before its last epoch
    best_runs = [j for j in jobs if j.hyperparameters["learning_rate"] == "0.1"]
    assert best_runs and all(j.status == "Completed" for j in best_runs)
    assert snap.tuning_job.best_objective == fake_train.curve({"learning_rate": "0.1", "num_epoch": "3"})[-1]


def test_auto_early_stopping_stops_curves_below_the_median(backend, fake_spec):
    # Grid fixes the order: four good curves, two poor ones, then a good one. With two
    # slots, at least three jobs have finished whenever a poor one starts.
    rates = ["0.1", "0.12", "0.08", "0.15", "0.0001", "0.0002", "0.09"]
    spec = fake_spec(
        strategy="Grid", early_stopping="Auto",
        ranges={"learning_rate": CategoricalParameter(rates)},
        static={"num_epoch": 4, "sleep": 0.2},
        max_jobs=None, max_parallel_jobs=2, random_seed=None,
    )
    snap = wait_for(backend, backend.launch(spec))
    assert snap.tuning_job.status == "Completed"
    status = {j.hyperparameters["learning_rate"]: j for j in snap.training_jobs}
    assert sorted(status) == sorted(rates)
    for rate in ("0.0001", "0.0002"):
        assert status[rate].status == "Stopped"
        assert status[rate].last_epoch is not None and status[rate].last_epoch < 3
    for rate in ("0.1", "0.12", "0.08", "0.15", "0.09"):
        assert status[rate].status == "Completed"
        assert status[rate].last_epoch == 3
    assert snap.tuning_job.status_counters.stopped == 2


def test_target_objective_value_ends_the_tuning_job_early(backend, fake_spec):
    # Final accuracy after 3 epochs is 0.875 * quality; about a third of log-uniform draws
    # on [0.01, 1] reach 0.75, so the target is met long before 20 jobs.
    spec = fake_spec(
        strategy="Random",
        ranges={"learning_rate": ContinuousParameter(0.01, 1.0, "Logarithmic")},
        static={"num_epoch": 3},
        max_jobs=20, max_parallel_jobs=2, random_seed=7,
        completion=CompletionCriteria(target_objective_value=0.75),
    )
    name = backend.launch(spec)
    snap = wait_for(backend, name)
    t = snap.tuning_job
    assert t.status == "Completed"
    assert len(snap.training_jobs) < 20
    assert t.best_objective is not None and t.best_objective >= 0.75
    reached = [j for j in snap.training_jobs if j.final_objective is not None and j.final_objective >= 0.75]
    assert reached
    # No job was launched after the first one that hit the target ended (jobs launched
    # before it may finish after it, in any order).
    first = min(reached, key=lambda j: j.ended_at)
    assert all(j.created_at <= first.ended_at for j in snap.training_jobs)
    assert t.completion_reason == "target objective value reached"


def test_jobs_not_improving_ends_the_tuning_job_early(backend, fake_spec):
    # Grid order: the best learning rate first, then ones that are all slightly worse.
    rates = ["0.1", "0.09", "0.11", "0.12", "0.085", "0.13", "0.14", "0.15"]
    spec = fake_spec(
        strategy="Grid",
        ranges={"learning_rate": CategoricalParameter(rates)},
        static={"num_epoch": 2},
        max_jobs=None, max_parallel_jobs=1, random_seed=None,
        completion=CompletionCriteria(max_jobs_not_improving=3),
    )
    name = backend.launch(spec)
    snap = wait_for(backend, name)
    assert snap.tuning_job.status == "Completed"
    assert [j.hyperparameters["learning_rate"] for j in snap.training_jobs] == rates[:4]
    assert snap.tuning_job.completion_reason == "3 jobs did not improve the best by 1%"
