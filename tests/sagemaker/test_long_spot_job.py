"""A long spot tuning job on SageMaker: the numbers after an attach, the spot bill, and
`logs --follow` across streams that appear later. A simulated account
(sim_account: SageMaker answered through botocore and validated against its shapes, CloudWatch
Logs in moto's server) on a clock the test advances.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from hpo_tui.backends.sagemaker import SageMakerBackend
from hpo_tui.report import cost_text, render_status
from tests.sagemaker.sim_account import Clock, SimAccount

NAME = "mnist-spot-520"


def spot_request(name: str, max_jobs: int = 750, max_parallel: int = 10, *, spot: bool = True) -> dict[str, Any]:
    from hpo_tui.spec import TuningSpec
    from hpo_tui.spec.request import render_request

    spec = TuningSpec(max_jobs=max_jobs, max_parallel_jobs=max_parallel, backend="sagemaker")
    spec.estimator.use_spot_instances = spot
    spec.estimator.max_wait_seconds = 7200 if spot else None
    spec.estimator.max_run_seconds = 3600
    return render_request(spec, job_name=name, region="us-east-1",
                          role_arn="arn:aws:iam::123456789012:role/SageMakerTuning")


@pytest.fixture()
def account(moto_endpoint: str, boto_session: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[SimAccount]:
    """A simulated account on a clock 20 days back (moto takes log events up to 14 days old
    and 2 hours ahead of the real time: the test moves the clock forward from there)."""
    import time

    from hpo_tui.backends.sagemaker import backend as backend_module
    from hpo_tui.backends.sagemaker import poll as poll_module

    clock = Clock(time.time() - 10 * 86400)
    monkeypatch.setattr(poll_module, "time", clock)
    monkeypatch.setattr(backend_module, "time", clock)
    sim = SimAccount(clock, boto3.Session().client("logs"), seed=24)
    sim.install(boto_session)
    yield sim


def attach_520(sim: SimAccount) -> None:
    sim.create(spot_request(NAME))
    sim.tunings[NAME].jobs.clear()
    sim.fast_forward(NAME, ended=510, running=10)
    sim.advance(150)  # the running jobs are a couple of epochs in


def ended_bill(sim: SimAccount) -> float:
    """What SageMaker bills for the jobs that ended (spot: BillableTimeInSeconds)."""
    return float(sum(job.billable() or 0 for job in sim.tunings[NAME].jobs if job.terminal))


def test_status_of_a_520_job_spot_run_shows_its_progress_by_the_budget_and_a_partial_bill(
        account: SimAccount, boto_session: Any) -> None:
    """Before the fix: `progress 0%  epochs 0/7226`, and "billed 4h25m over 10 training
    jobs" with no word that 510 spot jobs were left out."""
    from hpo_tui.backends.base import poll_rows

    attach_520(account)
    backend = SageMakerBackend(boto_session=boto_session)
    snap = poll_rows(backend, NAME)
    text = render_status(snap)
    progress = re.search(r"^progress\s+(\d+)%", text, re.M)
    assert progress and int(progress.group(1)) >= 60, text.splitlines()[:8]
    assert "510/750 jobs ended" in text
    cost = cost_text(snap)
    assert cost is not None and "partial" in cost and "at least" in cost
    billing = snap.billing
    assert billing.partial and billing.jobs + billing.unknown == 520
    # One poll describes at most ENDED_DESCRIBES_PER_POLL ended jobs plus the running ones.
    assert account.calls.count("DescribeTrainingJob") <= 25 + 10


def test_the_dashboard_polls_reach_the_progress_at_once_and_bill_every_ended_job_within_one_percent(
        account: SimAccount, boto_session: Any) -> None:
    """The dashboard's polls (rows first, then with points): >= 60% from the first poll on,
    the running jobs' epochs read from the second, an ETA of hours, not 81; the bill says
    partial, with how many jobs it covers, until every ended spot job was described (the
    running spot jobs' billed time is only known once they end), and is then within 1% of
    what the ended jobs cost."""
    from hpo_tui.backends.base import poll_for_view
    from hpo_tui.invariants import check_billing, check_session

    attach_520(account)
    backend = SageMakerBackend(boto_session=boto_session)
    snaps = []
    cursor = None
    for poll in range(40):
        snap = poll_for_view(backend, NAME, cursor).prepare()
        cursor = snap.cursor
        snaps.append(snap)
        if poll < 3:
            assert snap.estimate.fraction >= 0.6, (poll, snap.estimate)
        billing = snap.billing
        cost = cost_text(snap)
        assert billing.partial and "partial" in cost and f"over {billing.jobs} of 520" in cost
        assert check_billing(snap, true_seconds=ended_bill(account) + 1e9, text=cost) == []
        if billing.unknown == len(snap.running):
            break
        account.advance(15)
    else:
        pytest.fail("the bill never covered every ended job")
    assert len(snaps) <= 22  # 510 ended spot jobs, 25 a poll
    assert check_session(snaps) == []
    assert sum(j.last_epoch is not None for j in snaps[1].training_jobs if not j.is_terminal) == 10
    eta = snaps[2].estimate.remaining_seconds
    assert eta is not None and 3600 < eta < 40 * 3600  # 230 jobs of ~30 min, 10 at a time
    assert snaps[-1].billing.seconds == pytest.approx(ended_bill(account), rel=0.01)


