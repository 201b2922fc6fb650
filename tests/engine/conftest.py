"""Engine test helpers: specs for the fake training script, a LocalBackend whose runners
and training jobs are all killed at teardown, waits (for a tuning job's end, for a condition),
the store's rows of a tuning job, its live trainers, and a runner killed on purpose."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from hpo_tui import paths
from hpo_tui.backends.local import LocalBackend
from hpo_tui.engine import procinfo
from hpo_tui.engine.store import Store
from hpo_tui.spec import (
    CategoricalParameter,
    Channels,
    ContinuousParameter,
    Estimator,
    IntegerParameter,
    TuningSpec,
)
from hpo_tui.views import Snapshot
from tests.conftest import processes_with_home

FAKE_TRAIN = Path(__file__).with_name("fake_train.py")


@pytest.fixture(autouse=True)
def short_stop_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 1 s SIGTERM-to-SIGKILL grace, so stop tests don't wait the default 5 s."""
    monkeypatch.setenv("HPO_TUI_STOP_GRACE", "1")


@pytest.fixture
def backend() -> LocalBackend:
    b = LocalBackend()
    yield b
    b.close()


@pytest.fixture
def channels(tmp_path: Path) -> Channels:
    """Empty channel folders: enough for fake_train.py, which reads no data."""
    for name in ("train", "test"):
        (tmp_path / "channels" / name).mkdir(parents=True)
    return Channels(train=str(tmp_path / "channels" / "train"), test=str(tmp_path / "channels" / "test"))


@pytest.fixture
def fake_spec(channels: Channels) -> Callable[..., TuningSpec]:
    """Build a spec that runs fake_train.py: fake_spec(static={...}, ranges={...}, ...)."""

    def make(
        *,
        static: dict[str, Any] | None = None,
        ranges: dict[str, Any] | None = None,
        max_jobs: int | None = 4,
        max_parallel_jobs: int = 2,
        strategy: str = "Random",
        random_seed: int | None = 7,
        **fields: Any,
    ) -> TuningSpec:
        hps: dict[str, Any] = {"num_epoch": 3}
        hps.update(static or {})
        if ranges is None:
            ranges = {
                "learning_rate": ContinuousParameter(0.001, 0.5, "Logarithmic"),
                "optimizer": CategoricalParameter(["sgd", "Adam"]),
            }
        for tuned in ranges:
            hps.pop(tuned, None)
        return TuningSpec(
            estimator=Estimator(entry_point=FAKE_TRAIN.name, source_dir=str(FAKE_TRAIN.parent),
                                hyperparameters=hps, base_job_name="fake"),
            ranges=ranges,
            strategy=strategy,
            max_jobs=max_jobs,
            max_parallel_jobs=max_parallel_jobs,
            random_seed=random_seed,
            channels=channels,
            **fields,
        )

    return make


def wait_for(backend: LocalBackend, name: str, until: Callable[[Snapshot], bool] | None = None,
             timeout: float = 120.0) -> Snapshot:
    """Poll until `until(snapshot)` (default: the tuning job is terminal); fail after timeout."""
    until = until or (lambda s: s.tuning_job.is_terminal)
    deadline = time.monotonic() + timeout
    while True:
        snap = backend.poll(name)
        if until(snap):
            return snap
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting on {name}: {snap.tuning_job}, {snap.training_jobs}")
        time.sleep(0.1)


def wait_until(check: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    """Wait until check() holds; fail naming what after timeout seconds (a guard, not speed)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        time.sleep(0.05)


def store_rows(name: str) -> tuple[dict, list[dict]]:
    """(the tuning job's row, its training jobs' rows), read from the real store."""
    store = Store.reader(paths.store_path())
    try:
        return store.tuning_job(name), store.training_jobs(name)
    finally:
        store.close()


def trainers(home: Path) -> list[int]:
    """Live fake_train.py processes started for this test's home."""
    out = []
    for pid in processes_with_home(home):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"fake_train.py" in cmd:
            out.append(pid)
    return out


def kill_runner(backend: LocalBackend, name: str) -> None:
    """SIGKILL the tuning job's runner and wait until it is gone (reaped if it is our child)."""
    row, _ = store_rows(name)
    pid, started = row["runner_pid"], row["runner_start_time"]
    os.kill(pid, signal.SIGKILL)

    def gone() -> bool:
        backend._reap_children()
        return not procinfo.is_alive(pid, started)

    wait_until(gone, what=f"runner {pid} to die")


__all__ = ["FAKE_TRAIN", "IntegerParameter", "wait_for"]
