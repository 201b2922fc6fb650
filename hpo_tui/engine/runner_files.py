"""What a local runner shares with the processes that watch it: the statuses of a live
tuning job, the files in its folder (the runner lock, the heartbeat), its log line, and the
timing settings read from the environment.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

RUNNER_DIED = "runner exited unexpectedly"
LIVE_STATUSES = ("InProgress", "Stopping")
# The runner touches its heartbeat file at least this often while it lives, so a runner
# that is alive but makes no progress (SIGSTOPped, hung) can be told from a busy one.
HEARTBEAT_INTERVAL = 2.0
# Seconds between SIGTERM and SIGKILL of a job's process group; HPO_TUI_STOP_GRACE overrides.
DEFAULT_STOP_GRACE = 5.0


def env_seconds(name: str, default: float, minimum: float) -> float:
    """A number of seconds from the environment variable `name`, at least `minimum`;
    `default` when it is unset or not a number."""
    try:
        return max(minimum, float(os.environ.get(name, default)))
    except ValueError:
        return default


def stop_grace() -> float:
    return env_seconds("HPO_TUI_STOP_GRACE", DEFAULT_STOP_GRACE, 0.0)


def lock_path(folder: Path) -> Path:
    return folder / "runner.lock"


def heartbeat_path(folder: Path) -> Path:
    return folder / "runner.heartbeat"


def beat(folder: Path) -> None:
    """Record that the runner is making progress (the file's mtime is the heartbeat)."""
    try:
        fd = os.open(heartbeat_path(folder), os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError:
        return
    try:
        os.utime(fd)
    finally:
        os.close(fd)


def log(message: str) -> None:
    try:
        print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {message}", flush=True)
    except OSError:
        pass  # runner.log on a full disk: the store and the failure file say what matters
