"""Warm start on the local engine: the parents' finished jobs are told to the new study before
its first ask (as SageMaker's WarmStartConfig), and the parents' best shows from the first poll."""

from __future__ import annotations

import time

import pytest

from hpo_tui import paths
from hpo_tui.backends.base import BackendError
from hpo_tui.backends.local import LocalBackend
from hpo_tui.engine.search import FinishedTrial, SearchStrategy
from hpo_tui.spec import CategoricalParameter, ContinuousParameter, TuningSpec


def fresh_poll(name: str):
    """One poll through a new backend: this branch's long-lived store reader can keep an old
    snapshot (fixed on main by the reader's reopen, issue 13), which is not what this tests."""
    reader = LocalBackend()
    try:
        return reader.poll(name)
    finally:
        reader.close()


def wait_fresh(name: str, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while not (snap := fresh_poll(name)).tuning_job.is_terminal:
        assert time.monotonic() < deadline, snap.tuning_job
        time.sleep(0.1)
    return snap


def test_local_warm_start_shows_the_parents_best_from_the_first_poll(backend, fake_spec, hpo_home):
    parent = backend.launch(fake_spec(max_jobs=3, max_parallel_jobs=2, strategy="Bayesian", tuning_job_name="parent-1"))
    done = wait_fresh(parent)
    assert done.tuning_job.best_training_job is not None

    child_spec = fake_spec(max_jobs=2, max_parallel_jobs=1, strategy="Bayesian", tuning_job_name="child-1")
    child_spec.warm_start.parents = [parent]
    child = backend.launch(child_spec)
    first = fresh_poll(child)
    assert first.tuning_job.overall_best_training_job == done.tuning_job.best_training_job
    assert first.tuning_job.overall_best_objective == done.tuning_job.best_objective
    end = wait_fresh(child)
    assert end.tuning_job.status == "Completed"
    log = (paths.jobs_dir() / child / "runner.log").read_text()
    assert f"warm start: 3 finished training jobs of {parent}" in log


def test_local_warm_start_needs_existing_finished_parents(backend, fake_spec, hpo_home):
    spec = fake_spec(tuning_job_name="orphan-1")
    spec.warm_start.parents = ["no-such-run"]
    with pytest.raises(BackendError, match=r"warm_start\.parents\[0\]: no local tuning job named 'no-such-run'"):
        backend.launch(spec)


def _spec(strategy: str) -> TuningSpec:
    spec = TuningSpec(strategy=strategy, random_seed=3)
    if strategy == "Grid":
        spec.ranges = {"optimizer": CategoricalParameter(["sgd", "Adam"])}
        spec.max_jobs = None
    else:
        spec.ranges = {"learning_rate": ContinuousParameter(0.01, 0.2), "optimizer": CategoricalParameter(["sgd", "Adam"])}
    return spec


def test_warm_start_tells_the_parents_trials_before_the_first_ask() -> None:
    search = SearchStrategy(_spec("Bayesian"))
    parents = [FinishedTrial({"learning_rate": str(lr), "optimizer": opt}, lr * 4, "complete", [(0, lr * 4)])
               for lr, opt in ((0.05, "sgd"), (0.15, "Adam"), (0.1, "sgd"))]
    search.restore(parents, parents=True)
    assert len(search.study.trials) == 3
    assert search.study.best_value == pytest.approx(0.6)
    trial = search.ask()
    assert trial is not None and trial.number == 3


def test_warm_start_parents_take_no_grid_combination() -> None:
    search = SearchStrategy(_spec("Grid"))
    search.restore([FinishedTrial({"optimizer": "sgd"}, 0.9, "complete"),
                    FinishedTrial({"optimizer": "Adam"}, 0.8, "complete")], parents=True)
    asked = [search.ask(), search.ask(), search.ask()]
    assert [t.hyperparameters["optimizer"] if t else None for t in asked] == ["sgd", "Adam", None]
