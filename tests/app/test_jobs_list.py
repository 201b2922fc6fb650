"""The tuning jobs list: newest first, changed cells updated in place, / filter, j/k/g/G,
header sort, what status warns about; attaching from it, and a new tuning job from a
listed one (prefilled, or warm-started from a stopped one)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from textual.widgets import DataTable, Static

from hpo_tui.app.app import make_app
from hpo_tui.app.screens.configure import ConfigureScreen
from hpo_tui.app.screens.dashboard import DashboardScreen
from hpo_tui.app.screens.dialogs import ConfirmDialog
from tests.app.conftest import (
    SIZE,
    GatedBackend,
    WriteCounter,
    cursor_key,
    record_tuning_job,
    reference_like_spec,
    row_order,
    settle,
    wait_for_note,
    wait_until,
)
from tests.app.fake_backend import NOW, TUNING_JOB, FakeBackend, finished_jobs, mid_run_jobs, snapshot_of


def _jobs_list_app():
    from hpo_tui.app.app import make_app
    from tests.app.fake_backend import NOW, T0, finished_jobs, tuning_view

    jobs = finished_jobs()
    older = replace(tuning_view(mid_run_jobs()[:3], "Stopped", ended=T0 - 3000.0), name="mnist-hpo-251127-0930",
                    created_at=T0 - 86_400.0, strategy="Random")
    failed = replace(tuning_view([], "Failed", ended=T0 - 90_000), name="cifar-hpo-251126-2210",
                     created_at=T0 - 2 * 86_400.0)
    backend = FakeBackend([snapshot_of(jobs, "Completed", ended=NOW - 60.0)], jobs=jobs, others=[failed, older])
    return make_app(backend=backend, start="jobs", interval=3600.0, clock=lambda: NOW)


async def test_tuning_jobs_screen_lists_newest_first_and_enter_attaches():
    from dataclasses import replace as dc_replace

    from hpo_tui.app.app import make_app
    from tests.app.fake_backend import NOW, T0, tuning_view

    jobs = mid_run_jobs()
    older = dc_replace(tuning_view(jobs[:2], "Completed", ended=T0 - 10), name="mnist-hpo-older", created_at=T0 - 7200)
    backend = FakeBackend([snapshot_of(jobs)], jobs=jobs, others=[older])
    app = make_app(backend=backend, start="jobs", interval=3600.0, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#tuning-jobs-table", DataTable)
        assert row_order(table) == [TUNING_JOB, "mnist-hpo-older"]
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen) and app.screen.tuning_job == TUNING_JOB
        assert app.screen.query_one("#jobs-table", DataTable).row_count == 6
        await pilot.press("escape")  # back to the list
        await pilot.pause()
        assert app.screen.query_one("#tuning-jobs-table", DataTable).row_count == 2


async def test_tuning_jobs_screen_updates_changed_cells_in_place():
    from hpo_tui.app.app import make_app
    from tests.app.fake_backend import NOW, finished_jobs

    jobs = mid_run_jobs()
    backend = FakeBackend([snapshot_of(jobs), snapshot_of(finished_jobs(), "Completed", ended=NOW - 5)], jobs=jobs)
    app = make_app(backend=backend, start="jobs", interval=3600.0, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#tuning-jobs-table", DataTable)
        assert table.get_cell(TUNING_JOB, "status").plain == "InProgress"
        counter = WriteCounter(table)
        backend.frame = 1
        await pilot.press("r")
        await settle(pilot)
        assert table.get_cell(TUNING_JOB, "status").plain == "Completed"
        assert table.get_cell(TUNING_JOB, "progress").plain == "9/9"
        assert counter.adds == [] and counter.removes == []
        assert {col for _, col in counter.updates} == {"status", "progress", "best", "best_job"}


async def test_jobs_list_filters_with_slash_and_moves_with_j_k_g_G():
    app = _jobs_list_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#tuning-jobs-table", DataTable)
        newest_first = row_order(table)
        assert len(newest_first) == 3
        await pilot.press("j")
        assert cursor_key(table) == newest_first[1]
        await pilot.press("G")
        assert cursor_key(table) == newest_first[2]
        await pilot.press("g", "k")
        assert cursor_key(table) == newest_first[0]
        await pilot.press("slash", *"mnist")
        await settle(pilot)
        assert all(name.startswith("mnist") for name in row_order(table)) and table.row_count == 2
        await pilot.press("space", *"random")  # the strategy too
        await settle(pilot)
        assert row_order(table) == ["mnist-hpo-251127-0930"]
        await pilot.press(*"zzz")
        await settle(pilot)
        no_match = app.screen.query_one("#jobs-no-match", Static)
        assert no_match.display and "No tuning jobs match" in str(no_match.render())
        await pilot.press("escape")
        await settle(pilot)
        assert row_order(table) == newest_first and table.display
        assert not app.screen.query_one("#jobs-filter").display  # escape also hides the filter line


async def test_jobs_list_sorts_by_a_clicked_header():
    app = _jobs_list_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#tuning-jobs-table", DataTable)
        await pilot.click("#tuning-jobs-table", offset=(3, 0))  # the "tuning job" header
        await settle(pilot)
        assert row_order(table) == sorted(row_order(table))
        await pilot.click("#tuning-jobs-table", offset=(3, 0))
        await settle(pilot)
        assert row_order(table) == sorted(row_order(table), reverse=True)


async def test_the_jobs_list_shows_what_status_warns_about():
    """A runner not responding (or a stalled job) is marked in the jobs list, as `status` says it."""
    jobs = finished_jobs()
    frame = snapshot_of(jobs, "InProgress")
    warned = replace(frame.tuning_job, warning="runner not responding (42 s); `kill -CONT 4242` resumes it")
    backend = FakeBackend([replace(frame, tuning_job=warned)], jobs=jobs)
    app = make_app(backend=backend, start="jobs", interval=3600.0, clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        assert table.get_cell_at((0, 1)).plain == "InProgress ⚠"
        status = str(app.screen.query_one("#jobs-status", Static).render())
        assert f"⚠ {warned.name}: runner not responding (42 s)" in status


async def test_attaching_from_the_jobs_list_knows_a_completed_job_is_not_running():
    jobs = finished_jobs()
    backend = GatedBackend([snapshot_of(jobs, "Completed", ended=NOW - 60.0)], jobs=jobs)
    app = make_app(backend=backend, start="jobs", interval=3600.0, clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        backend.poll_gate.clear()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("q")  # before the dashboard's first poll: the list said Completed
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmDialog)
        backend.poll_gate.set()
    assert app.exit_hint is None


async def test_new_tuning_job_from_a_listed_one_opens_configure_prefilled():
    record_tuning_job("done-before", reference_like_spec())
    app = make_app(start="jobs", interval=3600.0)  # the real local backend and store
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.screen.jobs, "the jobs list")
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfigureScreen), "the configure screen")
        spec = app.screen.current_spec()
        assert spec.estimator.hyperparameters == {"batch_size": 64, "num_epoch": 2}
        assert set(spec.ranges) == {"optimizer", "learning_rate"} and spec.ranges["learning_rate"].max == 0.3
        assert (spec.max_jobs, spec.max_parallel_jobs) == (5, 2)
        assert spec.tuning_job_name is None  # a new name is generated at launch
        await wait_for_note(pilot, "New tuning job from done-before")


@pytest.mark.parametrize("start", ["dashboard", "jobs"])
async def test_new_tuning_job_from_a_stopped_one_warm_starts_from_it(start):
    # A Stopped tuning job stays stopped (resume refuses it); `n` offers the way on: a warm start.
    record_tuning_job("stopped-before", reference_like_spec(), status="Stopped",
                      best={"optimizer": "Adam", "learning_rate": "0.0871"})
    app = make_app(attach="stopped-before" if start == "dashboard" else None, start=start, interval=3600.0)
    async with app.run_test(size=SIZE) as pilot:
        if start == "dashboard":
            await wait_until(pilot, lambda: app.screen.snapshot is not None, "the first poll")
        else:
            await wait_until(pilot, lambda: app.screen.jobs, "the jobs list")
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfigureScreen), "the configure screen")
        spec = app.screen.current_spec()
        assert spec.warm_start.parents == ["stopped-before"]
        assert spec.tuning_job_name is None
        await wait_for_note(pilot, "warm-starting from stopped-before")
