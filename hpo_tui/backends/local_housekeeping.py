"""Housekeeping of the local engine: the disk use of each tuning job, deleting tuning jobs
(their store rows and their folder: models, logs, outputs) and pruning old ones.

Who writes the store. Its writer is the runner of each tuning job; launch, resume, stop and
a reader that notices a dead runner also write, each in a short IMMEDIATE transaction
(hpo_tui.backends.local says who and why). Deleting writes too, and it is safe because it first takes the tuning job's
runner lock (an flock on runner.lock in its folder, the one a runner holds for as long as it
lives and that resume takes before starting one): while deletion holds it, no runner is alive
for that tuning job and none can start. A tuning job still InProgress or Stopping is refused
before that. The rows go in one IMMEDIATE transaction (readers see the tuning job whole or
not at all), then the folder, still under the lock. SQLite keeps the freed pages for reuse
(the file does not shrink).

SageMaker tuning jobs leave nothing on this machine; deleting one is refused here, and
nothing is deleted in an AWS account (SAGEMAKER_NOTE says so).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from hpo_tui import paths
from hpo_tui.backends.base import BackendError, TuningJobNotFound
from hpo_tui.engine.runner_files import LIVE_STATUSES, lock_path
from hpo_tui.engine.store import Store
from hpo_tui.views import TUNING_TERMINAL_STATUSES

SAGEMAKER_NOTE = (
    "hpo-tui keeps nothing of SageMaker tuning jobs on this machine, so there is nothing to delete "
    "locally, and it never deletes anything in your AWS account: its training jobs, models and logs "
    "stay there (delete them in the SageMaker console or with the AWS CLI if you mean to)")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_age(text: str) -> float:
    """'30d', '12h', '90m', '2w', '45s' -> seconds."""
    match = _DURATION.match(text or "")
    if not match:
        raise BackendError(f"--older-than {text!r}: give a number and a unit, e.g. 30d (days), 12h, 90m or 2w")
    return float(match.group(1)) * _UNITS[match.group(2)]


def fmt_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"  # pragma: no cover


def disk_usage(folder: Path) -> int:
    """Bytes of the files under folder (links are counted as links, never followed)."""
    total = 0
    stack = [folder]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode):
                stack.append(Path(entry.path))
            else:
                total += st.st_blocks * 512 if st.st_blocks else st.st_size
    return total


def _folder_of(row: dict) -> Path | None:
    """The tuning job's folder, only when it is where the engine puts them (never followed
    through a link, never outside the jobs folder)."""
    jobs = paths.jobs_dir().resolve()
    folder = Path(row["folder"])
    if folder.is_symlink() or folder.parent.resolve() != jobs or folder.name != row["name"]:
        return None
    return folder


def usage_by_tuning_job(names: Iterable[str]) -> dict[str, int]:
    """Disk use of each named local tuning job's folder (0 when it has none)."""
    jobs = paths.jobs_dir()
    return {name: disk_usage(jobs / name) if (jobs / name).is_dir() and not (jobs / name).is_symlink() else 0
            for name in names}


@dataclass(frozen=True)
class DeletionPlan:
    """What deleting one tuning job removes."""

    name: str
    status: str
    training_jobs: int
    metric_points: int
    folder: Path | None
    folder_bytes: int
    children: tuple[str, ...]  # tuning jobs warm-started from it (they keep their own results)
    ended_at: float | None

    @property
    def refused(self) -> str | None:
        if self.status not in TUNING_TERMINAL_STATUSES:
            return (f"tuning job {self.name} is {self.status}: stop it first (hpo-tui stop {self.name}), "
                    "then delete it once it has stopped")
        return None

    def describe(self) -> str:
        where = f"its folder {self.folder} ({fmt_bytes(self.folder_bytes)}: models, logs, outputs)" \
            if self.folder is not None else "no folder"
        text = (f"{self.name} ({self.status}): {self.training_jobs} training job rows and "
                f"{self.metric_points} metric points in the store, and {where}")
        if self.children:
            text += (f"; {', '.join(self.children)} warm-started from it and keep their own results, "
                     "but lose the link to it")
        return text


