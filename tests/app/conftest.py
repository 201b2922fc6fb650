"""Helpers shared by the app tests: build the app on scripted data, and let it settle."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from tests.app.fake_backend import NOW, TUNING_JOB, FakeBackend, finished_jobs, mid_run_jobs, snapshot_of


async def settle(pilot: Pilot, pause: float = 0.05) -> None:
    """Wait until the workers finished and their messages were handled."""
    await pilot.pause(pause)
    await pilot.app.workers.wait_for_complete()
    # Messages posted by the workers, then the table's idle-time column sizing.
    await pilot.pause(pause)
    await pilot.pause()


@pytest.fixture
def mid_run_backend() -> FakeBackend:
    jobs = mid_run_jobs()
    return FakeBackend([snapshot_of(jobs)], jobs=jobs)


@pytest.fixture
def finished_backend() -> FakeBackend:
    jobs = finished_jobs()
    return FakeBackend([snapshot_of(jobs, "Completed", ended=NOW - 60.0)], jobs=jobs)


def dashboard_app(backend: FakeBackend, **kwargs):
    from hpo_tui.app.app import make_app

    # A long interval: the test decides when to poll again (r); the clock is frozen.
    return make_app(backend=backend, attach=TUNING_JOB, start="dashboard", interval=3600.0,
                    clock=lambda: NOW, **kwargs)
