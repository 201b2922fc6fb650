"""The replay of tabulated training runs (hpo_tui.engine.replay): the engine's own search on a
simulated clock, answered from bench/data/mnist_table.jsonl, real runs of training/mnist.py."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hpo_tui.engine.metrics import MetricExtractor
from hpo_tui.engine.replay import Run, Table, TableTrainer, simulate
from hpo_tui.paths import training_dir
from hpo_tui.spec import CategoricalParameter, ContinuousParameter, Estimator, IntegerParameter, TuningSpec
from hpo_tui.spec.model import DEFAULT_OBJECTIVE, DEFAULT_REGEX

from .conftest import wait_for

# One pytest-xdist worker runs this module (make test: --dist loadgroup): its module fixture's
# table is then loaded once, not once on every worker.
pytestmark = pytest.mark.xdist_group("replay-table")

TABLE_FILE = Path(__file__).resolve().parents[2] / "bench" / "data" / "mnist_table.jsonl"
STRATEGIES = [("Random", "Off"), ("Bayesian", "Off"), ("Bayesian", "Auto"), ("Hyperband", "Off")]


@pytest.fixture(scope="module")
def table() -> Table:
    return Table.load(TABLE_FILE)


def reference_spec(strategy: str, early: str, seed: int, max_jobs: int = 9, parallel: int = 3) -> TuningSpec:
    spec = TuningSpec(
        estimator=Estimator(hyperparameters={"batch_size": 100}),
        ranges={"optimizer": CategoricalParameter(["sgd", "Adam"]),
                "learning_rate": ContinuousParameter(0.01, 0.2),
                "num_epoch": IntegerParameter(10, 50)},
        strategy=strategy, early_stopping=early, random_seed=seed, max_jobs=max_jobs, max_parallel_jobs=parallel,
    )
    spec.local.concurrency = parallel
    return spec


def outline(replay) -> list[tuple]:
    return [(j.index, j.hyperparameters, j.started, j.ended, j.status, j.final, j.epochs) for j in replay.jobs]


@pytest.mark.parametrize("strategy, early", STRATEGIES)
def test_the_replay_is_deterministic_per_seed(table: Table, strategy: str, early: str) -> None:
    first = outline(simulate(reference_spec(strategy, early, 5), table))
    assert outline(simulate(reference_spec(strategy, early, 5), table)) == first
    assert len(first) == 9
    other = outline(simulate(reference_spec(strategy, early, 6), table))
    assert [j[1] for j in other] != [j[1] for j in first]


def test_jobs_fill_the_slots_and_the_first_to_finish_frees_one(table: Table) -> None:
    replay = simulate(reference_spec("Bayesian", "Off", 3, max_jobs=9, parallel=3), table)
    jobs = sorted(replay.jobs, key=lambda j: j.index)
    assert [j.started for j in jobs[:3]] == [0.0] * 3
    ends = sorted(j.ended for j in jobs)
    for job in jobs[3:]:
        # Every later job starts when another ends, and never more than 3 run at once.
        assert job.started in ends
        assert sum(1 for j in jobs if j.started <= job.started < j.ended) <= 3
    assert replay.ended == max(ends) > 0


def test_the_median_rule_and_hyperband_stop_jobs_in_the_replay(table: Table) -> None:
    stopped = {label: sum(j.status == "Stopped" for s in range(1, 11)
                          for j in simulate(reference_spec(strategy, early, s, 30, 3), table).jobs)
               for label, (strategy, early) in {"off": ("Bayesian", "Off"), "auto": ("Bayesian", "Auto"),
                                                "hyperband": ("Hyperband", "Off")}.items()}
    assert stopped["off"] == 0
    assert stopped["auto"] > 0 and stopped["hyperband"] > 0


def test_a_job_at_a_grid_point_replays_the_tabulated_run(table: Table) -> None:
    (optimizer, lr, seed), run = next((k, r) for k, r in table.runs.items() if len(r.accuracy) >= 12)
    lines, code = TableTrainer(table).output(
        {"optimizer": optimizer, "learning_rate": repr(lr), "num_epoch": "12"}, table.seeds(optimizer, lr).index(seed))
    assert code == 0
    points = MetricExtractor([(DEFAULT_OBJECTIVE, DEFAULT_REGEX)]).feed_many(line for _, line in lines)
    assert [(p.epoch, p.value) for p in points] == [(k, round(run.accuracy[k], 6)) for k in range(12)]
    # The clock: start-up, then each epoch's time; the last line at the end of epoch 12.
    assert lines[-1][0] == pytest.approx(run.startup_seconds + sum(run.epoch_seconds[:12]))


def test_between_grid_points_the_curve_is_interpolated_in_log_learning_rate() -> None:
    runs = {("sgd", 0.01, 1): Run((0.90, 0.92), (1.0, 1.0), 2.0, None),
            ("sgd", 0.04, 1): Run((0.94, 0.96), (3.0, 3.0), 4.0, None)}
    curve = Table(runs).curve("sgd", 0.02, seed=0)  # halfway between 0.01 and 0.04 in log
    assert curve.accuracy == pytest.approx((0.92, 0.94))
    assert curve.epoch_seconds == pytest.approx((2.0, 2.0))
    assert curve.startup_seconds == pytest.approx(3.0)


def test_a_run_that_diverged_fails_the_job_with_the_scripts_line() -> None:
    message = "training diverged at epoch 2 (loss=nan); lower learning_rate"
    runs = {("adam", 0.1, 1): Run((0.5, 0.4), (1.0, 1.0), 2.0, message),
            ("adam", 0.2, 1): Run((0.3,), (1.0,), 2.0, message.replace("epoch 2", "epoch 1"))}
    trainer = TableTrainer(Table(runs))
    lines, code = trainer.output({"optimizer": "Adam", "learning_rate": "0.11", "num_epoch": "10"}, 0)
    assert code == 1 and lines[-1][1] == message
    # A job that ends before the epoch that diverged completes.
    lines, code = trainer.output({"optimizer": "Adam", "learning_rate": "0.11", "num_epoch": "2"}, 0)
    assert code == 0 and "diverged" not in lines[-1][1]


def _shape(line: str) -> str:
    return re.sub(r"\d", "9", line)


def test_the_table_trainer_prints_what_the_training_script_prints(table: Table, mnist_channels: Path,
                                                                   tmp_path: Path) -> None:
    import os

    env = dict(os.environ, SM_CHANNEL_TRAIN=str(mnist_channels / "train"), SM_CHANNEL_TEST=str(mnist_channels / "test"),
               SM_MODEL_DIR=str(tmp_path / "model"), OMP_NUM_THREADS="1", MXNET_CPU_WORKER_NTHREADS="1")
    script = subprocess.run(
        [sys.executable, str(training_dir() / "mnist.py"), "--num_epoch", "2", "--max_train_samples", "1000"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert script.returncode == 0, script.stderr
    script_lines = script.stdout.splitlines()
    (optimizer, lr, _), _run = next(iter(table.runs.items()))
    lines, _ = TableTrainer(table).output({"optimizer": optimizer, "learning_rate": repr(lr), "num_epoch": "2"}, 0)
    replayed = [line for _, line in lines]
    # Every line it prints has the form of a line the script prints (digits aside), in the
    # script's order, and the spec's default metric definition reads both alike.
    script_epoch_lines = [_shape(line) for line in script_lines if line.startswith("Epoch[")]
    assert [s for s in script_epoch_lines if s in {_shape(r) for r in replayed}] == [_shape(r) for r in replayed]
    definitions = [(DEFAULT_OBJECTIVE, DEFAULT_REGEX)]
    for output in (script_lines, replayed):
        points = MetricExtractor(definitions).feed_many(output)
        assert [p.epoch for p in points] == [0, 1] and all(0 <= p.value <= 1 for p in points)


def test_the_space_best_is_the_best_mean_over_seeds(table: Table) -> None:
    best = table.space_best(10, 50)
    assert 0.9 < best < 1.0
    # No tabulated (optimizer, rate, num_epoch) has a higher mean over its seeds.
    for (opt, lr, _), _run in table.runs.items():
        runs = [table.runs[(opt, lr, s)] for s in table.seeds(opt, lr)]
        for n in range(10, 51):
            if all(len(r.accuracy) >= n for r in runs):
                assert math.fsum(r.accuracy[n - 1] for r in runs) / len(runs) <= best + 1e-12


def test_the_replay_draws_the_jobs_the_local_engine_draws(table: Table, backend, fake_spec) -> None:
    # Random's draws depend only on the seed: the real runner (which reads the spec back from
    # the store, ranges in name order) and the replay must propose the same jobs in order.
    ranges = reference_spec("Random", "Off", 1).ranges
    spec = fake_spec(ranges=ranges, strategy="Random", max_jobs=9, max_parallel_jobs=3, random_seed=1)
    snap = wait_for(backend, backend.launch(spec))
    real = [j.hyperparameters for j in sorted(snap.training_jobs, key=lambda j: j.name)]
    replayed = [j.hyperparameters for j in sorted(simulate(spec, table).jobs, key=lambda j: j.index)]
    assert real == replayed
