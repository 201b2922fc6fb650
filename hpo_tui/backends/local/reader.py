"""The local backend's read connection to the engine's store: one cached read-only
connection, reopened once when it lost track of the WAL index, and a read that met a lock
said plainly (StoreBusy) instead of waiting.

Reads only; nothing here writes the store.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
from pathlib import Path
from typing import Any, Callable, TypeVar

from hpo_tui import paths
from hpo_tui.backends.base import BackendError, TuningJobNotFound
from hpo_tui.engine.store import Store, store_error

T = TypeVar("T")


class StoreBusy(BackendError):
    """The store was locked for longer than the read's busy timeout."""


def is_busy(err: sqlite3.Error) -> bool:
    text = str(err)
    return isinstance(err, sqlite3.OperationalError) and any(
        word in text for word in ("locked", "busy", "interrupted"))


def busy_is_an_error(method: Callable[..., T]) -> Callable[..., T]:
    """A read that met a locked store says so plainly (the caller keeps its last data)."""

    @functools.wraps(method)
    def reading(*args: Any, **kwargs: Any) -> T:
        try:
            return method(*args, **kwargs)
        except sqlite3.OperationalError as exc:
            if not is_busy(exc):
                raise
            text = str(exc)
            raise StoreBusy(
                f"the local store is busy ({text}): another process holds a lock on it; "
                "the last data stays on screen and the read is retried"
            ) from None

    return reading


def not_found(name: str) -> TuningJobNotFound:
    return TuningJobNotFound(f"no local tuning job named {name!r}; `hpo-tui jobs` lists the local tuning jobs")


class StoreReader:
    """The cached read-only connection (None inside a read: no store yet)."""

    def __init__(self, busy_timeout: float | None) -> None:
        self._lock = threading.Lock()
        self._busy_timeout = busy_timeout
        self._store: Store | None = None
        self._path: Path | None = None

    def _open(self) -> Store | None:
        path = paths.store_path()
        if self._store is not None and self._path == path:
            return self._store
        if self._store is not None:
            self._store.close()
            self._store = None
        self._store = Store.reader(path, busy_timeout=self._busy_timeout)
        self._path = path
        return self._store

    def query(self, read: Callable[[Store | None], T]) -> T:
        """read(store) on the cached reader (None: no store yet). A reader can lose track of
        the WAL index when other processes remove it (a killed runner, a writer closing
        last): on a database error it is reopened once; a second error means the store
        itself is damaged."""
        with self._lock:
            for attempt in (0, 1):
                store = self._open()
                try:
                    return read(store)
                except sqlite3.DatabaseError as err:
                    if is_busy(err):
                        raise  # a lock, not damage: the read says so (StoreBusy) and is retried
                    self._close_store()
                    if attempt:
                        raise store_error(paths.store_path(), err) from None
        raise AssertionError("unreachable")

    def tuning_row(self, name: str) -> dict[str, Any]:
        row = self.query_found(lambda store: store.tuning_job(name) if store is not None else None,
                               lambda row: row is not None)
        if row is None:
            raise not_found(name)
        return row

    def query_found(self, read: Callable[[Store | None], T], found: Callable[[T], bool]) -> T:
        """read(store), read again on a new connection when found(result) is False: the
        cached read-only connection once missed a tuning job that launch had just committed
        on another connection (under load, right after a finished tuning job's runner had
        checkpointed and closed the store). A name the store really lacks costs one reopen."""
        result = self.query(read)
        if not found(result):
            self.drop()
            result = self.query(read)
        return result

    def training_row(self, job: str) -> dict[str, Any] | None:
        return self.query(lambda store: store.training_job(job) if store is not None else None)

    def training_rows(self, name: str) -> list[dict[str, Any]]:
        return self.query(lambda store: store.training_jobs(name) if store is not None else [])

    def _close_store(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def drop(self) -> None:
        """Close the connection (the next read opens a new one)."""
        with self._lock:
            self._close_store()

    def close(self) -> None:
        """Close the connection. Never waits on a read in progress (quitting must not hang):
        that read is interrupted, and its connection goes with the process."""
        if not self._lock.acquire(blocking=False):
            store = self._store
            if store is not None:
                store.interrupt()
            return
        try:
            self._close_store()
        finally:
            self._lock.release()
