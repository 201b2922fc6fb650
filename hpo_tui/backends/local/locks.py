"""The two locks of a local tuning job, both flocks on files in its folder.

The control lock: one control operation at a time per tuning job. `stop` and `resume` hold
it from what they read to what they do, so the last one has the last word and neither
answers from a state the other is changing.

The runner lock: held by a launch or resume while it starts a runner, then by that runner
for as long as it lives (it inherits the descriptor). Deleting a tuning job takes it too.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path
from typing import Callable, Iterator

from hpo_tui import paths
from hpo_tui.backends.base import BackendError
from hpo_tui.engine.runner_files import lock_path

# A stop or resume takes a few seconds at most (a stop waits STOP_WAIT for the runner).
CONTROL_WAIT = 30.0
RUNNER_LOCK_WAIT = 1.0  # how long a launch or resume waits for a dying runner's lock


def control_lock_path(folder: Path) -> Path:
    return folder / "control.lock"


@contextlib.contextmanager
def control_lock(name: str, folder: Path, wait: float = CONTROL_WAIT) -> Iterator[None]:
    paths.private_dir(folder)
    fd = os.open(control_lock_path(folder), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        if not flock_within(fd, wait):
            raise BackendError(
                f"another stop or resume of tuning job {name!r} has been under way for {wait:.0f} s; "
                f"try again, or see `hpo-tui status {name}`"
            )
        yield
    finally:
        os.close(fd)


def flock_within(fd: int, wait: float) -> bool:
    """Take an exclusive lock on fd, trying every 20 ms for up to `wait` seconds; False when
    another holder kept it that long. The control lock and the runner lock both wait so."""
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)


@contextlib.contextmanager
def runner_lock(folder: Path, busy: Callable[[], BackendError]) -> Iterator[int]:
    """Hold the tuning job's runner lock while a runner is started (the runner inherits the
    descriptor and keeps the lock while it lives); raise busy() when a runner holds it."""
    paths.private_dir(folder)
    lock_fd = os.open(lock_path(folder), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        # A runner killed a moment ago may not have released it yet: allow it a moment.
        if not flock_within(lock_fd, RUNNER_LOCK_WAIT):
            raise busy()
        yield lock_fd
    finally:
        os.close(lock_fd)
