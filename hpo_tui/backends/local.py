"""The local backend: launches the engine's runner and reads the engine's SQLite store.

Readers never write, with two guarded exceptions: noticing that a runner died (the
tuning job is then marked Failed) and recording a stop request. Deleting an ended tuning
job (local_housekeeping) writes too, holding that job's runner lock.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import functools
import json
import os
import re
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, TypeVar

from hpo_tui import paths
from hpo_tui.backends.base import BackendError, TuningJobNotFound
from hpo_tui.backends.local_control import control_lock, flock_within
from hpo_tui.backends.local_warnings import joined as _joined
from hpo_tui.backends.local_warnings import stall_warning as _stall_warning
from hpo_tui.backends.local_warnings import stalled_count as _stalled_count
from hpo_tui.views import (
    ParameterRangeView,
    TERMINAL_STATUSES,
    LogChunk,
    MetricPoint,
    ObjectiveCounters,
    Snapshot,
    StatusCounters,
    TrainingJobView,
    TuningJobView,
    is_better,
)
from hpo_tui.engine import faults, procinfo, procs, slots
from hpo_tui.engine import executor
from hpo_tui.engine.executor import open_log
from hpo_tui.engine.runner import LIVE_STATUSES, RUNNER_DIED, beat, heartbeat_path, lock_path
from hpo_tui.engine.store import Store, spec_as_written, spec_to_json, store_error
from hpo_tui.sanitize import sanitize, sanitize_optional

if TYPE_CHECKING:
    from hpo_tui.spec import TuningSpec

T = TypeVar("T")
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$")
# A row whose runner pid was never recorded (the launching process died in between) is
# treated as dead after this long.
UNRECORDED_RUNNER_GRACE = 30.0
STOP_WAIT = 3.0  # how long stop() waits for a live runner to acknowledge
RUNNER_LOCK_WAIT = 1.0  # how long a launch or resume waits for a dying runner's lock
LOG_READ_MAX = 4 * 1024 * 1024
# Of a log line longer than LOG_READ_MAX, this much is shown; the reader then skips to its end.
LONG_LINE_SHOWN = 64 * 1024
# A live runner whose heartbeat is older than this is "not responding"; HPO_TUI_RUNNER_SILENT
# overrides (the runner beats every HEARTBEAT_INTERVAL, and a loaded machine delays it).
DEFAULT_RUNNER_SILENT = 15.0


def runner_silent_after() -> float:
    try:
        return max(1.0, float(os.environ.get("HPO_TUI_RUNNER_SILENT", DEFAULT_RUNNER_SILENT)))
    except ValueError:
        return DEFAULT_RUNNER_SILENT


def _is_busy(err: sqlite3.Error) -> bool:
    text = str(err)
    return isinstance(err, sqlite3.OperationalError) and any(
        word in text for word in ("locked", "busy", "interrupted"))


def _busy_is_an_error(method: Callable[..., Any]) -> Callable[..., Any]:
    """A read that met a locked store says so plainly (the caller keeps its last data)."""

    @functools.wraps(method)
    def reading(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise
            text = str(exc)
            raise StoreBusy(
                f"the local store is busy ({text}): another process holds a lock on it; "
                "the last data stays on screen and the read is retried"
            ) from None

    return reading


class StoreBusy(BackendError):
    """The store was locked for longer than the read's busy timeout."""