def _plan(store: Store, name: str) -> DeletionPlan:
    row = store.tuning_job(name)
    if row is None:
        raise TuningJobNotFound(f"no local tuning job named {name!r}; `hpo-tui jobs` lists the local tuning jobs")
    conn = store.conn
    training = conn.execute("SELECT COUNT(*) FROM training_jobs WHERE tuning_job = ?", (name,)).fetchone()[0]
    points = conn.execute("SELECT COUNT(*) FROM metric_points WHERE tuning_job = ?", (name,)).fetchone()[0]
    children = []
    for other in store.tuning_jobs():
        if other["name"] != name and f'"{name}"' in (other.get("spec_json") or "") and \
                name in _parents(other.get("spec_json")):
            children.append(other["name"])
    folder = _folder_of(row)
    return DeletionPlan(name, row["status"], int(training), int(points), folder,
                        disk_usage(folder) if folder is not None and folder.is_dir() else 0,
                        tuple(children), row["ended_at"] or None)


def _parents(spec_json: str | None) -> list[str]:
    import json

    try:
        warm = (json.loads(spec_json or "{}") or {}).get("warm_start") or {}
    except (TypeError, ValueError, AttributeError):
        return []
    return list(warm.get("parents") or []) if isinstance(warm, dict) else []


def plan(names: Iterable[str]) -> list[DeletionPlan]:
    """What deleting each named tuning job would remove (nothing is changed)."""
    names = list(names)
    _settle_dead_runners()
    store = Store.reader(paths.store_path())
    if store is None:
        raise TuningJobNotFound(f"no local tuning job named {names[0]!r}; `hpo-tui jobs` lists the local "
                                "tuning jobs")
    try:
        with store.read():
            return [_plan(store, name) for name in names]
    finally:
        store.close()


def plan_older_than(seconds: float, now: float | None = None) -> list[DeletionPlan]:
    """Ended tuning jobs that ended (or, without an end time, were created) more than
    `seconds` ago, oldest first."""
    _settle_dead_runners()
    cutoff = (time.time() if now is None else now) - seconds
    store = Store.reader(paths.store_path())
    if store is None:
        return []
    try:
        with store.read():
            rows = [r for r in store.tuning_jobs() if r["status"] in TUNING_TERMINAL_STATUSES
                    and (r["ended_at"] or r["created_at"]) < cutoff]
            rows.sort(key=lambda r: r["ended_at"] or r["created_at"])
            return [_plan(store, r["name"]) for r in rows]
    finally:
        store.close()


def _settle_dead_runners() -> None:
    """A tuning job whose runner died still says InProgress until someone reads it with the
    backend (which marks it Failed): list them once, so such a job can be deleted."""
    from hpo_tui.backends.local import LocalBackend

    backend = LocalBackend()
    try:
        backend.list_tuning_jobs()
    finally:
        backend.close()


def delete(name: str) -> DeletionPlan:
    """Delete one ended local tuning job: its rows, then its folder, under its runner lock."""
    [seen] = plan([name])
    if seen.refused:
        raise BackendError(seen.refused)
    folder = seen.folder
    lock_fd = None
    if folder is not None and folder.is_dir():
        try:
            lock_fd = os.open(lock_path(folder), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock_fd)  # type: ignore[arg-type]
            raise BackendError(f"tuning job {name} has a runner alive (it holds {lock_path(folder)}): "
                               f"stop it first (hpo-tui stop {name})") from None
        except OSError as err:
            if lock_fd is not None:
                os.close(lock_fd)
            raise BackendError(f"cannot lock {lock_path(folder)} ({err.strerror}); nothing was deleted") from None
    try:
        writer = Store.writer(paths.store_path())
        try:
            with writer.write() as conn:
                row = writer.tuning_job(name)
                if row is None:
                    raise TuningJobNotFound(f"tuning job {name} was deleted meanwhile")
                if row["status"] in LIVE_STATUSES:
                    raise BackendError(f"tuning job {name} is {row['status']} again (resumed meanwhile); "
                                       "nothing was deleted")
                conn.execute("DELETE FROM metric_points WHERE tuning_job = ?", (name,))
                conn.execute("DELETE FROM training_jobs WHERE tuning_job = ?", (name,))
                conn.execute("DELETE FROM tuning_jobs WHERE name = ?", (name,))
            writer.checkpoint()
        finally:
            writer.close()
        if folder is not None and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
    finally:
        if lock_fd is not None:
            os.close(lock_fd)
    return seen
