"""A stop stands: `resume` of a Stopped tuning job starts nothing and points to warm start,
and the budget is counted one way (runner, `resume`, `jobs`, status) across a crash."""

from __future__ import annotations

import os
import signal
import time

import pytest

from hpo_tui import invariants, paths
from hpo_tui.backends.base import BackendError
from hpo_tui.cli import main
from hpo_tui.engine import procinfo
from hpo_tui.engine.store import Store
from hpo_tui.report import render_status

from .conftest import wait_for


def store_row(name: str) -> dict:
    store = Store.reader(paths.store_path())
    try:
        return store.tuning_job(name)
    finally:
        store.close()


def kill_runner(name: str) -> None:
    row = store_row(name)
    os.kill(row["runner_pid"], signal.SIGKILL)
    while procinfo.is_alive(row["runner_pid"], row["runner_start_time"]):
        time.sleep(0.01)


def done_cell(out: str, name: str) -> str:
    row = next(line for line in out.splitlines() if line.startswith(name))
    return row.split()[3]


def test_resume_after_a_crash_then_stop_then_resume_again_starts_nothing(backend, fake_spec, capsys):
    # The sequence: launch, SIGKILL the runner, resume, stop, wait for Stopped, resume.
    name = backend.launch(fake_spec(static={"num_epoch": 4, "sleep": 0.3}, max_jobs=9, max_parallel_jobs=2))
    wait_for(backend, name, lambda s: any(j.last_epoch is not None for j in s.training_jobs))
    kill_runner(name)
    assert backend.poll(name).tuning_job.status == "Failed"

    assert main(["resume", name]) == 0
    out = capsys.readouterr().out
    assert f"resumed tuning job {name}" in out and "of its 9 training jobs ended" in out
    wait_for(backend, name, lambda s: s.tuning_job.status == "InProgress" and len(s.running) > 0)
    backend.stop(name)
    stopped = wait_for(backend, name)
    assert stopped.tuning_job.status == "Stopped"

    assert main(["resume", name]) == 1
    err = capsys.readouterr().err
    assert "stays stopped" in err and "warm" in err and f'parents = ["{name}"]' in err
    runner = store_row(name)
    with pytest.raises(BackendError, match="warm-starts from it"):
        backend.resume(name)
    # No runner was started: the one recorded (a new one records itself at once) is the last.
    assert store_row(name)["runner_pid"] == runner["runner_pid"]
    after = backend.poll(name)
    assert after.tuning_job.status == "Stopped"
    assert [j.name for j in after.training_jobs] == [j.name for j in stopped.training_jobs]
    invariants.assert_holds(invariants.check_transition(stopped, after, resumed=True))

    # `jobs`, status and the snapshot count the budget one way, never over it.
    assert main(["jobs"]) == 0
    cell = done_cell(capsys.readouterr().out, name)
    invariants.assert_holds(invariants.check_jobs_done(after.tuning_job, cell))
    invariants.assert_holds(invariants.check_status_text(after, render_status(after)))
    assert f"stopped at {invariants.ended_jobs(after)}/9" in render_status(after)


def test_jobs_lost_with_the_runner_are_not_counted_twice(backend, fake_spec, capsys):
    # 11/9 in the issue: the jobs the dead runner took with it were counted as finished too.
    name = backend.launch(fake_spec(static={"num_epoch": 3, "sleep": 0.2}, max_jobs=3, max_parallel_jobs=2))
    wait_for(backend, name, lambda s: len(s.running) == 2 and all(j.last_epoch is not None for j in s.running))
    kill_runner(name)
    failed = backend.poll(name)
    assert failed.tuning_job.status_counters.retryable_error == 2
    backend.resume(name)
    done = wait_for(backend, name)
    assert done.tuning_job.status == "Completed"
    assert len(done.training_jobs) == 5  # 2 lost, 3 counted
    assert main(["jobs"]) == 0
    assert done_cell(capsys.readouterr().out, name) == "3/3"
    invariants.assert_holds(invariants.check_snapshot(done))
    invariants.assert_holds(invariants.check_status_text(done, render_status(done)))