def test_logs_follow_prints_every_event_of_every_stream_once_in_order(
        account: SimAccount, boto_session: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    """A spot job interrupted mid-run goes on in a new JOB/algo-1-<ts> stream. Before the fix
    `logs --follow` printed the lines of the first stream only and exited at Completed."""
    from hpo_tui.cli import main
    from hpo_tui.commands import jobs as jobs_module

    account.create(spot_request("mnist-follow", max_jobs=1, max_parallel=1))
    job = account.tunings["mnist-follow"].jobs[0]
    job.planned = 6
    account.advance(200)  # epochs 0-1 (and the first line of epoch 2's minute)
    steps = iter([lambda: account.interrupt(job, pause=120), lambda: account.advance(130),
                  lambda: account.advance(600)] + [lambda: account.advance(60)] * 10)
    monkeypatch.setattr(jobs_module.time, "sleep", lambda _seconds: next(steps)())
    monkeypatch.setattr(boto3, "Session", lambda *a, **k: boto_session)
    assert main(["logs", "--backend", "sagemaker", "--follow", job.name]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(job.streams) == 2 and job.status == "Completed"
    expected = account.all_events(job.name)
    assert [re.sub(r"^\[[^]]+\] ", "", line) for line in out] == expected
    assert sum("Validation-accuracy" in line for line in out) == 6


async def test_the_tui_header_shows_the_progress_by_the_budget_from_the_first_poll(
        account: SimAccount, boto_session: Any) -> None:
    """The dashboard attached to the 520-job run: its progress bar reads >= 60% as soon as the
    first poll (rows only) is shown, and stays there over the next polls. Before the fix: 0%."""
    from textual.widgets import ProgressBar

    from hpo_tui.app.app import make_app

    attach_520(account)
    backend = SageMakerBackend(boto_session=boto_session)
    app = make_app(backend=backend, attach=NAME, start="dashboard", interval=0.2)
    seen: list[float] = []
    async with app.run_test(size=(160, 50)) as pilot:
        polls = 0
        for _ in range(600):  # generous: the machine may be loaded
            await pilot.pause(0.05)
            snap = getattr(app.screen, "snapshot", None)
            if snap is None:
                continue
            bar = app.screen.query_one("#dash-progress", ProgressBar)
            if bar.percentage is not None and (not seen or snap.cursor.polls != polls):
                polls = snap.cursor.polls
                seen.append(bar.percentage)
            if polls >= 3:
                break
    assert polls >= 3 and seen
    assert all(p >= 0.6 for p in seen), seen


def test_a_throttled_poll_returns_its_own_last_data_not_another_watchers(account: SimAccount,
                                                                        boto_session: Any) -> None:
    """Found by the SageMaker state machine: the dashboard's polls had read the running jobs'
    epochs; a `status` (rows only) on the same backend came in between; the next poll was
    throttled and returned the status's snapshot as its stale data: progress went back
    (75.13% -> 75.07%). A throttled poll now returns the snapshot its own cursor came from."""
    from hpo_tui.backends.base import poll_for_view, poll_rows

    attach_520(account)
    backend = SageMakerBackend(boto_session=boto_session)
    first = poll_for_view(backend, NAME)
    second = poll_for_view(backend, NAME, first.cursor)
    assert any(j.last_epoch is not None for j in second.training_jobs if not j.is_terminal)
    rows = poll_rows(backend, NAME)
    assert rows.estimate.fraction < second.estimate.fraction
    account.throttle_rate = 1.0
    stale = poll_for_view(backend, NAME, second.cursor)
    assert stale.warning and "throttling" in stale.warning
    assert stale.estimate.fraction == second.estimate.fraction
    assert stale.training_jobs == second.training_jobs


async def test_the_tui_live_log_shows_the_stream_a_spot_restart_opens(account: SimAccount, boto_session: Any) -> None:
    """The detail screen's live log of a spot job: the lines before the interruption, then
    those of the new JOB/algo-1-<ts> stream, each once, in order. Before the fix the log
    stopped at the interruption."""
    from textual.widgets import Log

    from hpo_tui.app.app import make_app
    from hpo_tui.app.screens.detail import DetailScreen

    account.create(spot_request("mnist-live", max_jobs=1, max_parallel=1))
    job = account.tunings["mnist-live"].jobs[0]
    job.planned = 5
    account.advance(150)  # epochs 0 and 1
    backend = SageMakerBackend(boto_session=boto_session)
    app = make_app(backend=backend, attach="mnist-live", start="dashboard", interval=0.2)

    def shown() -> list[str]:
        lines = list(app.screen.query_one("#detail-log", Log).lines)
        return [re.sub(r"^\[[^]]+\] ", "", line) for line in lines]

    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause(0.1)
        app.push_screen(DetailScreen("mnist-live", job.name))
        for _ in range(400):
            await pilot.pause(0.05)
            if isinstance(app.screen, DetailScreen) and len(shown()) >= 4:
                break
        assert shown() == account.all_events(job.name)
        account.interrupt(job, pause=60)
        account.advance(600)  # resumed in a new stream, ran to the end
        expected = account.all_events(job.name)
        assert len(job.streams) == 2 and job.status == "Completed"
        for _ in range(400):
            await pilot.pause(0.05)
            if shown() == expected:
                break
        assert shown() == expected


def test_a_running_job_whose_curve_was_loaded_is_read_on_from_there_not_again(account: SimAccount,
                                                                             boto_session: Any) -> None:
    """After the rows-only first poll, the dashboard loads the curve of a running job it
    shows; the next poll goes on from where that read stopped: no epoch comes twice."""
    from hpo_tui.backends.base import poll_for_view

    attach_520(account)
    account.advance(300)
    backend = SageMakerBackend(boto_session=boto_session)
    first = poll_for_view(backend, NAME)
    running = next(j.name for j in first.training_jobs if not j.is_terminal)
    loaded = {(p.metric, p.epoch) for p in backend.curves(NAME, [running])}
    assert loaded
    account.advance(120)
    second = poll_for_view(backend, NAME, first.cursor)
    again = {(p.metric, p.epoch) for p in second.new_points if p.job == running}
    assert again and not (again & loaded), sorted(again & loaded)
