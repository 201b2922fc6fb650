"""Process identity from /proc: pid + start time, so a dead or reused pid is told apart,
and process-group membership, so nothing of a training job is left running.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

_PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (which may hold spaces)."""
    try:
        raw = (_PROC / str(pid) / "stat").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    except OSError:
        return None
    end = raw.rfind(b")")
    if end < 0:
        return None
    return raw[end + 2 :].decode("ascii", "replace").split()


def start_time(pid: int) -> int | None:
    """The process's start time (clock ticks since boot), or None if it does not exist.

    Together with the pid this names one process: a pid reused later has a later start time.
    """
    fields = _stat_fields(pid)
    if fields is None:
        return None
    # After "(comm)": state is field 3 of stat; starttime is field 22 -> index 19 here.
    return int(fields[19])


def state(pid: int) -> str | None:
    """The one-letter state (R, S, Z, ...) or None when the pid does not exist."""
    fields = _stat_fields(pid)
    return fields[0] if fields else None


def is_alive(pid: int | None, started: int | None) -> bool:
    """True when pid is still the process that started at `started` and is not a zombie."""
    if not pid:
        return False
    fields = _stat_fields(pid)
    if fields is None or fields[0] in ("Z", "X"):
        return False
    return started is None or int(fields[19]) == started


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes whose process group is pgid."""
    members = []
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields and fields[0] not in ("Z", "X") and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def kill_group(pgid: int | None, sig: int = signal.SIGKILL, *, not_before: int | None = None) -> bool:
    """Send sig to process group pgid; False when the group no longer exists.

    not_before: the group leader's start time; members that started earlier belong to a
    different (older) group that reused the number, so the group is left alone.
    """
    if not pgid:
        return False
    if not_before is not None:
        members = group_members(pgid)
        if not members:
            return False
        if all((start_time(pid) or 0) < not_before for pid in members):
            return False
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    return True
