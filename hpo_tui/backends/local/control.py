"""Runner control: telling a live runner from a dead one, repairing the rows a dead runner
left (its tuning job ends Failed, or Stopped when a stop was asked), and stopping a tuning
job (a stop request in the store, then SIGTERM to its runner).

Writes the store. The runner is the writer of its tuning job's rows while it lives; this
module writes only (a) stop_requested = 1 for a stop, and (b) the end of a tuning job whose
runner is dead, re-checked inside one IMMEDIATE transaction so two readers, or a reader and
a resume, never both act, and a runner that has just finished is left alone. It also kills
what a dead runner's training jobs left running.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

from hpo_tui import paths
from hpo_tui.backends.local.reader import StoreReader, is_busy
from hpo_tui.engine import faults, procinfo, procs
from hpo_tui.engine.runner_files import LIVE_STATUSES, RUNNER_DIED, env_seconds, heartbeat_path
from hpo_tui.engine.store import Store, store_error
from hpo_tui.views import TERMINAL_STATUSES

# A row whose runner pid was never recorded (the launching process died in between) is
# treated as dead after this long.
UNRECORDED_RUNNER_GRACE = 30.0
STOP_WAIT = 3.0  # how long stop() waits for a live runner to acknowledge
# A live runner whose heartbeat is older than this is "not responding"; HPO_TUI_RUNNER_SILENT
# overrides (the runner beats every HEARTBEAT_INTERVAL, and a loaded machine delays it).
DEFAULT_RUNNER_SILENT = 15.0


def runner_silent_after() -> float:
    return env_seconds("HPO_TUI_RUNNER_SILENT", DEFAULT_RUNNER_SILENT, 1.0)


def runner_dead(row: dict[str, Any]) -> bool:
    if row["status"] not in LIVE_STATUSES:
        return False
    if row["runner_pid"] is None:
        return time.time() - row["created_at"] > UNRECORDED_RUNNER_GRACE and row["ended_at"] is None
    return not procinfo.is_alive(row["runner_pid"], row["runner_start_time"])


def runner_silence(row: dict[str, Any]) -> float | None:
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


def silence_warning(row: dict[str, Any]) -> str | None:
    age = runner_silence(row)
    if age is None:
        return None
    pid = row["runner_pid"]
    hint = (f"it is stopped (SIGSTOP): `kill -CONT {pid}` resumes it" if procinfo.state(pid) == "T"
            else f"if it stays so, `kill -KILL {pid}` then `hpo-tui resume {row['name']}`")
    return f"runner not responding ({age:.0f} s); {hint}"


class RunnerControl:
    """The runners this process started (reaped as they end, so none stays a zombie), and
    what the backend does to a tuning job's runner."""

    def __init__(self, reader: StoreReader) -> None:
        self.reader = reader
        self.children: list[subprocess.Popen] = []

    def reap(self) -> None:
        self.children = [p for p in self.children if p.poll() is None]

    def handle_dead_runner(self, row: dict[str, Any]) -> None:
        # The cached reader is closed first: a read-only connection and a writer of one
        # process share SQLite's view of the WAL index, and after another process's writer
        # went away the writer then failed with "disk I/O error" on an intact store. A
        # second failure is real.
        for attempt in (0, 1):
            self.reader.drop()
            writer = Store.writer(paths.store_path())
            try:
                self.mark_runner_dead(writer, row)
                return
            except sqlite3.OperationalError as err:
                if is_busy(err):
                    raise
                if attempt:
                    raise store_error(paths.store_path(), err) from None  # a full disk, a read-only store
            finally:
                writer.close()

    def mark_runner_dead(self, writer: Store, seen: dict[str, Any]) -> None:
        """Record that the runner of a live tuning job is gone; keep every finished result.

        Re-checked inside one IMMEDIATE transaction, so two readers (or a reader and a
        resume) can't both act, and a runner that has just finished is left alone.
        """
        self.reap()
        with writer.write():
            row = writer.tuning_job(seen["name"])
            if row is None or row["status"] not in LIVE_STATUSES:
                return
            if (row["runner_pid"], row["runner_start_time"]) != (seen["runner_pid"], seen["runner_start_time"]):
                return  # a new runner took over meanwhile
            if not runner_dead(row):
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

    def live_runner_row(self, name: str) -> dict[str, Any] | None:
        """The row, once it names a live runner (the winner of a race records its runner
        moments after taking the lock); None if none shows up, so no dead pid is named."""
        deadline = time.time() + STOP_WAIT
        while True:
            row = self.reader.tuning_row(name)
            if procinfo.is_alive(row["runner_pid"], row["runner_start_time"]):
                return row
            if time.time() >= deadline:
                return None
            time.sleep(0.05)

    def stop(self, name: str) -> bool | None:
        """Ask the runner to stop (the caller holds the control lock); False when the tuning
        job had already ended."""
        row = self.reader.tuning_row(name)
        if row["status"] in TERMINAL_STATUSES:
            return False  # nothing to stop
        writer = Store.writer(paths.store_path())
        try:
            with writer.write():
                writer.update_tuning_job(name, stop_requested=1)
            row = writer.tuning_job(name)
            if row["status"] in TERMINAL_STATUSES:
                return None
            if runner_dead(row):
                self.mark_runner_dead(writer, row)
                return None
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
            row = self.reader.tuning_row(name)
            if row["status"] != "InProgress" or runner_dead(row):
                break
            time.sleep(0.05)
        if runner_dead(row):
            self.handle_dead_runner(row)
        return None
