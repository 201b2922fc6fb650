"""The local engine's SQLite store: tuning jobs, training jobs and metric points.

WAL mode so readers never block the runner; every write is a short IMMEDIATE
transaction; readers open the file read-only. The file and its folder are owner-only.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from hpo_tui import paths
from hpo_tui.engine import faults
from hpo_tui.engine.stored_spec import spec_as_written, spec_from_json, spec_to_json  # noqa: F401 (re-exported)
from hpo_tui.errors import UserError

SCHEMA_VERSION = 4
BUSY_TIMEOUT_MS = 10_000

# Each entry upgrades the schema from version i to i + 1 (index i).
_MIGRATIONS: list[str | list[str]] = [
    """
    CREATE TABLE tuning_jobs (
        name TEXT PRIMARY KEY,
        spec_json TEXT NOT NULL,
        status TEXT NOT NULL,
        strategy TEXT NOT NULL,
        objective_name TEXT NOT NULL,
        objective_type TEXT NOT NULL,
        max_jobs INTEGER,
        max_parallel_jobs INTEGER NOT NULL,
        max_epochs INTEGER,
        tuned_parameters TEXT NOT NULL DEFAULT '[]',
        failure_reason TEXT,
        completion_reason TEXT,
        created_at REAL NOT NULL,
        ended_at REAL,
        runner_pid INTEGER,
        runner_start_time INTEGER,
        runner_pgid INTEGER,
        stop_requested INTEGER NOT NULL DEFAULT 0,
        folder TEXT NOT NULL
    );
    CREATE TABLE training_jobs (
        name TEXT PRIMARY KEY,
        tuning_job TEXT NOT NULL REFERENCES tuning_jobs(name),
        launch_index INTEGER NOT NULL,
        status TEXT NOT NULL,
        objective_status TEXT NOT NULL,
        hyperparameters TEXT NOT NULL,
        final_objective REAL,
        best_objective REAL,
        last_epoch INTEGER,
        created_at REAL NOT NULL,
        started_at REAL,
        ended_at REAL,
        failure_reason TEXT,
        -- 1 = interrupted by a runner that died: retried on resume, not counted in max_jobs
        retryable INTEGER NOT NULL DEFAULT 0,
        exit_code INTEGER,
        pid INTEGER,
        pid_start_time INTEGER,
        pgid INTEGER,
        log_path TEXT NOT NULL,
        UNIQUE (tuning_job, launch_index)
    );
    CREATE TABLE metric_points (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        tuning_job TEXT NOT NULL,
        job TEXT NOT NULL,
        metric TEXT NOT NULL,
        epoch INTEGER NOT NULL,
        timestamp REAL NOT NULL,
        value REAL NOT NULL
    );
    CREATE INDEX metric_points_by_tuning_job ON metric_points (tuning_job, id);
    CREATE INDEX metric_points_by_job ON metric_points (job, id);
    """,
    # 1 -> 2: a per-tuning-job version on training-job rows, bumped by triggers on every
    # insert and update, so a poll reads only the rows changed since its cursor. Existing
    # rows get their rowid (unique, and below every version given from now on).
    [
        "ALTER TABLE training_jobs ADD COLUMN row_version INTEGER NOT NULL DEFAULT 0",
        "UPDATE training_jobs SET row_version = rowid",
        "CREATE INDEX training_jobs_by_version ON training_jobs (tuning_job, row_version)",
        """CREATE TRIGGER training_jobs_version_on_insert AFTER INSERT ON training_jobs
        BEGIN
            UPDATE training_jobs SET row_version = (
                SELECT MAX(row_version) + 1 FROM training_jobs WHERE tuning_job = NEW.tuning_job
            ) WHERE rowid = NEW.rowid;
        END""",
        """CREATE TRIGGER training_jobs_version_on_update AFTER UPDATE ON training_jobs
        WHEN NEW.row_version = OLD.row_version
        BEGIN
            UPDATE training_jobs SET row_version = (
                SELECT MAX(row_version) + 1 FROM training_jobs WHERE tuning_job = NEW.tuning_job
            ) WHERE rowid = NEW.rowid;
        END""",
    ],
    # 2 -> 3: when a running training job went silent (no output, no CPU), once it counts
    # as stalled ([local] stall_seconds); NULL while it is active.
    ["ALTER TABLE training_jobs ADD COLUMN stalled_since REAL"],
    # 3 -> 4: the training jobs a tuning job runs at once (max_parallel_jobs capped by the
    # local concurrency), written by its runner as it starts; NULL until then, and in rows
    # of runners older than this schema (readers then work it out from the spec).
    ["ALTER TABLE tuning_jobs ADD COLUMN job_slots INTEGER"],
]


class StoreError(UserError):
    """The store cannot be opened or is from a newer hpo-tui."""


def _prepare_file(path: Path) -> None:
    """Create the database file owner-only before SQLite touches it (its -wal/-shm copy the
    mode), never through a symbolic link, and refuse anything but a regular file."""
    paths.private_dir(path.parent)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError as err:
        if err.errno == errno.ELOOP:
            paths.refuse_link(path)
        if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise StoreError(
                f"cannot write the store {path}: {err.strerror}; make it and its folder writable by "
                f"you (chmod u+w {path}), or set HPO_TUI_HOME to another folder"
            ) from None
        raise StoreError(f"cannot open the store {path}: {err.strerror}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise StoreError(f"the store {path} is not a regular file; move it aside and launch again")
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def _create(path: Path) -> None:
    """A new store, made whole under a temporary name and then linked into place, so the
    store's path never names an empty file of ours: one found empty lost its history."""
    paths.private_dir(path.parent)
    tmp = path.with_name(f"{path.name}.new-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    _prepare_file(tmp)
    try:
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            Store(conn, tmp, readonly=False)._migrate()
        finally:
            conn.close()
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        except OSError as err:
            raise StoreError(faults.describe(err, path) or f"cannot create the store {path}: {err.strerror}") from None
    except sqlite3.Error as err:
        raise store_error(path, err) from None
    finally:
        tmp.unlink(missing_ok=True)
        for suffix in ("-wal", "-shm"):
            Path(f"{tmp}{suffix}").unlink(missing_ok=True)


def refuse_empty(path: Path) -> None:
    """A 0-byte store (with no write-ahead log to rebuild it) lost its history: truncated
    by a full disk, a failed copy or another program. It is never taken for a new store."""
    paths.refuse_link(path)
    try:
        size = os.lstat(path).st_size
    except FileNotFoundError:
        return
    except OSError as err:
        raise StoreError(f"cannot read the store {path}: {err.strerror}; fix its mode (ls -l {path}), "
                         "or set HPO_TUI_HOME to another folder") from None
    if size:
        if not os.access(path, os.R_OK):
            raise StoreError(f"cannot read the store {path}: permission denied; make it readable by you "
                             f"(chmod u+rw {path}), or set HPO_TUI_HOME to another folder")
        return
    try:
        wal = os.stat(f"{path}-wal").st_size
    except OSError:
        wal = 0
    if wal:
        return
    raise StoreError(
        f"the store {path} is empty (0 bytes): its history was lost (a full disk, a failed copy?). "
        f"Restore it from a backup, or move it aside (mv {path} {path}.empty) to start a new store"
    )


def store_error(path: Path, err: sqlite3.Error) -> StoreError:
    """A clear message for a store SQLite cannot use."""
    text = str(err)
    if "disk is full" in text:
        return StoreError(faults.describe(err, path) or text)
    if "readonly" in text or "read-only" in text:
        return StoreError(
            f"cannot write the store {path}: it is read-only; make it writable by you "
            f"(chmod u+w {path} and its -wal/-shm files), or set HPO_TUI_HOME to another folder"
        )
    if "locked" in text or "busy" in text:
        return StoreError(f"the local store is busy ({text}): another process holds a lock on {path}; try again")
    return StoreError(
        f"the store {path} is damaged or not an hpo-tui store ({text}); move it aside "
        f"(mv {path} {path}.damaged) to start a new one, or set HPO_TUI_HOME to another folder"
    )


class Store:
    """One connection to the store. Use Store.writer() or Store.reader()."""

    def __init__(self, conn: sqlite3.Connection, path: Path, readonly: bool) -> None:
        self.conn = conn
        self.path = path
        self.readonly = readonly
        self.schema_version = SCHEMA_VERSION  # a reader's is the file's (older until a writer migrates it)

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def writer(cls, path: Path) -> "Store":
        if not os.path.lexists(path):
            _create(path)
        refuse_empty(path)
        _prepare_file(path)
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            store = cls(conn, path, readonly=False)
            store._migrate()
        except sqlite3.Error as err:
            conn.close()
            raise store_error(path, err) from None
        return store

    @classmethod
    def reader(cls, path: Path, *, busy_timeout: float | None = None) -> "Store | None":
        """A read-only connection, or None when no store exists yet (nothing launched).

        busy_timeout: seconds a read waits on a locked store before failing with StoreBusy.
        """
        if not path.exists():
            paths.refuse_link(path)  # a dangling link: never create or read through it
            return None
        paths.refuse_link(path)
        refuse_empty(path)
        timeout_ms = BUSY_TIMEOUT_MS if busy_timeout is None else max(0, int(busy_timeout * 1000))
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=timeout_ms / 1000,
                               isolation_level=None, check_same_thread=False)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {timeout_ms}")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version:
                conn.execute("SELECT name FROM tuning_jobs LIMIT 1").fetchall()
        except sqlite3.Error as err:
            conn.close()
            raise store_error(path, err) from None
        store = cls(conn, path, readonly=True)
        store.schema_version = version
        if version == 0:
            # Created but not yet initialised by its first writer: treat as empty.
            conn.close()
            return None
        if version > SCHEMA_VERSION:
            conn.close()
            raise StoreError(
                f"the store {path} was written by a newer hpo-tui (schema {version}, this one "
                f"reads up to {SCHEMA_VERSION}); upgrade hpo-tui or set HPO_TUI_HOME to another folder"
            )
        return store

    def checkpoint(self) -> None:
        """Copy the WAL into the database file, so finished results never live only in the
        -wal file (which a crash, a copy or a stray write could lose)."""
        try:
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except sqlite3.Error:
            pass  # a reader holding an old snapshot: the next checkpoint or close does it

    def close(self) -> None:
        self.conn.close()

    def interrupt(self) -> None:
        """Abort the statement running on this connection in another thread, if any."""
        self.conn.interrupt()

    def _migrate(self) -> None:
        with self.write():
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"the store {self.path} was written by a newer hpo-tui (schema {version}); "
                    "upgrade hpo-tui or set HPO_TUI_HOME to another folder"
                )
            for step in range(version, SCHEMA_VERSION):
                migration = _MIGRATIONS[step]
                statements = migration.split(";") if isinstance(migration, str) else migration
                for statement in statements:
                    if statement.strip():
                        self.conn.execute(statement)
            self.schema_version = SCHEMA_VERSION
            if version != SCHEMA_VERSION:
                self.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- transactions ------------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """An IMMEDIATE transaction: takes the write lock up front, so it never fails half-way
        with SQLITE_BUSY on upgrade from a read lock."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            # SQLite may have rolled back already (a full disk does): the error that matters
            # is the first one, never "no transaction is active" on top of it.
            if self.conn.in_transaction:
                try:
                    self.conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            raise
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error:
            if self.conn.in_transaction:
                try:
                    self.conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            raise

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every query inside sees the same snapshot."""
        self.conn.execute("BEGIN")
        try:
            yield self.conn
        finally:
            if self.conn.in_transaction:  # an error may have ended it already
                self.conn.execute("COMMIT")

    # -- queries -----------------------------------------------------------------------------

    def tuning_job(self, name: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM tuning_jobs WHERE name = ?", (name,)).fetchone()
        return dict(row) if row else None

    def tuning_jobs(self) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT * FROM tuning_jobs ORDER BY created_at DESC, rowid DESC")
        return [dict(r) for r in rows]

    def training_jobs(self, tuning_job: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT * FROM training_jobs WHERE tuning_job = ? ORDER BY launch_index", (tuning_job,)
        )
        return [dict(r) for r in rows]

    @property
    def has_row_versions(self) -> bool:
        """Rows carry row_version (schema 2): polls can read only the changed ones."""
        return self.schema_version >= 2

    def training_jobs_changed(self, tuning_job: str, after_version: int) -> list[dict[str, Any]]:
        """The training jobs inserted or updated since after_version (a row_version seen)."""
        rows = self.conn.execute(
            "SELECT * FROM training_jobs WHERE tuning_job = ? AND row_version > ? ORDER BY launch_index",
            (tuning_job, after_version),
        )
        return [dict(r) for r in rows]

    def stalled_jobs(self, tuning_job: str) -> list[dict[str, Any]]:
        """The running training jobs marked stalled (schema 3)."""
        rows = self.conn.execute(
            "SELECT * FROM training_jobs WHERE tuning_job = ? AND stalled_since IS NOT NULL "
            "AND status IN ('InProgress', 'Stopping') ORDER BY launch_index", (tuning_job,))
        return [dict(r) for r in rows]

    def last_point_id(self, tuning_job: str) -> int:
        """The id of the tuning job's newest metric point (0: none yet)."""
        row = self.conn.execute("SELECT MAX(id) FROM metric_points WHERE tuning_job = ?", (tuning_job,)).fetchone()
        return int(row[0] or 0)

    def points_of_jobs(self, jobs: list[str], metric: str | None = None) -> list[dict[str, Any]]:
        """Every metric point of these training jobs (of one metric, when given), oldest first."""
        out: list[dict[str, Any]] = []
        for start in range(0, len(jobs), 500):  # SQLite's bound-parameter limit
            chunk = jobs[start:start + 500]
            marks = ", ".join("?" for _ in chunk)
            sql = f"SELECT * FROM metric_points WHERE job IN ({marks})"
            params: list[Any] = list(chunk)
            if metric is not None:
                sql += " AND metric = ?"
                params.append(metric)
            out.extend(dict(r) for r in self.conn.execute(sql + " ORDER BY id", params))
        return out

    def training_job(self, name: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM training_jobs WHERE name = ?", (name,)).fetchone()
        return dict(row) if row else None

    def points_after(self, tuning_job: str, cursor: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT * FROM metric_points WHERE tuning_job = ? AND id > ? ORDER BY id",
            (tuning_job, cursor),
        )
        return [dict(r) for r in rows]

    def job_points(self, job: str, metric: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT * FROM metric_points WHERE job = ? AND metric = ? ORDER BY id", (job, metric)
        )
        return [dict(r) for r in rows]

    # -- writes (call inside write()) ----------------------------------------------------------

    def update_tuning_job(self, name: str, **fields: Any) -> None:
        sets = ", ".join(f"{k} = ?" for k in fields)
        self.conn.execute(f"UPDATE tuning_jobs SET {sets} WHERE name = ?", (*fields.values(), name))

    def update_training_job(self, name: str, **fields: Any) -> None:
        sets = ", ".join(f"{k} = ?" for k in fields)
        self.conn.execute(f"UPDATE training_jobs SET {sets} WHERE name = ?", (*fields.values(), name))

    def insert(self, table: str, row: dict[str, Any]) -> None:
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        self.conn.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", tuple(row.values()))

    def add_points(self, tuning_job: str, job: str, points: list[tuple[str, int, float, float]]) -> None:
        """points: (metric, epoch, timestamp, value)."""
        self.conn.executemany(
            "INSERT INTO metric_points (tuning_job, job, metric, epoch, timestamp, value) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(tuning_job, job, m, e, t, v) for m, e, t, v in points],
        )
