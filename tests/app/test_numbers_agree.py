"""The dashboard shows the numbers of the snapshot it got: the header's best job and the
star name the snapshot's best job, as `status` and the export do, its percentage is the
snapshot's progress (floored), and HPO_TUI_CHECK=1 puts a broken rule in the status bar."""

from __future__ import annotations

import dataclasses
import math

from textual.widgets import ProgressBar, Static

from hpo_tui import invariants
from hpo_tui.app.widgets.training_jobs_table import COL_JOB
from hpo_tui.report import export_rows, render_status
from tests.app.conftest import dashboard_app, settle
from tests.app.fake_backend import FakeBackend, mid_run_jobs, snapshot_of

SIZE = (120, 40)


def shown_best(app) -> tuple[str | None, list[str]]:
    """The best job the header names, and the jobs whose row carries the star."""
    header = str(app.screen.query_one("#dash-best", Static).render())
    named = header.split()[-1] if "★" in header else None
    table = app.screen.table
    starred = [key.value for key in table.rows if str(table.get_cell(key, COL_JOB)).startswith("★")]
    return named, starred


async def test_header_star_status_and_export_name_the_same_best_job(mid_run_backend):
    app = dashboard_app(mid_run_backend)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        snap = app.screen.snapshot
        named, starred = shown_best(app)
        invariants.assert_holds(invariants.check_snapshot(snap))
        invariants.assert_holds(invariants.check_best_shown(snap, header=named, starred=starred))
        invariants.assert_holds(invariants.check_status_text(snap, render_status(snap)))
        invariants.assert_holds(invariants.check_export(snap, export_rows(snap)[1]))
        bar = app.screen.query_one("#dash-progress", ProgressBar)
        assert round(bar.percentage * 100) == math.floor(snap.estimate.fraction * 100)


async def test_the_last_epoch_of_the_last_job_is_not_100_percent():
    jobs = mid_run_jobs()
    snap = snapshot_of(jobs)
    view = dataclasses.replace(snap.tuning_job, max_jobs=len(jobs))
    # Every job ended but one, which has printed its last epoch and not yet exited.
    ended = [dataclasses.replace(j, status="Completed", objective_status="Succeeded", ended_at=j.started_at + 60)
             if j.status == "InProgress" else j for j in snap.training_jobs[:-1]]
    last = snap.training_jobs[-1]
    last = dataclasses.replace(last, status="InProgress", ended_at=None, objective_status="Pending",
                               last_epoch=int(last.hyperparameters["num_epoch"]) - 1)
    almost = dataclasses.replace(snap, tuning_job=view, training_jobs=tuple(ended) + (last,))
    assert 0.99 <= almost.estimate.fraction < 1
    app = dashboard_app(FakeBackend([almost], jobs=jobs))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        bar = app.screen.query_one("#dash-progress", ProgressBar)
        assert bar.percentage < 1  # its label reads 99%, not 100%


async def test_check_mode_shows_a_broken_rule_in_the_status_bar(monkeypatch):
    jobs = mid_run_jobs()
    snap = snapshot_of(jobs)
    worst = snap.training_jobs[-1].name  # not the best job: the rule is broken
    wrong = dataclasses.replace(snap, tuning_job=dataclasses.replace(snap.tuning_job, best_training_job=worst))
    monkeypatch.setenv(invariants.CHECK_ENV, "1")
    app = dashboard_app(FakeBackend([wrong], jobs=jobs))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "[best]" in (app.screen.snapshot.warning or "")
        assert "invariant violated" in str(app.screen.query_one("#status-bar", Static).render())


async def test_the_jobs_list_counts_the_budget_as_jobs_does():
    from hpo_tui.app.app import make_app
    from hpo_tui.views import StatusCounters
    from tests.app.fake_backend import NOW, finished_jobs

    jobs = finished_jobs()
    snap = snapshot_of(jobs, "Completed", ended=NOW - 60.0)
    c = snap.tuning_job.status_counters
    # Two jobs lost with a dead runner, and run again: 9 ended and counted, 11 rows.
    lost = dataclasses.replace(snap.tuning_job, name="crashed-once", status_counters=StatusCounters(
        completed=c.completed, stopped=c.stopped, non_retryable_error=c.non_retryable_error, retryable_error=2))
    app = make_app(backend=FakeBackend([snap], jobs=jobs, others=[lost]), start="jobs", interval=3600.0,
                   clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one("DataTable")
        row = next(key for key in table.rows if key.value == "crashed-once")
        cell = str(table.get_row(row)[3])
        invariants.assert_holds(invariants.check_jobs_done(lost, cell))
