"""Snapshot tests of the dashboard, detail and tuning jobs screens on scripted data."""

from __future__ import annotations

from hpo_tui.backends.base import BackendError
from tests.app.conftest import dashboard_app, settle
from tests.app.fake_backend import NOW, T0, FakeBackend, finished_jobs, mid_run_jobs, snapshot_of, tuning_view

SIZE = (120, 40)


def test_dashboard_mid_run_with_failed_job(snap_compare, mid_run_backend):
    assert snap_compare(dashboard_app(mid_run_backend), terminal_size=SIZE, run_before=settle)


def test_dashboard_finished(snap_compare, finished_backend):
    assert snap_compare(dashboard_app(finished_backend), terminal_size=SIZE, run_before=settle)


def test_dashboard_keeps_stale_data_on_backend_error(snap_compare, mid_run_backend):
    async def fail_second_poll(pilot):
        await settle(pilot)
        mid_run_backend.fail_next = BackendError("throttled by SageMaker (ThrottlingException): "
                                                 "polling slows down; raise --interval to poll less often")
        await pilot.press("r")
        await settle(pilot)

    assert snap_compare(dashboard_app(mid_run_backend), terminal_size=SIZE, run_before=fail_second_poll)


def test_detail_screen(snap_compare, finished_backend):
    async def open_best_job(pilot):
        await settle(pilot)
        await pilot.press("enter")  # the cursor starts on the best job (default sort)
        await settle(pilot)

    assert snap_compare(dashboard_app(finished_backend), terminal_size=SIZE, run_before=open_best_job)


def test_detail_screen_of_failed_job(snap_compare, mid_run_backend):
    async def open_failed_job(pilot):
        await settle(pilot)
        await pilot.press("down", "down", "down", "down", "enter")  # the failed job sorts 5th
        await settle(pilot)

    assert snap_compare(dashboard_app(mid_run_backend), terminal_size=SIZE, run_before=open_failed_job)


def test_tuning_jobs_screen(snap_compare):
    from hpo_tui.app.app import make_app
    from dataclasses import replace

    jobs = finished_jobs()
    older = replace(tuning_view(mid_run_jobs()[:3], "Stopped", ended=T0 - 3000.0), name="mnist-hpo-251127-0930",
                    created_at=T0 - 86_400.0 - 3600.0)
    failed = replace(tuning_view([], "Failed", ended=T0 - 90_000), name="mnist-hpo-251126-2210",
                     created_at=T0 - 2 * 86_400.0, failure_reason="training image not found")
    backend = FakeBackend([snapshot_of(jobs, "Completed", ended=NOW - 60.0)], jobs=jobs, others=[failed, older])
    app = make_app(backend=backend, start="jobs", interval=3600.0, clock=lambda: NOW)
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


def test_quit_confirm_while_running(snap_compare, mid_run_backend):
    async def press_q(pilot):
        await settle(pilot)
        await pilot.press("q")
        await settle(pilot)

    assert snap_compare(dashboard_app(mid_run_backend), terminal_size=SIZE, run_before=press_q)


def test_help_screen(snap_compare, finished_backend):
    async def press_help(pilot):
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)

    assert snap_compare(dashboard_app(finished_backend), terminal_size=SIZE, run_before=press_help)
