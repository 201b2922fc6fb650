"""Faults of the machine have their names (issue 25): a full disk reaches the tuning job's
failure reason and the CLI as one line, the runner's cleanup never raises a second time,
and the tuning job resumes once there is room again."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = Path(__file__).with_name("disk_full_probe.py")


def can_mount_tmpfs() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "true"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not can_mount_tmpfs(), reason="needs root and unshare to mount a small tmpfs privately")
def test_disk_full_is_named_in_the_failure_reason_and_the_cli(tmp_path, channels):
    home = tmp_path / "small-home"
    home.mkdir()
    channel_root = Path(channels.train).parent
    run = subprocess.run(["unshare", "-m", "--propagation", "private", sys.executable, str(PROBE), str(home),
                          str(channel_root)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["runner_ended"]
    # While the disk is full: one line that names the fault (what, where, what to do).
    code, out = report["status_full"]
    assert "disk full" in out and "Traceback" not in out, out
    # With room again: the tuning job failed, and says why, not "runner exited unexpectedly".
    code, out = report["status_freed"]
    assert code == 0 and "Failed" in out, out
    assert "disk full: no space left on the device of" in out and "hpo-tui resume" in out, out
    # The runner reported the fault once, without a traceback (its cleanup did not raise again).
    assert "Traceback" not in report["runner_log"], report["runner_log"]
    assert report["resume"][0] == 0 and "resumed tuning job" in report["resume"][1], report["resume"]
    assert report["stop"][0] == 0, report["stop"]
