"""Control over training-job processes: each carries an environment marker naming its tuning
job and training job, dies with its runner (PR_SET_PDEATHSIG), and is found and killed by
its recorded pid or by the marker, so no process depends on its process group alone.
"""

from __future__ import annotations

import ctypes
import os
import signal
import time
from pathlib import Path
from typing import Callable, Iterable

from hpo_tui.engine import procinfo

# In every training job's environment: "<home>|<tuning job>|<training job>|". Inherited by
# whatever the job starts, including descendants that leave its process group (setsid).
MARKER = "HPO_TUI_JOB"
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_PROC = Path("/proc")


def marker(home: Path | str, tuning_job: str, training_job: str) -> str:
    return f"{home}|{tuning_job}|{training_job}|"  # the last "|": no job's marker prefixes another's


def _prctl(option: int, value: int) -> bool:
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def become_subreaper() -> bool:
    """Orphaned descendants (a job's child that outlives it, one that called setsid()) are
    re-parented to this process instead of init, so it can reap and find them."""
    return _prctl(_PR_SET_CHILD_SUBREAPER, 1)


def die_with_parent(parent: int) -> Callable[[], None]:
    """A preexec_fn (run in the child between fork and exec): SIGKILL the child when the
    process that forked it dies, and die at once if that happened already."""
    libc = ctypes.CDLL(None, use_errno=True)  # loaded before the fork

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl: the signal never comes
            os._exit(137)

    return preexec


def _environ_value(pid: int) -> str | None:
    try:
        raw = (_PROC / str(pid) / "environ").read_bytes()
    except OSError:
        return None
    prefix = MARKER.encode() + b"="
    for entry in raw.split(b"\0"):
        if entry.startswith(prefix):
            return entry[len(prefix):].decode("utf-8", "replace")
    return None


def marked(prefix: str) -> dict[int, str]:
    """Live (non-zombie) processes whose marker starts with prefix: pid -> marker."""
    found = {}
    me = os.getpid()
    for entry in _PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        pid = int(entry.name)
        value = _environ_value(pid)
        if value is None or not value.startswith(prefix):
            continue
        if procinfo.state(pid) in (None, "Z", "X"):
            continue
        found[pid] = value
    return found


def tuning_prefix(home: Path | str, tuning_job: str) -> str:
    return f"{home}|{tuning_job}|"


def kill_marked(prefix: str, *, wait: float = 5.0, reap: bool = False) -> list[int]:
    """SIGKILL every process whose marker starts with prefix; wait (bounded) until they are
    gone, reaping our own children when reap is set. Returns the pids killed."""
    killed: list[int] = []
    deadline = time.monotonic() + wait
    while True:
        pids = list(marked(prefix))
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
            if pid not in killed:
                killed.append(pid)
        if reap:
            reap_any()
        if not pids or time.monotonic() >= deadline:
            return killed
        time.sleep(0.01)


def kill_recorded(jobs: Iterable[dict]) -> None:
    """SIGKILL the recorded process (and its group) of each job row, when it is still the
    process recorded (pid + start time)."""
    for job in jobs:
        pid, started = job.get("pid"), job.get("pid_start_time")
        if pid and procinfo.is_alive(pid, started):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        procinfo.kill_group(job.get("pgid"), signal.SIGKILL, not_before=started)


def kill_leftovers(home: Path | str, tuning_job: str, jobs: Iterable[dict], *, reap: bool = False) -> list[int]:
    """Everything left of a tuning job whose runner is gone (or not started yet): the
    recorded processes, then whatever carries its marker."""
    kill_recorded(jobs)
    return kill_marked(tuning_prefix(home, tuning_job), reap=reap)


def reap_any() -> None:
    """Reap every ended child (a subreaper inherits orphans; none is left a zombie)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


# Tests hit race windows on purpose: HPO_TUI_TEST_PAUSE=<point> makes the process that
# reaches <point> write <folder>/paused-<point> and wait there until <folder>/release-<point>
# exists (or until it is killed).
PAUSE_VAR = "HPO_TUI_TEST_PAUSE"


def test_pause(point: str, folder: Path) -> None:
    if os.environ.get(PAUSE_VAR) != point:
        return
    (folder / f"paused-{point}").write_text(str(os.getpid()))
    release = folder / f"release-{point}"
    while not release.exists():
        time.sleep(0.02)
