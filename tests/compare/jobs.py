"""Finished local tuning jobs of the fake trainer for the compare and housekeeping tests: a
Random parent and a Bayesian child that warm-starts from it, both with three metrics defined
(the fake trainer logs Train-accuracy, Validation-accuracy and Validation-loss per epoch)."""

from __future__ import annotations

import time
from pathlib import Path

from hpo_tui.backends.local import LocalBackend
from hpo_tui.spec import (CategoricalParameter, Channels, ContinuousParameter, Estimator, MetricDefinition,
                          TuningSpec, WarmStartSettings)

FAKE_TRAIN = Path(__file__).parents[1] / "engine" / "fake_train.py"
METRICS = ("Validation-accuracy", "Train-accuracy", "Validation-loss")
WAIT = 300.0  # a guard against a hang, not a speed target


def fake_spec(workdir: Path, *, name: str, strategy: str = "Random", max_jobs: int = 3,
              parents: list[str] | None = None, static: dict | None = None) -> TuningSpec:
    for channel in ("train", "test"):
        (workdir / "channels" / channel).mkdir(parents=True, exist_ok=True)
    return TuningSpec(
        estimator=Estimator(entry_point=FAKE_TRAIN.name, source_dir=str(FAKE_TRAIN.parent),
                            hyperparameters={"num_epoch": 3, **(static or {})}, base_job_name="cmp"),
        ranges={"learning_rate": ContinuousParameter(0.001, 0.5, "Logarithmic"),
                "optimizer": CategoricalParameter(["sgd", "Adam"])},
        metric_definitions=[MetricDefinition(m, m + r"=([0-9\.]+)") for m in METRICS],
        strategy=strategy, max_jobs=max_jobs, max_parallel_jobs=max_jobs, random_seed=7,
        tuning_job_name=name,
        warm_start=WarmStartSettings(parents=parents, type="IdenticalDataAndAlgorithm") if parents
        else WarmStartSettings(),
        channels=Channels(train=str(workdir / "channels" / "train"), test=str(workdir / "channels" / "test")),
    )


def launch(spec: TuningSpec, *, wait: bool = True) -> str:
    backend = LocalBackend()
    try:
        name = backend.launch(spec)
        deadline = time.monotonic() + WAIT
        while wait and not backend.poll(name).tuning_job.is_terminal:
            if time.monotonic() > deadline:
                raise AssertionError(f"tuning job {name} did not end")
            time.sleep(0.1)
        return name
    finally:
        backend.close()


def rows_and_points(name: str):
    """A local tuning job's snapshot and every metric point of its training jobs."""
    backend = LocalBackend()
    try:
        snap = backend.poll(name)
        return snap, backend.curves(name, [j.name for j in snap.training_jobs])
    finally:
        backend.close()


def parent_and_child(workdir: Path) -> tuple[str, str]:
    """A finished Random tuning job, and a finished Bayesian one warm-started from it."""
    parent = launch(fake_spec(workdir, name="cmp-parent"))
    child = launch(fake_spec(workdir, name="cmp-child", strategy="Bayesian", parents=[parent]))
    return parent, child


GUARD = 600  # pauses of 0.05 s: a guard against a hang, not a timing assertion


async def until(pilot, condition, what: str) -> None:
    """Let the app run until condition() holds."""
    for _ in range(GUARD):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def compare_rows(screen) -> dict[str, list[str]]:
    """The compare screen's table: its first cell (without the ≠ mark) -> [the mark, the other cells]."""
    table = screen.query_one("#compare-table")
    out = {}
    for key in table.rows:
        cells = [str(c) for c in table.get_row(key)]
        out[cells[0][2:]] = [cells[0][:1]] + cells[1:]
    return out


def backdate(name: str, days: float) -> None:
    """Make a tuning job look as if it had ended `days` ago (as the runner would have recorded it)."""
    from hpo_tui import paths
    from hpo_tui.engine.store import Store

    writer = Store.writer(paths.store_path())
    try:
        with writer.write():
            writer.update_tuning_job(name, ended_at=time.time() - days * 86400)
    finally:
        writer.close()
