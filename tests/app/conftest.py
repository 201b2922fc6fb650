"""Helpers shared by the app tests: build the app on scripted data, and let it settle."""

from __future__ import annotations

import contextlib

import pytest
from textual.pilot import Pilot

from hpo_tui.app.widgets.dashboard_charts import DashboardCharts
from tests.app.fake_backend import (
    NOW,
    TUNING_JOB,
    FakeBackend,
    finished_jobs,
    mid_run_jobs,
    snapshot_of,
)


async def settle(pilot: Pilot, pause: float = 0.05) -> None:
    """Wait until the workers finished and their messages were handled, and the charts show
    their last drawing (they are built on a worker thread that starts at a frame)."""
    await pilot.pause(pause)
    await pilot.app.workers.wait_for_complete()
    # Messages posted by the workers, then the table's idle-time column sizing.
    await pilot.pause(pause)
    await pilot.pause()
    for _ in range(200):  # a guard against a hang, not a timing assertion
        if all(charts.is_current for screen in pilot.app.screen_stack for charts in screen.query(DashboardCharts)):
            break
        await pilot.pause(0.02)
        await pilot.app.workers.wait_for_complete()


async def started(pilot: Pilot) -> None:
    """Wait until the app shows its start screen: it is pushed once the app's own mount is
    over (HpoApp.on_mount), as a user would wait for it to appear."""
    for _ in range(500):  # a guard against a hang, not a timing assertion
        if len(pilot.app.screen_stack) > 1 and pilot.app.screen.is_mounted:
            break
        await pilot.pause(0.01)
    await pilot.pause()


@pytest.fixture(autouse=True)
def run_test_waits_for_the_start_screen(monkeypatch):
    """Pilot's run_test returns once the app's own mount is over, and the start screen is
    pushed after it (HpoApp.on_mount): the tests start once it is up and settled, as a
    user would see it (its footer built, its first focus given)."""
    from hpo_tui.app.app import HpoApp

    run_test = HpoApp.run_test

    @contextlib.asynccontextmanager
    async def waiting(self, *args, **kwargs):
        async with run_test(self, *args, **kwargs) as pilot:
            await started(pilot)
            yield pilot

    monkeypatch.setattr(HpoApp, "run_test", waiting)


@pytest.fixture
def snap_compare(snap_compare):
    """The snapshot plugin's snap_compare, whose run_before starts once the start screen is
    up (the plugin runs it as soon as the app's mount is over)."""

    def compare(app, *args, run_before=None, **kwargs):
        async def before(pilot: Pilot) -> None:
            await started(pilot)
            if run_before is not None:
                result = run_before(pilot)
                if result is not None:
                    await result

        return snap_compare(app, *args, run_before=before, **kwargs)

    return compare


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


def record_tuning_job(name: str, spec=None, *, status: str = "Completed",
                      best: dict[str, str] | None = None) -> None:
    """Write a finished tuning job (and, with best, one Completed training job) into the real
    local store, as a runner would have left it: no process is started."""
    import json
    import time

    from hpo_tui import paths
    from hpo_tui.engine.store import Store, spec_to_json
    from hpo_tui.spec import TuningSpec

    spec = spec or TuningSpec()
    now = time.time()
    folder = paths.jobs_dir() / name
    writer = Store.writer(paths.store_path())
    try:
        with writer.write():
            writer.insert("tuning_jobs", dict(
                name=name, spec_json=spec_to_json(spec), status=status, strategy=spec.strategy,
                objective_name=spec.objective.name, objective_type=spec.objective.type,
                max_jobs=spec.max_jobs or 1,
                tuned_parameters=json.dumps(list(spec.ranges)), created_at=now - 60, ended_at=now - 1,
                folder=str(folder)))
            if best is not None:
                writer.insert("training_jobs", dict(
                    name=f"{name}-001-abcd", tuning_job=name, launch_index=0, status="Completed",
                    objective_status="Succeeded", hyperparameters=json.dumps(best), final_objective=0.97,
                    best_objective=0.97, last_epoch=1, created_at=now - 50, started_at=now - 49,
                    ended_at=now - 2, log_path=str(folder / "001.log")))
    finally:
        writer.close()
