"""The machine's training slots, shared by every local tuning job of this data folder: one
per core (or [local] concurrency). A slot is a file under <home>/slots held with flock by
the runner whose training job uses it, so a runner that dies frees its slots at once; its
content names the holder, for `status` and the dashboard to say who uses the machine.
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path

from hpo_tui import paths
from hpo_tui.engine import procinfo


def slots_dir() -> Path:
    return paths.private_dir(paths.home() / "slots")


@dataclass
class Slot:
    index: int
    fd: int

    def release(self) -> None:
        try:
            os.ftruncate(self.fd, 0)  # no holder named any more
        except OSError:
            pass
        os.close(self.fd)


def acquire(size: int, tuning_job: str) -> Slot | None:
    """A free slot among the first `size` of the machine's, held until released (or until
    this process ends); None when all are taken."""
    folder = slots_dir()
    me = os.getpid()
    holder = json.dumps({"tuning_job": tuning_job, "pid": me,
                         "start_time": procinfo.start_time(me)})
    for index in range(size):
        fd = os.open(folder / f"slot-{index}", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, holder.encode(), 0)
        except OSError:
            pass  # the slot is held all the same; only its label is missing
        return Slot(index, fd)
    return None


def holders() -> list[dict]:
    """Who holds the machine's slots now: one dict per slot in use (tuning_job, pid), by
    slot number. Read without locking: a holder counts while the
    process that wrote it is alive."""
    try:
        folder = paths.home() / "slots"
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    out = []
    for name in names:
        if not name.startswith("slot-"):
            continue
        try:
            holder = json.loads((folder / name).read_text() or "null")
        except (OSError, ValueError):
            continue
        if not isinstance(holder, dict) or not procinfo.is_alive(holder.get("pid"), holder.get("start_time")):
            continue
        out.append(holder)
    return out


def usage() -> tuple[tuple[str, int], ...]:
    """(tuning job, slots it holds), busiest first."""
    counts: dict[str, int] = {}
    for holder in holders():
        name = str(holder.get("tuning_job"))
        counts[name] = counts.get(name, 0) + 1
    return tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
