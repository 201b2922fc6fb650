"""Stalled training jobs: a job that printed nothing and used no CPU for [local]
stall_seconds is marked stalled in the store (with since when), and with [local]
stall_timeout_seconds it is ended as Failed, saying why; as a supervisor's watchdog does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from hpo_tui.engine import procinfo

DEFAULT_STALL_SECONDS = 300.0


def cpu_ticks(pid: int) -> int | None:
    """User + system CPU time of a process (all its threads, and its reaped children), in ticks."""
    fields = procinfo._stat_fields(pid)
    if fields is None:
        return None
    # After "(comm)": utime, stime, cutime, cstime are stat fields 14-17 -> indexes 11-14 here.
    return sum(int(f) for f in fields[11:15])


@dataclass
class Activity:
    last: float  # wall time of the last output or CPU progress
    cpu: int | None = None
    stalled: bool = False


class StallWatch:
    """Activity of the running jobs. output() on each line; check() every second or so."""

    def __init__(self, stall_seconds: float | None, timeout: float | None) -> None:
        self.stall_seconds = stall_seconds or DEFAULT_STALL_SECONDS
        self.timeout = timeout
        self.jobs: dict[str, Activity] = {}

    def started(self, name: str) -> None:
        self.jobs[name] = Activity(time.time())

    def ended(self, name: str) -> None:
        self.jobs.pop(name, None)

    def output(self, name: str) -> None:
        activity = self.jobs.get(name)
        if activity is not None:
            activity.last = time.time()

    def check(self, pids: dict[str, int]) -> tuple[dict[str, float | None], dict[str, str]]:
        """(changed: job -> silent since, or None once active again; timed out: job -> reason)."""
        now = time.time()
        changed: dict[str, float | None] = {}
        timed_out: dict[str, str] = {}
        for name, pid in pids.items():
            activity = self.jobs.get(name)
            if activity is None:
                continue
            cpu = cpu_ticks(pid)
            if cpu is not None and cpu != activity.cpu:
                if activity.cpu is not None:
                    activity.last = now
                activity.cpu = cpu
            silent = now - activity.last
            stalled = silent >= self.stall_seconds
            if stalled != activity.stalled:
                activity.stalled = stalled
                changed[name] = activity.last if stalled else None
            if self.timeout is not None and silent >= self.timeout:
                stopped = ", its process stopped (state T)" if procinfo.state(pid) == "T" else ""
                timed_out[name] = (f"stalled: no log output and no CPU progress for {silent:.0f} s{stopped}; "
                                   f"ended by [local] stall_timeout_seconds = {self.timeout:g}")
        return changed, timed_out
