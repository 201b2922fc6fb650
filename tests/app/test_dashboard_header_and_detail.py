"""The dashboard's header (progress by epochs, the ETA, whole counters, why a tuning job ended)
and the detail view of one training job: its epochs, its log (no markup or escapes, wrapped,
searched, followed, handed to the pager), SageMaker links and cost, divergence."""

from __future__ import annotations

import os
import re
from dataclasses import replace

from textual.widgets import DataTable, Log, Static

from hpo_tui.app.screens.dashboard import DashboardScreen
from hpo_tui.views import LogChunk
from tests.app.conftest import SIZE, dashboard_app, diverged_app, job_named, screen_text, settle, wait_until
from tests.app.fake_backend import NOW, FakeBackend, ScriptedJob, finished_jobs, mid_run_jobs, snapshot_of


def _finished_app():
    jobs = finished_jobs()
    return dashboard_app(FakeBackend([snapshot_of(jobs, "Completed", ended=NOW - 60.0)], jobs=jobs))


class LongLogBackend(FakeBackend):
    """The scripted finished run, where job 8's log has `lines` lines (dimmed batch lines between)."""

    def __init__(self, lines: int) -> None:
        jobs = finished_jobs()
        super().__init__([snapshot_of(jobs, "Completed", ended=NOW - 60.0)], jobs=jobs)
        self.long_job = jobs[7].name
        base = jobs[7].log()
        filler = [f"\x1b[2mINFO:root:Batch [{i}] Speed: 1234 samples/sec\x1b[0m" for i in range(lines - len(base))]
        self.long_log = base[:1] + filler + base[1:]

    def log_tail(self, job: str, cursor=None) -> LogChunk:
        if job != self.long_job:
            return super().log_tail(job, cursor)
        return LogChunk(tuple(self.long_log[cursor or 0:]), len(self.long_log))


def _long_log_app(lines: int):
    backend = LongLogBackend(lines)
    return dashboard_app(backend), backend.long_job


async def test_progress_is_weighted_by_epochs_and_the_header_shows_an_eta():
    from textual.widgets import ProgressBar

    # The run: 0/9 finished for 1m33s while its jobs were 15/34, 14/15 and 13/37 epochs in.
    jobs = [ScriptedJob(i, "InProgress", {"optimizer": "sgd", "learning_rate": "0.1", "num_epoch": str(n)},
                        [0.9 + k * 1e-3 for k in range(done)], start=0)
            for i, (done, n) in enumerate(((15, 34), (14, 15), (13, 37)))]
    snap = snapshot_of(jobs)
    from hpo_tui.app.app import make_app
    from tests.app.fake_backend import TUNING_JOB

    now = snap.tuning_job.created_at + 94.0
    app = make_app(backend=FakeBackend([replace(snap, fetched_at=now)], jobs=jobs), attach=TUNING_JOB,
                   start="dashboard", interval=3600.0, clock=lambda: now)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        bar = app.screen.query_one("#dash-progress", ProgressBar)
        assert bar.percentage is not None and bar.percentage > 0.05  # not "0%" any more
        counters = str(app.screen.query_one("#dash-counters", Static).render())
        assert re.search(r"ETA \d+m\d\ds", counters), counters
        assert "0/9 finished" in counters and "epochs 42/" in counters


async def test_the_header_keeps_every_counter_whole_at_120_and_80_columns():
    for size, wanted in (((120, 40), "ep 41/58"), ((80, 24), "ep 41/58")):
        app = diverged_app()
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            header = " ".join(screen_text(app)[:4])
            for counter in ("ETA 36m02s", "10/15", "3/4 run (3 cpu)", "1 fail", "1 stop", "8 ", wanted):
                assert counter in header, (size, counter, header)


async def test_a_tuning_job_completed_early_says_why_in_the_header():
    from textual.widgets import Static

    from tests.app.fake_backend import finished_jobs

    done = snapshot_of(finished_jobs(), "Completed", ended=None)
    early = replace(done, tuning_job=replace(done.tuning_job, completion_reason="target objective value reached"))
    app = dashboard_app(FakeBackend([early]))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        title = str(app.screen.query_one("#dash-title", Static).render())
        assert "Completed" in title and "(target objective value reached)" in title


async def test_detail_says_best_of_its_epochs_and_ticks_whole_epochs():
    app = _finished_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        info = str(app.screen.query_one("#detail-info", Static).render())
        assert "(best of its epochs: 0.9702)" in info and "best epoch" not in info
        plot = app.screen.query(".metric-chart").first()
        lines = [strip.text for strip in plot.render_lines(plot.region.reset_offset)]
        axis = next(i for i, line in enumerate(lines) if "└" in line)
        ticks = lines[axis + 1].split()
        assert ticks == [str(n) for n in range(1, 6)]  # epochs 1..5: the log's Epoch[0..4]
        assert "log Epoch[0] = 1" in lines[axis + 2]


async def test_the_detail_view_says_a_job_diverged():
    app = diverged_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#jobs-table", DataTable)
        table.move_cursor(row=table.get_row_index(job_named(12)))
        await pilot.press("enter")
        await settle(pilot)
        info = str(app.screen.query_one("#detail-info", Static).render())
        assert "diverged" in info and "0.9552" in info  # its objective against the median


