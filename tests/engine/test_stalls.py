"""Stalled training jobs are seen (issue 25): a job with no log output and no CPU progress
for [local] stall_seconds is marked in `status` and `jobs`, with how long it has been silent
and whether its process is stopped (state T); [local] stall_timeout_seconds ends it as
Failed, with that reason."""

from __future__ import annotations

import os
import signal

from hpo_tui.backends.local import LocalBackend
from hpo_tui.cli import main
from hpo_tui.spec import LocalSettings

from .conftest import store_rows, wait_for, wait_until


def status_text(name: str, capsys) -> str:
    assert main(["status", name]) == 0
    return capsys.readouterr().out


def started_pid(backend, name: str) -> int:
    wait_for(backend, name, lambda s: any(j.last_epoch == 0 for j in s.training_jobs))
    return store_rows(name)[1][0]["pid"]


def test_a_silent_job_is_marked_in_status_and_jobs_and_a_stopped_one_says_so(backend, fake_spec, capsys):
    name = backend.launch(fake_spec(static={"num_epoch": 1, "hang": 1}, max_jobs=1, max_parallel_jobs=1,
                                    local=LocalSettings(stall_seconds=1)))
    pid = started_pid(backend, name)
    snap = wait_for(backend, name, lambda s: s.training_jobs[0].silent_since is not None)
    assert snap.training_jobs[0].status == "InProgress" and not snap.training_jobs[0].process_stopped
    out = status_text(name, capsys)
    assert "InProgress (silent " in out and "warning: stalled: " in out, out
    assert main(["jobs"]) == 0
    assert f"warning: {name}: 1 training job stalled" in capsys.readouterr().out

    os.kill(pid, signal.SIGSTOP)
    try:
        wait_until(lambda: "stopped (state T)" in status_text(name, capsys), what="status to show state T")
        assert "kill -CONT" in status_text(name, capsys)
        assert LocalBackend().poll(name).training_jobs[0].process_stopped
    finally:
        os.kill(pid, signal.SIGCONT)
    backend.stop(name)
    assert wait_for(backend, name).tuning_job.status == "Stopped"


def test_a_job_stalled_past_the_timeout_ends_failed_with_the_reason(backend, fake_spec):
    name = backend.launch(fake_spec(static={"num_epoch": 1, "hang": 1}, max_jobs=1, max_parallel_jobs=1,
                                    local=LocalSettings(stall_seconds=1, stall_timeout_seconds=2)))
    pid = started_pid(backend, name)
    os.kill(pid, signal.SIGSTOP)
    snap = wait_for(backend, name)
    job = snap.training_jobs[0]
    assert job.status == "Failed"
    assert job.failure_reason.startswith("stalled: no log output and no CPU progress for ")
    assert "its process stopped (state T)" in job.failure_reason
    assert "[local] stall_timeout_seconds = 2" in job.failure_reason
    assert snap.tuning_job.status == "Failed" and "stalled" in snap.tuning_job.failure_reason


def test_a_busy_job_is_not_stalled(backend, fake_spec):
    # It prints nothing for its first 3 s, but works (CPU): never marked stalled.
    name = backend.launch(fake_spec(static={"num_epoch": 1, "spin": 3}, max_jobs=1, max_parallel_jobs=1,
                                    local=LocalSettings(stall_seconds=1, stall_timeout_seconds=1.5)))
    snap = wait_for(backend, name)
    assert snap.training_jobs[0].status == "Completed", snap.training_jobs[0].failure_reason
