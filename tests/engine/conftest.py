"""Engine test helpers: specs for the fake training script, a LocalBackend whose runners
and training jobs are all killed at teardown, and a wait-for-the-end helper."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from hpo_tui.backends.base import Snapshot
from hpo_tui.backends.local import LocalBackend
from hpo_tui.spec import (
    CategoricalParameter,
    Channels,
    ContinuousParameter,
    Estimator,
    IntegerParameter,
    TuningSpec,
)

FAKE_TRAIN = Path(__file__).with_name("fake_train.py")


def processes_with_home(home: Path) -> list[int]:
    """Pids of live processes started with HPO_TUI_HOME=home (runners, jobs, their children)."""
    marker = f"HPO_TUI_HOME={home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            stat = (entry / "stat").read_bytes()
        except OSError:
            continue
        if stat[stat.rfind(b")") + 2 :].startswith(b"Z"):
            continue
        if marker in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


@pytest.fixture(autouse=True)
def engine_teardown(hpo_home: Path, monkeypatch: pytest.MonkeyPatch):
    """Short stop grace for tests; at teardown, kill whatever this test started."""
    monkeypatch.setenv("HPO_TUI_STOP_GRACE", "1")
    yield
    for _ in range(3):
        pids = processes_with_home(hpo_home)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.2)
    # Reap runners this test process started (they are its children).
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break


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


__all__ = ["FAKE_TRAIN", "IntegerParameter", "wait_for", "processes_with_home"]
