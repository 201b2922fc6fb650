"""Reproducible training: with random_seed set, the local engine gives every training job a
seed derived from it and the job's index (HPO_TUI_TRAINING_SEED, which training/mnist.py
reads); without one, jobs get none, as on SageMaker."""

from __future__ import annotations

import json

from hpo_tui import paths
from hpo_tui.engine import executor

from .conftest import wait_for


def _dumped_seeds(backend, name: str) -> dict[str, str | None]:
    snap = wait_for(backend, name)
    assert snap.tuning_job.status == "Completed"
    seeds = {}
    for job in snap.training_jobs:
        env = json.loads((paths.jobs_dir() / name / job.name / "output" / "env.json").read_text())["env"]
        seeds[job.name] = env.get(executor.TRAINING_SEED_VARIABLE)
    return seeds


def test_each_job_gets_a_seed_from_random_seed_and_its_index(backend, fake_spec) -> None:
    name = backend.launch(fake_spec(static={"dump_env": 1}, max_jobs=3, max_parallel_jobs=1, random_seed=7))
    seeds = _dumped_seeds(backend, name)
    assert seeds == {f"{name}-{i + 1:03d}": str(executor.training_seed(7, i)) for i in range(3)}
    assert len(set(seeds.values())) == 3


def test_the_same_spec_gives_its_jobs_the_same_seeds_again(backend, fake_spec) -> None:
    first = _dumped_seeds(backend, backend.launch(fake_spec(static={"dump_env": 1}, max_jobs=2, random_seed=7)))
    second = _dumped_seeds(backend, backend.launch(fake_spec(static={"dump_env": 1}, max_jobs=2, random_seed=7)))
    assert sorted(first.values()) == sorted(second.values())


def test_without_random_seed_no_job_is_seeded(backend, fake_spec, monkeypatch) -> None:
    # Not even by a variable the user's shell happens to have.
    monkeypatch.setenv(executor.TRAINING_SEED_VARIABLE, "5")
    name = backend.launch(fake_spec(static={"dump_env": 1}, max_jobs=2, random_seed=None))
    assert set(_dumped_seeds(backend, name).values()) == {None}


def test_training_seeds_are_stable_across_runs_and_versions() -> None:
    # A stable hash (not Python's salted hash()): the same tuning job seeds the same next year.
    assert [executor.training_seed(1, i) for i in range(3)] == [695092613, 2409491292, 517116432]
    assert all(0 <= executor.training_seed(2**31 - 1, i) < 2**32 for i in range(750))
