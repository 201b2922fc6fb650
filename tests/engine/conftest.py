"""Engine test helpers: specs for the fake training script, a LocalBackend whose runners
and training jobs are all killed at teardown, and a wait-for-the-end helper."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import pytest

from hpo_tui.views import Snapshot
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


__all__ = ["FAKE_TRAIN", "IntegerParameter", "wait_for"]
