"""No training process escapes its tuning job (issue 25): a job is recorded before it starts,
dies with its runner, and whatever it leaves (even outside its process group) is found by
its environment marker and killed on stop, resume and the dead-runner repair.

The window between starting a process and recording it is hit on purpose: the runner
pauses there (HPO_TUI_TEST_PAUSE) and the test kills it.
"""

from __future__ import annotations

import os
import re
import signal

from hpo_tui import paths
from hpo_tui.backends.base import BackendError
from hpo_tui.engine import procinfo
from hpo_tui.engine.procs import PAUSE_VAR

from .conftest import kill_runner, store_rows, trainers, wait_for, wait_until


def escapee_pid(backend, job: str) -> int:
    found: list[int] = []

    def logged() -> bool:
        try:
            lines = backend.log_tail(job).lines
        except BackendError:  # not recorded yet
            return False
        for line in lines:
            m = re.search(r"escapee (\d+)", line)
            if m:
                found.append(int(m.group(1)))
                return True
        return False

    wait_until(logged, what=f"{job} to log its escapee")
    return found[0]


def alive(pid: int) -> bool:
    return procinfo.state(pid) not in (None, "Z", "X")


def test_job_started_just_before_the_runner_dies_is_recorded_and_dies_with_it(
        backend, fake_spec, hpo_home, monkeypatch):
    monkeypatch.setenv(PAUSE_VAR, "spawned")
    name = backend.launch(fake_spec(static={"num_epoch": 60, "sleep": 0.5, "keep_going": 1}, max_jobs=3, max_parallel_jobs=1))
    folder = paths.jobs_dir() / name
    wait_until(lambda: (folder / "paused-spawned").exists(), what="the runner to pause after a spawn")
    orphan = trainers(hpo_home)
    assert len(orphan) == 1  # the job was started: the runner is paused before recording its pid
    kill_runner(backend, name)

    # It dies with its runner (PR_SET_PDEATHSIG): nothing runs untracked.
    wait_until(lambda: not alive(orphan[0]), timeout=10, what="the unrecorded job to die with its runner")
    # And it was recorded before it started.
    _, jobs = store_rows(name)
    assert [j["name"] for j in jobs] == [f"{name}-001"]

    monkeypatch.delenv(PAUSE_VAR)
    backend.resume(name)
    snap = wait_for(backend, name, lambda s: any(j.status == "InProgress" and j.launch_index == 1
                                                and j.started_at is not None for j in s.training_jobs))
    # The interrupted job is retried under a new name and folder: the old folder is never reused.
    first = next(j for j in snap.training_jobs if j.launch_index == 0)
    assert first.status == "Failed"
    assert len(trainers(hpo_home)) == 1
    backend.stop(name)
    assert wait_for(backend, name).tuning_job.status == "Stopped"
    assert trainers(hpo_home) == []


def test_job_recorded_but_not_started_when_the_runner_dies_is_retried(backend, fake_spec, hpo_home, monkeypatch):
    monkeypatch.setenv(PAUSE_VAR, "recorded")
    name = backend.launch(fake_spec(static={"num_epoch": 1}, max_jobs=2, max_parallel_jobs=1))
    folder = paths.jobs_dir() / name
    wait_until(lambda: (folder / "paused-recorded").exists(), what="the runner to pause after recording")
    assert trainers(hpo_home) == []
    kill_runner(backend, name)
    monkeypatch.delenv(PAUSE_VAR)
    backend.resume(name)
    snap = wait_for(backend, name)
    assert snap.tuning_job.status == "Completed"
    counted = [(j.launch_index, j.status) for j in snap.training_jobs]
    assert counted == [(0, "Failed"), (1, "Completed"), (2, "Completed")]
    assert snap.training_jobs[0].failure_reason == "runner exited unexpectedly"


def test_descendant_that_calls_setsid_is_killed_on_stop(backend, fake_spec):
    name = backend.launch(fake_spec(static={"num_epoch": 1, "setsid_child": 1, "hang": 1},
                                    max_jobs=1, max_parallel_jobs=1))
    escapee = escapee_pid(backend, f"{name}-001")
    assert os.getpgid(escapee) == escapee  # its own group and session
    backend.stop(name)
    assert wait_for(backend, name).tuning_job.status == "Stopped"
    wait_until(lambda: not alive(escapee), timeout=10, what="the setsid() escapee to be killed")


def test_escapee_of_a_finished_job_does_not_outlive_it(backend, fake_spec):
    name = backend.launch(fake_spec(static={"num_epoch": 1, "setsid_child": 1}, max_jobs=1, max_parallel_jobs=1))
    escapee = escapee_pid(backend, f"{name}-001")
    assert wait_for(backend, name).tuning_job.status == "Completed"
    wait_until(lambda: not alive(escapee), timeout=10, what="the escapee of a Completed job to be killed")


def test_dead_runner_repair_kills_what_its_jobs_left(backend, fake_spec, hpo_home):
    name = backend.launch(fake_spec(static={"num_epoch": 1, "setsid_child": 1, "hang": 1},
                                    max_jobs=1, max_parallel_jobs=1))
    escapee = escapee_pid(backend, f"{name}-001")
    kill_runner(backend, name)
    # The job's own process dies with the runner; its escapee was re-parented elsewhere.
    snap = backend.poll(name)  # notices the dead runner
    assert snap.tuning_job.status == "Failed"
    wait_until(lambda: not alive(escapee), timeout=10, what="the escapee to be killed by the repair")
    assert trainers(hpo_home) == []


def test_a_folder_an_unknown_process_writes_to_is_never_reused(backend, fake_spec, hpo_home):
    """A job folder with no row (left by a process no runner recorded) is not written into:
    the process is killed by its marker and the folder moved aside."""
    import subprocess
    import sys

    from hpo_tui.engine import procs

    name = "reuse-probe"
    folder = paths.jobs_dir() / name / f"{name}-001"
    folder.mkdir(parents=True)
    (folder / "train.log").write_text("written by someone else\n")
    stranger = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(600)"],
        env=dict(os.environ, **{procs.MARKER: procs.marker(paths.home(), name, f"{name}-001")}))
    try:
        name = backend.launch(fake_spec(static={"num_epoch": 1}, max_jobs=1, max_parallel_jobs=1,
                                        tuning_job_name=name))
        assert wait_for(backend, name).tuning_job.status == "Completed"
        assert stranger.wait(timeout=30) == -signal.SIGKILL
        log = (folder / "train.log").read_text()
        assert "written by someone else" not in log and "Validation-accuracy" in log
        aside = [p for p in folder.parent.iterdir() if p.name.startswith(f"{name}-001.leftover-")]
        assert len(aside) == 1 and (aside[0] / "train.log").read_text() == "written by someone else\n"
    finally:
        if stranger.poll() is None:
            stranger.kill()
            stranger.wait()