async def test_detail_of_a_sagemaker_job_shows_console_and_cloudwatch_links_and_cost():
    from hpo_tui.app.screens.detail import DetailScreen

    jobs = mid_run_jobs()
    base = snapshot_of(jobs)
    # A SageMaker tuning job in GovCloud: links go to that partition's console.
    sagemaker = replace(base, tuning_job=replace(base.tuning_job, backend="sagemaker", region="us-gov-west-1"),
                        training_jobs=tuple(replace(j, billable_seconds=540.0, instance_hours=0.15,
                                                    secondary_status="Training" if j.status == "InProgress" else None)
                                            for j in base.training_jobs))
    app = dashboard_app(FakeBackend([sagemaker], jobs=jobs))
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot)
        counters = str(app.screen.query_one("#dash-counters").render())
        assert "instance-hours" in counters
        running = next(j for j in sagemaker.training_jobs if j.status == "InProgress")
        table = app.screen.query_one("#jobs-table", DataTable)
        table.move_cursor(row=table.get_row_index(running.name))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DetailScreen)
        info = str(app.screen.query_one("#detail-info").render())
        assert f"console https://console.amazonaws-us-gov.com/sagemaker/home?region=us-gov-west-1#/jobs/{running.name}" in info
        assert "logs https://console.amazonaws-us-gov.com/cloudwatch/home?region=us-gov-west-1#logsV2:" in info
        assert "SageMaker: Training" in info and "billed 9m" in info


async def test_detail_shows_the_log_without_markup_or_escapes(mid_run_backend):
    from textual.widgets import Log

    from hpo_tui.app.screens.detail import DetailScreen

    app = dashboard_app(mid_run_backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        failed = next(j for j in app.screen.snapshot.training_jobs if j.status == "Failed")
        table = app.screen.query_one("#jobs-table", DataTable)
        table.move_cursor(row=table.get_row_index(failed.name))
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DetailScreen) and app.screen.job == failed.name
        log = app.screen.query_one("#detail-log", Log)
        text = "\n".join(log.lines)
        assert "[bold]not markup[/bold]" in text
        assert "Traceback (most recent call last):" in text and "\x1b" not in text
        info = str(app.screen.query_one("#detail-info").render())
        assert "loss became NaN" in info and "learning_rate=0.1980001" in info
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)


async def test_log_lines_wrap_in_the_detail_view():
    long_reason = "AlgorithmError: " + "a very long traceback line " * 12
    jobs = mid_run_jobs()
    jobs[2] = replace(jobs[2], failure_reason=long_reason)
    app = dashboard_app(FakeBackend([snapshot_of(jobs)], jobs=jobs))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#jobs-table", DataTable)
        table.move_cursor(row=table.get_row_index(jobs[2].name))
        await pilot.press("enter")
        await settle(pilot)
        log = app.screen.query_one("#detail-log")
        await wait_until(pilot, lambda: log.raw_lines, "the log")
        assert any(line.strip() == long_reason.strip() for line in log.raw_lines)  # the pager gets it whole
        assert log.virtual_size.width <= log.size.width  # no sideways scrolling: it wraps
        assert any(line.startswith("  ↪ ") for line in log.lines)


async def test_the_log_viewer_searches_follows_and_strips_escapes():
    app, name = _long_log_app(5000)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#jobs-table")
        table.move_cursor(row=table.get_row_index(name))
        await pilot.press("enter")
        await settle(pilot)
        log = app.screen.query_one("#detail-log", Log)
        assert log.line_count == 5000 and not any("\x1b" in line for line in log.lines)
        assert log.auto_scroll and log.scroll_y == log.max_scroll_y  # following: the end is in view
        title = app.screen.query_one("#detail-log-title", Static)
        await pilot.press("slash", *"validation-accuracy")
        await settle(pilot)
        first = app.screen.match_line
        assert first is not None and "Validation-accuracy" in log.lines[first]
        assert "match 1 of 5" in str(title.render())
        assert not log.auto_scroll  # a search stops following
        assert log.scroll_y <= first < log.scroll_y + log.size.height
        await pilot.press("enter", "n")
        assert app.screen.match_line > first and "match 2 of 5" in str(title.render())
        await pilot.press("N", "N")
        assert "match 5 of 5" in str(title.render())  # wraps around, as less does
        await pilot.press("f")
        await settle(pilot)
        assert log.auto_scroll and "following" in str(title.render())


async def test_v_hands_the_log_to_the_pager_as_an_argv(monkeypatch, tmp_path):
    # Pilot's headless driver cannot lend the terminal: the file stays and the app says where.
    app, name = _long_log_app(50)
    monkeypatch.setenv("PAGER", "less -R")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#jobs-table")
        table.move_cursor(row=table.get_row_index(name))
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("v")
        await settle(pilot)
        message = next(n.message for n in app._notifications if "log is in" in n.message)
        path = re.search(r"log is in (\S+)", message).group(1)
        text = open(path, encoding="utf-8").read()
        assert text.count("\n") == 50 and "\x1b" not in text
        os.unlink(path)
    monkeypatch.setenv("PAGER", "no-such-pager-here")
    app, name = _long_log_app(10)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("v")
        await pilot.pause()
        assert any("No pager found (no-such-pager-here)" in n.message for n in app._notifications)