class LocalBackend:
    """Tuning jobs run by the local engine on this machine."""

    name = "local"
    default_interval = 1.0
    points_on_demand = True  # poll(points=False) and curves(): see hpo_tui.backends.base

    def __init__(self, *, read_busy_timeout: float | None = None) -> None:
        """read_busy_timeout: how long a read waits on a locked store before it fails (the
        store's default when None). The TUI passes a short one: it shows the last data,
        marked stale, rather than wait."""
        self._lock = threading.Lock()
        self._read_busy_timeout = read_busy_timeout
        self._reader: Store | None = None
        self._reader_path: Path | None = None
        self._children: list[subprocess.Popen] = []

    # -- store access ------------------------------------------------------------------------

    def _read_store(self) -> Store | None:
        path = paths.store_path()
        if self._reader is not None and self._reader_path == path:
            return self._reader
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        self._reader = Store.reader(path, busy_timeout=self._read_busy_timeout)
        self._reader_path = path
        return self._reader

    def _query(self, read: Callable[[Store | None], T]) -> T:
        """read(store) on the cached reader (None: no store yet). A reader can lose track of
        the WAL index when other processes remove it (a killed runner, a writer closing
        last): on a database error it is reopened once; a second error means the store
        itself is damaged."""
        with self._lock:
            for attempt in (0, 1):
                store = self._read_store()
                try:
                    return read(store)
                except sqlite3.DatabaseError as err:
                    if _is_busy(err):
                        raise  # a lock, not damage: the read says so (StoreBusy) and is retried
                    if self._reader is not None:
                        self._reader.close()
                        self._reader = None
                    if attempt:
                        raise store_error(paths.store_path(), err) from None
        raise AssertionError("unreachable")

    def _reap_children(self) -> None:
        # Runners started from this process: reap the ones that ended (no zombies).
        self._children = [p for p in self._children if p.poll() is None]

    def close(self) -> None:
        """Close the reader. Never waits on a read in progress (quitting must not hang): that
        read is interrupted, and its connection goes with the process."""
        if not self._lock.acquire(blocking=False):
            reader = self._reader
            if reader is not None:
                reader.interrupt()
            return
        try:
            if self._reader is not None:
                self._reader.close()
                self._reader = None
        finally:
            self._lock.release()

    # -- launch ----------------------------------------------------------------------------------

    def launch(self, spec: TuningSpec, base_dir: Path | None = None) -> str:
        """Validate, record and start a tuning job; return its name at once.

        base_dir: the spec file's folder; relative paths in the spec are resolved from it.
        """
        from hpo_tui.spec import SpecError, make_tuning_job_name, resolved_max_jobs, validate

        _require_local_training()

        spec = dataclasses.replace(
            spec,
            estimator=dataclasses.replace(spec.estimator),
            channels=dataclasses.replace(spec.channels),
        )
        for field_name in ("train", "test"):
            value = getattr(spec.channels, field_name)
            if isinstance(value, str) and "://" not in value and base_dir is not None:
                path = Path(value).expanduser()
                if not path.is_absolute() and (Path(base_dir) / path).exists():
                    setattr(spec.channels, field_name, str((Path(base_dir) / path).resolve()))
        issues = validate(spec, base_dir=base_dir)
        if issues:
            raise SpecError(issues)
        spec.estimator.source_dir = str(
            _resolve_source_dir(spec.estimator.source_dir, spec.estimator.entry_point, base_dir)
        )
        script = Path(spec.estimator.source_dir) / spec.estimator.entry_point
        if not script.is_file():
            raise BackendError(
                f"estimator.entry_point: {script} does not exist; set estimator.entry_point to a "
                "script inside estimator.source_dir"
            )
        for field_name in ("train", "test"):
            value = getattr(spec.channels, field_name)
            if value is None:
                continue  # the runner prepares the packaged MNIST channels
            if value.startswith("s3://"):
                raise BackendError(
                    f"channels.{field_name}: {value} is an S3 URI, which the local backend cannot read; "
                    "use a local folder, or leave it empty for the packaged MNIST data"
                )
            path = Path(value).expanduser()
            if not path.is_absolute() and base_dir is not None:
                path = Path(base_dir) / path
            if not path.is_dir():
                raise BackendError(
                    f"channels.{field_name}: folder {path} does not exist; point it at a folder with "
                    "the channel's files, or leave it empty for the packaged MNIST data"
                )
            setattr(spec.channels, field_name, str(path.resolve()))

        name = spec.tuning_job_name or make_tuning_job_name(spec)
        if not NAME_PATTERN.match(name):
            raise BackendError(
                f"tuning_job_name: {name!r} is not a valid tuning job name; use 1-32 letters, digits "
                "and hyphens, starting and ending with a letter or digit"
            )
        max_jobs = resolved_max_jobs(spec)

        folder = paths.jobs_dir() / name
        writer = Store.writer(paths.store_path())
        try:
            with writer.write():
                if writer.tuning_job(name) is not None:
                    raise BackendError(
                        f"a tuning job named {name!r} already exists; choose another tuning_job_name "
                        "(or leave it empty to get a generated one)"
                    )
                _check_parents(writer, spec)
                writer.insert("tuning_jobs", dict(
                    name=name, spec_json=spec_to_json(spec), status="InProgress", strategy=spec.strategy,
                    objective_name=spec.objective.name, objective_type=spec.objective.type,
                    max_jobs=max_jobs, max_parallel_jobs=spec.max_parallel_jobs,
                    tuned_parameters=json.dumps(list(spec.ranges)), created_at=time.time(),
                    folder=str(folder),
                ))
            self._start_runner(writer, name, folder)
        finally:
            writer.close()
        return name

    def _start_runner(self, writer: Store, name: str, folder: Path) -> None:
        with _runner_lock(folder, lambda: _runner_alive_error(name, writer.tuning_job(name))) as lock_fd:
            self._spawn(writer, name, folder, lock_fd)

    def _spawn(self, writer: Store, name: str, folder: Path, lock_fd: int, **on_start: Any) -> None:
        env = dict(os.environ)
        # The runner must import this same hpo_tui, installed or not.
        package_root = str(Path(__file__).resolve().parent.parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        beat(folder)  # a fresh runner is not "not responding" while it starts
        faults.prepare_failure_file(folder)  # blank: an earlier runner's failure is not this one's
        with open_log(folder / "runner.log") as log_file:
            popen = subprocess.Popen(
                [sys.executable, "-m", "hpo_tui.engine.runner_main", name, "--lock-fd", str(lock_fd)],
                cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                start_new_session=True, close_fds=True, pass_fds=(lock_fd,),
            )
        self._children.append(popen)
        with writer.write():
            # Recorded here too (the runner records itself as it starts), so a runner that
            # dies before its first write is still noticed.
            fields: dict[str, Any] = dict(
                runner_pid=popen.pid, runner_start_time=procinfo.start_time(popen.pid), runner_pgid=popen.pid,
            )
            if writer.tuning_job(name)["runner_pid"] != popen.pid:
                fields.update(on_start)  # the runner has not started yet: nothing to overwrite
            writer.update_tuning_job(name, **fields)

    # -- resume -----------------------------------------------------------------------------------

    def resume(self, name: str) -> None:
        """Start a new runner for a tuning job whose runner is gone; finished jobs are kept.
        A Completed or Stopped tuning job stays so (SageMaker restarts neither): refused."""
        _require_local_training()
        self._reap_children()
        row = self._row(name)
        with control_lock(name, Path(row["folder"])):
            self._resume(name)

    def _resume(self, name: str) -> None:
        row = self._row(name)
        if row["status"] == "Completed":
            raise _completed_error(name)
        if row["status"] == "Stopped":
            raise self._stopped_error(row)
        self._refuse_if_nothing_to_run(row)
        folder = Path(row["folder"])
        procs.test_pause("resume-checked", folder)
        with _runner_lock(folder, lambda: _runner_alive_error(name, self._live_runner_row(name))) as lock_fd:
            writer = Store.writer(paths.store_path())
            try:
                row = writer.tuning_job(name)
                if row["status"] in LIVE_STATUSES:
                    self._mark_runner_dead(writer, row)
                    row = writer.tuning_job(name)
                if row["status"] == "Completed":
                    raise _completed_error(name)
                if row["status"] == "Stopped":  # a stop acted on while the lock was taken
                    raise self._stopped_error(row)
                with writer.write():
                    writer.update_tuning_job(name, stop_requested=0)
                self._spawn(
                    writer, name, folder, lock_fd, status="InProgress", failure_reason=None,
                    ended_at=None, completion_reason=None,
                )
            finally:
                writer.close()

    def _stopped_error(self, row: dict[str, Any]) -> BackendError:
        from hpo_tui.backends.resume_rules import stopped_error

        jobs = self._query(lambda store: store.training_jobs(row["name"]) if store is not None else [])
        return stopped_error(row["name"], sum(1 for j in jobs if j["status"] in TERMINAL_STATUSES
                                              and not j["retryable"]), row["max_jobs"])

    def _refuse_if_nothing_to_run(self, row: dict[str, Any]) -> None:
        """A tuning job whose every training job failed, with no budget left, would "resume"
        only to fail again at once: say so instead."""
        if row["status"] != "Failed" or row["max_jobs"] is None:
            return
        jobs = self._query(lambda store: store.training_jobs(row["name"]))
        counted = [j for j in jobs if not j["retryable"]]
        if len(counted) < row["max_jobs"] or not all(j["status"] == "Failed" for j in counted):
            return
        first = " ".join((counted[0]["failure_reason"] or "no reason recorded").split())[:200]
        raise BackendError(
            f"tuning job {row['name']!r} has nothing left to run: all {len(counted)} of its "
            f"{row['max_jobs']} training jobs failed (the first: {first}); fix the cause, then "
            "launch a new tuning job"
        )

    def _live_runner_row(self, name: str) -> dict[str, Any] | None:
        """The row, once it names a live runner (the winner of a race records its runner
        moments after taking the lock); None if none shows up, so no dead pid is named."""
        deadline = time.time() + STOP_WAIT
        while True:
            row = self._row(name)
            if procinfo.is_alive(row["runner_pid"], row["runner_start_time"]):
                return row
            if time.time() >= deadline:
                return None
            time.sleep(0.05)

    def runner_silence(self, row: dict[str, Any]) -> float | None:
        """Seconds since a live runner's last heartbeat, when that is too long; else None."""
        if row["status"] not in LIVE_STATUSES or row["runner_pid"] is None:
            return None
        try:
            age = time.time() - os.stat(heartbeat_path(Path(row["folder"]))).st_mtime
        except OSError:
            return None
        if age <= runner_silent_after() or not procinfo.is_alive(row["runner_pid"], row["runner_start_time"]):
            return None
        return age

    def _silence_warning(self, row: dict[str, Any]) -> str | None:
        age = self.runner_silence(row)
        if age is None:
            return None
        pid = row["runner_pid"]
        hint = (f"it is stopped (SIGSTOP): `kill -CONT {pid}` resumes it" if procinfo.state(pid) == "T"
                else f"if it stays so, `kill -KILL {pid}` then `hpo-tui resume {row['name']}`")
        return f"runner not responding ({age:.0f} s); {hint}"

    # -- reading ----------------------------------------------------------------------------------

    def _row(self, name: str) -> dict[str, Any]:
        row = self._query(lambda store: store.tuning_job(name) if store is not None else None)
        if row is None:
            raise TuningJobNotFound(
                f"no local tuning job named {name!r}; `hpo-tui jobs` lists the local tuning jobs"
            )
        return row

    @_busy_is_an_error
    def list_tuning_jobs(self) -> list[TuningJobView]:
        self._reap_children()
        def read(store: Store | None) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
            if store is None:
                return [], {}
            with store.read():
                rows = store.tuning_jobs()
                return rows, {r["name"]: store.training_jobs(r["name"]) for r in rows}

        for attempt in range(2):
            rows, jobs = self._query(read)
            if not rows:
                return []
            dead = [row for row in rows if self._runner_dead(row)]
            if not dead or attempt:
                break
            for row in dead:
                self._handle_dead_runner(row)
        return [dataclasses.replace(_tuning_view(row, jobs[row["name"]]),
                                    warning=_joined(self._silence_warning(row), _stalled_count(jobs[row["name"]])))
                for row in rows]

    @_busy_is_an_error
    def poll(self, name: str, cursor: Any = None, *, points: bool = True) -> Snapshot:
        """The tuning job, its training jobs and the metric points after cursor.

        With a cursor from an earlier poll, only the training-job rows changed since then
        are read (the rest come from the cursor). points=False reads no metric point: the
        cursor then starts after the newest one (status and export print none; the
        dashboard loads the curves it shows with curves()).
        """
        self._reap_children()
        previous = cursor if isinstance(cursor, LocalCursor) else None
        start = previous.point_id if previous is not None else int(cursor or 0)

        def read(store: Store | None) -> tuple[Any, list[dict[str, Any]], list[dict[str, Any]], int, bool]:
            if store is None:
                return None, [], [], start, False
            with store.read():
                row = store.tuning_job(name)
                if row is None:
                    return None, [], [], start, False
                incremental = previous is not None and previous.tuning_job == name and store.has_row_versions
                jobs = (store.training_jobs_changed(name, previous.row_version) if incremental  # type: ignore[union-attr]
                        else store.training_jobs(name))
                if incremental and store.schema_version >= 3:
                    # A stalled job's process may be stopped or continued without a row change.
                    seen = {j["name"] for j in jobs}
                    jobs += [j for j in store.stalled_jobs(name) if j["name"] not in seen]
                if points:
                    new = store.points_after(name, start)
                    last = max([start] + [p["id"] for p in new])
                else:
                    new, last = [], max(start, store.last_point_id(name))
                return row, jobs, new, last, incremental

        for _ in range(2):
            row, jobs, new_points, last_point, incremental = self._query(read)
            if row is None:
                raise TuningJobNotFound(
                    f"no local tuning job named {name!r}; `hpo-tui jobs` lists the local tuning jobs"
                )
            if not self._runner_dead(row):
                break
            self._handle_dead_runner(row)
        rows = _JobRows.merged(previous.rows if incremental and previous is not None else None, jobs)
        spec = _stored_spec(row)
        view = _tuning_view(row, rows, spec)
        parents = self._query(lambda store: _parent_jobs(store, spec) if store is not None else [])
        if parents:
            view = _with_overall_best(view, parents + rows.rows())
        return Snapshot(
            tuning_job=view,
            training_jobs=rows.views,
            new_points=tuple(
                MetricPoint(p["job"], p["metric"], p["epoch"], p["timestamp"], p["value"]) for p in new_points
            ),
            cursor=LocalCursor(name, last_point, rows.version, rows),
            fetched_at=time.time(),
            warning=_joined(self._silence_warning(row), _stall_warning(rows.views)),
        )

    @_busy_is_an_error
    def curves(self, name: str, jobs: list[str], metric: str | None = None) -> tuple[MetricPoint, ...]:
        """Every metric point (of one metric, when given) of some training jobs of a tuning
        job: what the dashboard loads for the rows and charts it shows."""
        def read(store: Store | None) -> list[dict[str, Any]]:
            if store is None or not jobs:
                return []
            return [p for p in store.points_of_jobs(list(jobs), metric) if p["tuning_job"] == name]

        return tuple(MetricPoint(p["job"], p["metric"], p["epoch"], p["timestamp"], p["value"])
                     for p in self._query(read))

    @_busy_is_an_error
    def log_tail(self, job: str, cursor: Any = None) -> LogChunk:
        row = self._training_row(job)
        if row is None:
            raise BackendError(
                f"no local training job named {job!r}; `hpo-tui status TUNING_JOB` lists its training jobs"
            )
        offset = int(cursor or 0)
        path = row["log_path"]
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return LogChunk((), offset)
        except OSError as err:
            raise BackendError(
                f"cannot read the log of {job}: {path}: {err.strerror}"
                + ("; it is a symbolic link, which hpo-tui does not follow" if err.errno == errno.ELOOP else "")
            ) from None
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise BackendError(
                f"cannot read the log of {job}: {path} is not a file (a folder is in its place); move it aside"
            )
        with os.fdopen(fd, "rb") as f:
            if st.st_size < offset:
                offset = 0  # the file was replaced: start again
            f.seek(offset)
            data = f.read(LOG_READ_MAX)
            end = data.rfind(b"\n")
            if end < 0:
                if len(data) < LOG_READ_MAX:
                    return LogChunk((), offset)  # a line still being written
                return _long_line(f, data, offset)
        complete = data[: end + 1]
        # Training output is user code's: no terminal escapes reach the CLI or the TUI.
        lines = tuple(
            sanitize(line.decode("utf-8", "replace").rstrip("\r")) for line in complete.split(b"\n")[:-1]
        )
        return LogChunk(lines, offset + len(complete))

    def training_job_status(self, job: str) -> str | None:
        """Status of one training job (None when unknown); lets `logs --follow` know when to stop."""
        row = self._training_row(job)
        if row is None:
            return None
        tuning = self._row(row["tuning_job"])
        if self._runner_dead(tuning):
            self._handle_dead_runner(tuning)
            row = self._training_row(job)
        return row["status"]

    def _training_row(self, job: str) -> dict[str, Any] | None:
        return self._query(lambda store: store.training_job(job) if store is not None else None)

    @_busy_is_an_error
    def tuning_spec(self, name: str) -> TuningSpec:
        """The spec a tuning job was launched with (to launch a new one from it)."""
        return spec_as_written(self._row(name)["spec_json"])

    # -- stop -------------------------------------------------------------------------------------

    def stop(self, name: str) -> bool | None:
        self._reap_children()
        row = self._row(name)
        with control_lock(name, Path(row["folder"])):
            return self._stop(name)

    def _stop(self, name: str) -> bool | None:
        row = self._row(name)
        if row["status"] in TERMINAL_STATUSES:
            return False  # nothing to stop
        writer = Store.writer(paths.store_path())
        try:
            with writer.write():
                writer.update_tuning_job(name, stop_requested=1)
            row = writer.tuning_job(name)
            if row["status"] in TERMINAL_STATUSES:
                return
            if self._runner_dead(row):
                self._mark_runner_dead(writer, row)
                return
            try:
                os.kill(row["runner_pid"], signal.SIGTERM)
                # A stopped (SIGSTOPped) runner acts on the stop only once it runs again.
                os.kill(row["runner_pid"], signal.SIGCONT)
            except (ProcessLookupError, TypeError):
                pass
        finally:
            writer.close()
        # Wait briefly for the runner to acknowledge, so the caller sees Stopping (or Stopped).
        deadline = time.time() + STOP_WAIT
        while time.time() < deadline:
            row = self._row(name)
            if row["status"] != "InProgress" or self._runner_dead(row):
                break
            time.sleep(0.05)
        if self._runner_dead(row):
            self._handle_dead_runner(row)

    # -- a dead runner ------------------------------------------------------------------------------

    def _runner_dead(self, row: dict[str, Any]) -> bool:
        if row["status"] not in LIVE_STATUSES:
            return False
        if row["runner_pid"] is None:
            return time.time() - row["created_at"] > UNRECORDED_RUNNER_GRACE and row["ended_at"] is None
        return not procinfo.is_alive(row["runner_pid"], row["runner_start_time"])

    def _handle_dead_runner(self, row: dict[str, Any]) -> None:
        # The cached reader is closed first: a read-only connection and a writer of one
        # process share SQLite's view of the WAL index, and after another process's writer
        # went away the writer then failed with "disk I/O error" on an intact store (about 1
        # poll in 20 that met a runner just started or just gone). A second failure is real.
        for attempt in (0, 1):
            self._drop_reader()
            writer = Store.writer(paths.store_path())
            try:
                self._mark_runner_dead(writer, row)
                return
            except sqlite3.OperationalError as err:
                if _is_busy(err):
                    raise
                if attempt:
                    raise store_error(paths.store_path(), err) from None  # a full disk, a read-only store
            finally:
                writer.close()

    def _drop_reader(self) -> None:
        with self._lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None

    def _mark_runner_dead(self, writer: Store, seen: dict[str, Any]) -> None:
        """Record that the runner of a live tuning job is gone; keep every finished result.

        Re-checked inside one IMMEDIATE transaction, so two readers (or a reader and a
        resume) can't both act, and a runner that has just finished is left alone.
        """
        self._reap_children()
        with writer.write():
            row = writer.tuning_job(seen["name"])
            if row is None or row["status"] not in LIVE_STATUSES:
                return
            if (row["runner_pid"], row["runner_start_time"]) != (seen["runner_pid"], seen["runner_start_time"]):
                return  # a new runner took over meanwhile
            if not self._runner_dead(row):
                return
            stopping = bool(row["stop_requested"]) or row["status"] == "Stopping"
            now = time.time()
            jobs = writer.training_jobs(row["name"])
            # Its jobs died with it (PR_SET_PDEATHSIG); what they started did not.
            procs.kill_leftovers(paths.home(), row["name"], [j for j in jobs if j["status"] not in TERMINAL_STATUSES])
            for job in jobs:
                if job["status"] in TERMINAL_STATUSES:
                    continue
                objective_status = "Succeeded" if stopping and job["final_objective"] is not None else "Failed"
                if stopping:
                    writer.update_training_job(job["name"], status="Stopped", objective_status=objective_status,
                                               ended_at=now)
                else:
                    writer.update_training_job(job["name"], status="Failed", objective_status="Failed",
                                               failure_reason=RUNNER_DIED, retryable=1, ended_at=now)
            if stopping:
                writer.update_tuning_job(row["name"], status="Stopped", ended_at=now)
            else:
                # A runner that failed on a named fault (a full disk, say) and could not write
                # the store left the reason in its failure file.
                reason = faults.read_failure(Path(row["folder"])) or RUNNER_DIED
                writer.update_tuning_job(row["name"], status="Failed", failure_reason=reason, ended_at=now)


# ---------------------------------------------------------------------------------------------


def _long_line(f: Any, head: bytes, offset: int) -> LogChunk:
    """One line longer than LOG_READ_MAX: show its start, and move the cursor past its end
    (or past what is written of it so far), so the reader never sticks on it."""
    pos = offset + len(head)
    while True:
        block = f.read(1024 * 1024)
        if not block:
            break
        cut = block.find(b"\n")
        if cut >= 0:
            pos += cut + 1
            break
        pos += len(block)
    shown = sanitize(head[:LONG_LINE_SHOWN].decode("utf-8", "replace"))
    return LogChunk((f"{shown} [... line of {pos - offset} bytes cut]",), pos)


def _completed_error(name: str) -> BackendError:
    return BackendError(f"tuning job {name!r} already Completed; nothing to resume (launch a new one)")


def _runner_alive_error(name: str, row: dict[str, Any] | None) -> BackendError:
    """row: as read once a live runner is recorded (None: only a pid known to be alive is named)."""
    pid = row["runner_pid"] if row else None
    return BackendError(
        f"tuning job {name!r} already has a running runner" + (f" (pid {pid})" if pid else "")
        + f"; watch it with `hpo-tui status {name}` or stop it with `hpo-tui stop {name}`"
    )


def _resolve_source_dir(source_dir: str, entry_point: str, base_dir: Path | None) -> Path:
    """SageMaker's source_dir on this machine: as given, else relative to the spec file, else
    the packaged training/ folder for the default 'training'. A folder holding the entry
    point wins over one that merely exists."""
    from hpo_tui.spec import source_dir_candidates  # the same places validate() looks

    candidates = source_dir_candidates(source_dir, base_dir)
    for candidate in candidates:
        if (candidate / entry_point).is_file():
            return candidate.resolve()
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    raise BackendError(
        f"estimator.source_dir: folder {source_dir!r} not found"
        + (f" (looked in {base_dir})" if base_dir else "")
        + "; point it at the folder that holds the entry point, or use 'training' for the bundled script"
    )


@contextlib.contextmanager
def _runner_lock(folder: Path, busy: Callable[[], BackendError]) -> Iterator[int]:
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


def _check_parents(store: Store, spec: TuningSpec) -> None:
    """Warm start parents must be finished local tuning jobs, as on SageMaker."""
    for i, parent in enumerate(spec.warm_start.parents or []):
        row = store.tuning_job(parent)
        if row is None:
            raise BackendError(
                f"warm_start.parents[{i}]: no local tuning job named {parent!r}; `hpo-tui jobs` lists them"
            )
        if row["status"] not in TERMINAL_STATUSES:
            raise BackendError(
                f"warm_start.parents[{i}]: {parent!r} is still {row['status']}; warm start from tuning "
                "jobs that ended (wait for it, or stop it first)"
            )


def _stored_spec(row: dict[str, Any]) -> dict[str, Any]:
    """The spec a tuning job was launched with, as plain data (parsed once per poll); {} when
    unreadable."""
    try:
        spec = json.loads(row.get("spec_json") or "{}")
    except (TypeError, ValueError):
        return {}
    return spec if isinstance(spec, dict) else {}


def _parent_jobs(store: Store, spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The training jobs of a warm-started tuning job's parents (none without warm start)."""
    warm = spec.get("warm_start")
    parents = (warm.get("parents") if isinstance(warm, dict) else None) or []
    if not parents:
        return []
    with store.read():
        return [j for parent in parents for j in store.training_jobs(parent)]


def _with_overall_best(view: TuningJobView, jobs: list[dict[str, Any]]) -> TuningJobView:
    """SageMaker's OverallBestTrainingJob: the best over the parents' jobs and this job's."""
    best_name, best_value = None, None
    for j in jobs:
        if j["objective_status"] == "Succeeded" and j["final_objective"] is not None:
            if is_better(j["final_objective"], best_value, view.objective_type):
                best_name, best_value = j["name"], j["final_objective"]
    return dataclasses.replace(view, overall_best_training_job=best_name, overall_best_objective=best_value)


def _tuning_view(row: dict[str, Any], jobs: "list[dict[str, Any]] | _JobRows",
                 spec: dict[str, Any] | None = None) -> TuningJobView:
    spec = _stored_spec(row) if spec is None else spec
    tuned = json.loads(row["tuned_parameters"])
    summary = jobs.summary(row["objective_type"]) if isinstance(jobs, _JobRows) else _summary(jobs, row["objective_type"])
    counters, objective_counters, best_name, best_value, count = summary
    return TuningJobView(
        name=row["name"], backend="local", status=row["status"], strategy=row["strategy"],
        objective_name=row["objective_name"], objective_type=row["objective_type"],
        max_jobs=row["max_jobs"] if row["max_jobs"] is not None else count,
        max_parallel_jobs=row["max_parallel_jobs"], status_counters=counters,
        objective_counters=objective_counters, best_training_job=best_name, best_objective=best_value,
        created_at=row["created_at"], ended_at=row["ended_at"], failure_reason=sanitize_optional(row["failure_reason"]),
        completion_reason=row["completion_reason"], tuned_parameters=tuple(tuned), max_epochs=row["max_epochs"],
        job_slots=executor.job_slots(row["max_parallel_jobs"], _local_concurrency(spec)), cores=executor.cores(),
        machine_slots=executor.local_concurrency(_local_concurrency(spec)),
        slot_users=slots.usage() if row["status"] in LIVE_STATUSES else (),
        parameter_ranges=_parameter_ranges(spec, tuned), objective_bounds=_objective_bounds(spec),
        metric_names=_metric_names(spec, row["objective_name"]), **_warm_start(spec),
    )


def _metric_names(spec: dict[str, Any], objective: str) -> tuple[str, ...]:
    """The metrics the spec defines, the objective first."""
    defined = spec.get("metric_definitions")
    names = [d.get("name") for d in defined if isinstance(d, dict)] if isinstance(defined, list) else []
    names = [n for n in names if isinstance(n, str) and n]
    return tuple(dict.fromkeys([objective] + names if objective in names else names))


def _warm_start(spec: dict[str, Any]) -> dict[str, Any]:
    warm = spec.get("warm_start")
    parents = (warm.get("parents") if isinstance(warm, dict) else None) or []
    if not parents:
        return {}
    return {"warm_start_parents": tuple(str(p) for p in parents),
            "warm_start_type": warm.get("type") or "IdenticalDataAndAlgorithm"}


def _objective_bounds(spec: dict[str, Any]) -> tuple[float | None, float | None] | None:
    """[objective] lowest and highest, when the spec gave either (numbers only)."""
    objective = spec.get("objective")
    if not isinstance(objective, dict):
        return None
    low, high = objective.get("lowest"), objective.get("highest")
    number = lambda v: v if isinstance(v, (int, float)) and not isinstance(v, bool) else None  # noqa: E731
    low, high = number(low), number(high)
    return (low, high) if low is not None or high is not None else None


def _summary(jobs: list[dict[str, Any]], objective_type: str) -> tuple[StatusCounters, ObjectiveCounters,
                                                                       str | None, float | None, int]:
    """The tuning job's counters and best training job, from its training-job rows."""
    statuses = [j["status"] for j in jobs]
    counters = StatusCounters(
        completed=statuses.count("Completed"),
        in_progress=statuses.count("InProgress") + statuses.count("Stopping"),
        retryable_error=sum(1 for j in jobs if j["status"] == "Failed" and j["retryable"]),
        non_retryable_error=sum(1 for j in jobs if j["status"] == "Failed" and not j["retryable"]),
        stopped=statuses.count("Stopped"),
    )
    objectives = [j["objective_status"] for j in jobs]
    objective_counters = ObjectiveCounters(
        succeeded=objectives.count("Succeeded"),
        pending=objectives.count("Pending"),
        failed=objectives.count("Failed"),
    )
    best_name, best_value = None, None
    for j in jobs:
        if j["objective_status"] == "Succeeded" and j["final_objective"] is not None:
            if is_better(j["final_objective"], best_value, objective_type):
                best_name, best_value = j["name"], j["final_objective"]
    return counters, objective_counters, best_name, best_value, len(jobs)


class _JobRows:
    """A tuning job's training jobs as of a poll: the views in launch order, the few row
    fields the counters need, and the highest row_version read. Never changed once built
    (a poll builds a new one), so snapshots and cursors can share it."""

    __slots__ = ("views", "_fields", "version", "_summary")

    def __init__(self, views: tuple[TrainingJobView, ...], fields: dict[str, tuple], version: int) -> None:
        self.views = views
        self._fields = fields  # name -> (status, objective_status, final_objective, retryable)
        self.version = version
        self._summary: Any = None

    @classmethod
    def merged(cls, old: "_JobRows | None", rows: list[dict[str, Any]]) -> "_JobRows":
        """old with the changed rows applied (every row when old is None)."""
        version = max([old.version if old is not None else 0] + [r.get("row_version", 0) for r in rows])
        if old is not None and not rows:
            return old  # nothing changed: the same views, so the dashboard skips them at once
        fields = dict(old._fields) if old is not None else {}
        views = list(old.views) if old is not None else []
        position = {v.name: i for i, v in enumerate(views)} if old is not None else {}
        added = False
        for r in rows:
            view = _training_view(r)
            fields[r["name"]] = (r["status"], r["objective_status"], r["final_objective"], r["retryable"])
            if r["name"] in position:
                views[position[r["name"]]] = view
            else:
                position[r["name"]] = len(views)
                views.append(view)
                added = True
        if added and any(a.launch_index > b.launch_index for a, b in zip(views, views[1:])):
            views.sort(key=lambda v: v.launch_index)  # rows come in launch order: rarely needed
        return cls(tuple(views), fields, version)

    def rows(self) -> list[dict[str, Any]]:
        """The fields the counters and the best job need, one dict per training job."""
        return [dict(name=n, status=f[0], objective_status=f[1], final_objective=f[2], retryable=f[3])
                for n, f in self._fields.items()]

    def summary(self, objective_type: str) -> tuple:
        if self._summary is None or self._summary[0] != objective_type:
            self._summary = (objective_type, _summary(self.rows(), objective_type))
        return self._summary[1]


@dataclasses.dataclass(frozen=True)
class LocalCursor:
    """Where a local poll stopped: the newest metric point and training-job row read, and
    the training jobs as of then (a later poll reads only the rows changed since)."""

    tuning_job: str
    point_id: int
    row_version: int
    rows: _JobRows = dataclasses.field(repr=False, compare=False)

    def __int__(self) -> int:  # what older callers took the cursor for: the last point id
        return self.point_id


def _local_concurrency(spec: dict[str, Any]) -> int | None:
    """The spec's [local] concurrency (None: one job per core), as the runner reads it."""
    local = spec.get("local")
    value = local.get("concurrency") if isinstance(local, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _parameter_ranges(spec: dict[str, Any], order: list[str]) -> tuple[ParameterRangeView, ...]:
    """The tuned ranges of a stored spec (its dataclasses as plain data), in `order` (the
    spec's); () when unreadable."""
    try:
        ranges = spec.get("ranges") or {}
        out = []
        for name, r in ranges.items():
            kind = r.get("kind", "")
            if kind == "categorical":
                out.append(ParameterRangeView(name, kind, values=tuple(str(v) for v in r.get("values", []))))
            else:
                out.append(ParameterRangeView(name, kind, float(r["min"]), float(r["max"]),
                                              str(r.get("scaling") or "Auto")))
        rank = {name: i for i, name in enumerate(order)}
        return tuple(sorted(out, key=lambda r: rank.get(r.name, len(rank))))
    except (ValueError, TypeError, KeyError, AttributeError):
        return ()


def _training_view(j: dict[str, Any]) -> TrainingJobView:
    return TrainingJobView(
        name=j["name"], status=j["status"], objective_status=j["objective_status"],
        # Values come from the spec (or a hostile one): shown, never run, so cleaned here.
        hyperparameters={k: sanitize(v) if isinstance(v, str) else v
                         for k, v in json.loads(j["hyperparameters"]).items()},
        final_objective=j["final_objective"],
        best_objective=j["best_objective"], last_epoch=j["last_epoch"], created_at=j["created_at"],
        started_at=j["started_at"], ended_at=j["ended_at"], failure_reason=sanitize_optional(j["failure_reason"]),
        launch_index=j["launch_index"], silent_since=j.get("stalled_since"),
        process_stopped=bool(j.get("stalled_since") and j["pid"] and procinfo.is_alive(j["pid"], j["pid_start_time"])
                             and procinfo.state(j["pid"]) == "T"),
    )


def _require_local_training() -> None:
    """Refuse to start a runner where its training jobs cannot run (one line: why, what to do)."""
    from hpo_tui.engine.support import local_training_problem

    problem = local_training_problem()
    if problem is not None:
        raise BackendError(problem)
