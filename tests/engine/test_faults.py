"""Faults of training jobs and of the runner itself, with the real runner and fake_train.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from hpo_tui import paths
from hpo_tui.backends.base import BackendError
from hpo_tui.cli import main
from hpo_tui.engine import procinfo
from hpo_tui.engine.store import Store
from hpo_tui.errors import UserError
from hpo_tui.spec import CategoricalParameter

from .conftest import store_rows, wait_for


def assert_group_gone(pgid: int) -> None:
    """No process of the group is left. SIGKILL is asynchronous and the dead are reaped by
    their parent (or init), so allow them a moment to disappear."""
    deadline = time.monotonic() + 10
    while procinfo.group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert procinfo.group_members(pgid) == []
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    with pytest.raises(ProcessLookupError):
        os.killpg(pgid, 0)


def test_job_exiting_3_fails_with_the_last_log_lines_as_reason(backend, fake_spec, capsys):
    name = backend.launch(fake_spec(static={"fail_exit": 3, "fail_at": 1}, max_jobs=2))
    snap = wait_for(backend, name)
    assert [j.status for j in snap.training_jobs] == ["Failed", "Failed"]
    for job in snap.training_jobs:
        assert job.objective_status == "Failed"
        assert "exit code 3" in job.failure_reason
        assert "failing on purpose at epoch 1" in job.failure_reason
    assert snap.tuning_job.status_counters.non_retryable_error == 2
    # Every job failed, so the tuning job did too, and says why.
    assert snap.tuning_job.status == "Failed"
    assert "failing on purpose" in snap.tuning_job.failure_reason

    assert main(["status", name]) == 0
    out = capsys.readouterr().out
    assert "Failed" in out and "exit code 3" in out


def test_failure_file_is_the_reason_and_is_clipped_to_1024(backend, fake_spec):
    long_message = "CUDA error: out of patience " + "x" * 2000
    name = backend.launch(fake_spec(static={"fail_exit": 3, "failure_message": long_message}, max_jobs=1,
                                    max_parallel_jobs=1))
    job = wait_for(backend, name).training_jobs[0]
    assert job.status == "Failed"
    assert job.failure_reason.startswith("CUDA error: out of patience")
    assert len(job.failure_reason) <= 1024


def test_job_printing_nan_completes_with_objective_failed(backend, fake_spec):
    name = backend.launch(fake_spec(static={"print_nan": 1}, max_jobs=2))
    snap = wait_for(backend, name)
    assert snap.tuning_job.status == "Completed"
    for job in snap.training_jobs:
        assert (job.status, job.objective_status, job.final_objective) == ("Completed", "Failed", None)
    assert snap.tuning_job.best_training_job is None
    assert snap.tuning_job.objective_counters.failed == 2
    assert [p for p in snap.new_points if p.metric == "Validation-accuracy"] == []


def test_job_printing_no_metric_completes_with_objective_failed(backend, fake_spec):
    name = backend.launch(fake_spec(static={"no_metric": 1}, max_jobs=2))
    snap = wait_for(backend, name)
    assert [(j.status, j.objective_status) for j in snap.training_jobs] == [("Completed", "Failed")] * 2
    assert snap.new_points == ()
    # The log is still there for the user to read.
    lines = backend.log_tail(snap.training_jobs[0].name).lines
    assert "Epoch[2] done" in lines


def test_stop_kills_a_forked_child_that_ignores_sigterm(backend, fake_spec):
    name = backend.launch(fake_spec(static={"num_epoch": 1, "fork_hang": 1, "ignore_term": 1}, max_jobs=2))

    def both_hanging(snap):
        return len(snap.training_jobs) == 2 and all(
            any("child" in line for line in backend.log_tail(j.name).lines) for j in snap.training_jobs
        )

    wait_for(backend, name, both_hanging)
    _, jobs = store_rows(name)
    pgids = [j["pgid"] for j in jobs]
    assert all(len(procinfo.group_members(g)) == 2 for g in pgids)  # parent + forked child

    backend.stop(name)
    assert backend.poll(name).tuning_job.status in ("Stopping", "Stopped")
    snap = wait_for(backend, name)
    assert snap.tuning_job.status == "Stopped"
    # They had reported a value before being stopped: it stays their objective.
    assert [(j.status, j.objective_status) for j in snap.training_jobs] == [("Stopped", "Succeeded")] * 2
    for pgid in pgids:
        assert_group_gone(pgid)
    backend.stop(name)  # idempotent
    assert backend.poll(name).tuning_job.status == "Stopped"


def test_child_holding_the_pipe_after_the_parent_exits_is_cleaned_up(backend, fake_spec):
    name = backend.launch(fake_spec(static={"num_epoch": 2, "fork_exit": 1}, max_jobs=2))
    snap = wait_for(backend, name)
    assert [(j.status, j.objective_status) for j in snap.training_jobs] == [("Completed", "Succeeded")] * 2
    _, jobs = store_rows(name)
    for job in jobs:
        assert_group_gone(job["pgid"])


def _grid_spec(fake_spec, **static):
    return fake_spec(
        strategy="Grid", max_jobs=None, max_parallel_jobs=2, random_seed=None,
        static={"num_epoch": 3, "sleep": 0.25, **static},
        ranges={"optimizer": CategoricalParameter(["sgd", "Adam"]),
                "learning_rate": CategoricalParameter(["0.01", "0.1", "0.3"])},
    )


def test_sigkill_of_the_runner_is_noticed_and_resume_finishes_without_repeats(backend, fake_spec):
    name = backend.launch(_grid_spec(fake_spec))
    wait_for(backend, name, lambda s: s.tuning_job.status_counters.completed >= 1
             and s.tuning_job.status_counters.in_progress >= 1)
    row, _ = store_rows(name)
    os.kill(row["runner_pid"], signal.SIGKILL)
    while procinfo.is_alive(row["runner_pid"], row["runner_start_time"]):
        time.sleep(0.01)  # SIGKILL is delivered asynchronously

    snap = backend.poll(name)  # the very next read notices
    assert snap.tuning_job.status == "Failed"
    assert snap.tuning_job.failure_reason == "runner exited unexpectedly"
    finished = {j.name: j for j in snap.training_jobs if j.status == "Completed"}
    interrupted = [j for j in snap.training_jobs if j.status == "Failed"]
    assert finished and interrupted
    assert all(j.failure_reason == "runner exited unexpectedly" for j in interrupted)
    assert snap.tuning_job.status_counters.retryable_error == len(interrupted)
    _, rows = store_rows(name)
    for job in rows:
        # A job recorded a moment before the kill may not have started (no pid, no group).
        if job["name"] in {j.name for j in interrupted} and job["pgid"] is not None:
            assert_group_gone(job["pgid"])

    backend.resume(name)
    snap = wait_for(backend, name)
    assert snap.tuning_job.status == "Completed"
    completed = [j for j in snap.training_jobs if j.status == "Completed"]
    # Every grid point exactly once among the completed jobs; earlier results untouched.
    combos = sorted((j.hyperparameters["optimizer"], j.hyperparameters["learning_rate"]) for j in completed)
    assert combos == sorted((o, lr) for o in ("sgd", "Adam") for lr in ("0.01", "0.1", "0.3"))
    for job in completed:
        if job.name in finished:
            assert job == finished[job.name]
    names = [j.name for j in snap.training_jobs]
    assert len(names) == len(set(names)) and all(n.startswith(name + "-") for n in names)


def test_second_resume_while_a_runner_lives_is_refused(backend, fake_spec, capsys):
    name = backend.launch(fake_spec(static={"num_epoch": 1, "hang": 1}, max_jobs=1, max_parallel_jobs=1))
    wait_for(backend, name, lambda s: len(s.training_jobs) == 1)
    with pytest.raises(BackendError, match="already has a running runner"):
        backend.resume(name)
    assert main(["resume", name]) == 1
    assert "already has a running runner" in capsys.readouterr().err
    # A runner started by hand is refused by the lock too, and leaves the store alone.
    result = subprocess.run([sys.executable, "-m", "hpo_tui.engine.runner_main", name],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "another runner" in result.stderr
    assert backend.poll(name).tuning_job.status == "InProgress"
    backend.stop(name)
    assert wait_for(backend, name).tuning_job.status == "Stopped"


def test_resume_of_a_completed_job_is_refused(backend, fake_spec):
    name = backend.launch(fake_spec(max_jobs=1, max_parallel_jobs=1))
    wait_for(backend, name)
    with pytest.raises(BackendError, match="already Completed"):
        backend.resume(name)


READER = textwrap.dedent(
    """
    import sys, time
    from hpo_tui import paths
    from hpo_tui.backends.local import LocalBackend
    from hpo_tui.engine.store import Store
    b = LocalBackend()
    b.poll(sys.argv[1])
    store = Store.reader(paths.store_path())
    store.conn.execute("BEGIN")
    store.training_jobs(sys.argv[1])
    print("reading", flush=True)  # now inside an open read transaction
    while True:
        b.poll(sys.argv[1])
        time.sleep(0.01)
    """
)


def test_reader_killed_mid_read_leaves_the_runner_unaffected(backend, fake_spec):
    name = backend.launch(fake_spec(static={"num_epoch": 4, "sleep": 0.2}, max_jobs=4))
    reader = subprocess.Popen([sys.executable, "-c", READER, name], stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "reading"
        reader.kill()
    finally:
        reader.wait(timeout=30)
    snap = wait_for(backend, name)
    assert snap.tuning_job.status == "Completed"
    assert [(j.status, j.objective_status) for j in snap.training_jobs] == [("Completed", "Succeeded")] * 4
    store = Store.reader(paths.store_path())
    assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store.close()


def test_stop_of_unknown_and_finished_jobs(backend, fake_spec, capsys):
    from hpo_tui.backends.base import TuningJobNotFound

    with pytest.raises(TuningJobNotFound, match="no local tuning job named 'nope'"):
        backend.stop("nope")
    name = backend.launch(fake_spec(max_jobs=1, max_parallel_jobs=1))
    wait_for(backend, name)
    backend.stop(name)
    assert backend.poll(name).tuning_job.status == "Completed"
    assert main(["stop", name]) == 0
    assert "already ended (Completed)" in capsys.readouterr().out
    assert main(["stop", "nope"]) == 1
    assert "no local tuning job named 'nope'" in capsys.readouterr().err


def test_runner_dead_while_stopping_ends_stopped(backend, fake_spec):
    """A stop request whose runner dies before finishing still ends as Stopped, not Failed."""
    name = backend.launch(fake_spec(static={"num_epoch": 1, "hang": 1}, max_jobs=1, max_parallel_jobs=1))
    wait_for(backend, name, lambda s: len(s.training_jobs) == 1)
    row, _ = store_rows(name)
    os.kill(row["runner_pid"], signal.SIGSTOP)  # frozen: it cannot act on the stop
    try:
        backend.stop(name)
        os.kill(row["runner_pid"], signal.SIGKILL)
    finally:
        try:
            os.kill(row["runner_pid"], signal.SIGCONT)
        except ProcessLookupError:
            pass
    snap = wait_for(backend, name, timeout=30)
    assert snap.tuning_job.status == "Stopped"
    assert snap.training_jobs[0].status == "Stopped"
    _, rows = store_rows(name)
    assert_group_gone(rows[0]["pgid"])


def test_spec_paths_are_checked_at_launch(backend, fake_spec, tmp_path: Path):
    # launch validates the spec (a SpecError naming the field); nothing later checks again.
    spec = fake_spec()
    spec.estimator.source_dir = str(tmp_path / "missing")
    with pytest.raises(UserError, match="estimator.source_dir"):
        backend.launch(spec)
    spec = fake_spec()
    spec.estimator.entry_point = "nothere.py"
    with pytest.raises(UserError, match="estimator.entry_point"):
        backend.launch(spec)
    spec = fake_spec()
    spec.channels.train = "s3://bucket/train"
    with pytest.raises(UserError, match="channels.train"):
        backend.launch(spec)
    assert backend.list_tuning_jobs() == []


def test_dead_runner_is_noticed_by_the_job_list_too(backend, fake_spec, capsys):
    name = backend.launch(fake_spec(static={"num_epoch": 1, "hang": 1}, max_jobs=1, max_parallel_jobs=1))
    # Recorded before it starts; started (pid recorded) right after.
    wait_for(backend, name, lambda s: len(s.training_jobs) == 1 and s.training_jobs[0].started_at is not None)
    row, jobs = store_rows(name)
    os.kill(row["runner_pid"], signal.SIGKILL)
    while procinfo.is_alive(row["runner_pid"], row["runner_start_time"]):
        time.sleep(0.01)
    assert main(["jobs"]) == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith(name))
    assert " Failed " in line
    assert_group_gone(jobs[0]["pgid"])  # its hanging training job was not left behind
    job = backend.poll(name).training_jobs[0]
    assert (job.status, job.failure_reason) == ("Failed", "runner exited unexpectedly")
