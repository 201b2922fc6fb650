"""`stop` and `resume` of one tuning job are serialised (issue 25): whichever comes last has
the last word, and both tell the truth. The race is hit on purpose: `resume` pauses after
its checks (HPO_TUI_TEST_PAUSE) while `stop` runs."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from hpo_tui import paths
from hpo_tui.engine.procs import PAUSE_VAR

from .conftest import kill_runner, trainers, wait_for, wait_until


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "hpo_tui.cli", *args], env=env or dict(os.environ),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_stop_during_a_resume_stops_the_resumed_job(backend, fake_spec, hpo_home):
    name = backend.launch(fake_spec(static={"num_epoch": 1, "hang": 1}, max_jobs=4, max_parallel_jobs=1))
    wait_for(backend, name, lambda s: any(j.last_epoch == 0 for j in s.training_jobs))
    kill_runner(backend, name)
    assert backend.poll(name).tuning_job.status == "Failed"  # runner exited unexpectedly

    folder = paths.jobs_dir() / name
    resume = cli("resume", name, env=dict(os.environ, **{PAUSE_VAR: "resume-checked"}))
    wait_until(lambda: (folder / "paused-resume-checked").exists(), what="resume to pause after its checks")
    stop = cli("stop", name)
    # stop waits for the resume under way rather than answer from what it read before.
    deadline = time.monotonic() + 2
    while stop.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    (folder / "release-resume-checked").touch()
    resumed, _ = resume.communicate(timeout=60)
    stopped, _ = stop.communicate(timeout=60)
    assert resume.returncode == 0, resumed
    assert "resumed tuning job" in resumed
    assert stop.returncode == 0, stopped
    assert "nothing to stop" not in stopped
    assert wait_for(backend, name).tuning_job.status == "Stopped"
    wait_until(lambda: trainers(hpo_home) == [], timeout=15, what="no training job left after the stop")
