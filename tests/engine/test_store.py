"""The SQLite store: owner-only files, WAL, schema versioning, read-only readers."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from hpo_tui import paths
from hpo_tui.engine.store import SCHEMA_VERSION, Store, StoreError, spec_from_json, spec_to_json
from hpo_tui.spec import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    MetricDefinition,
    TuningSpec,
)

from .conftest import wait_for


def test_store_and_folder_are_owner_only_and_in_wal_mode(backend, fake_spec, hpo_home: Path):
    name = backend.launch(fake_spec(max_jobs=1, max_parallel_jobs=1))
    wait_for(backend, name)
    db = paths.store_path()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(db.parent.stat().st_mode) & 0o077 == 0
    for job_folder in (paths.jobs_dir() / name).iterdir():
        if job_folder.is_dir():
            assert stat.S_IMODE(job_folder.stat().st_mode) & 0o077 == 0
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


def test_readers_cannot_write(hpo_home: Path):
    Store.writer(paths.store_path()).close()
    reader = Store.reader(paths.store_path())
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        reader.conn.execute("DELETE FROM tuning_jobs")
    reader.close()


def test_no_store_yet_means_no_jobs(backend, hpo_home: Path):
    assert Store.reader(paths.store_path()) is None
    assert backend.list_tuning_jobs() == []
    assert not paths.store_path().exists()  # reading never creates it


def test_a_store_from_a_newer_version_is_refused_with_advice(hpo_home: Path):
    Store.writer(paths.store_path()).close()
    conn = sqlite3.connect(paths.store_path())
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer hpo-tui"):
        Store.reader(paths.store_path())
    with pytest.raises(StoreError, match="HPO_TUI_HOME"):
        Store.writer(paths.store_path())


def test_reopening_keeps_data_and_schema(hpo_home: Path):
    w = Store.writer(paths.store_path())
    with w.write():
        w.conn.execute("INSERT INTO metric_points (tuning_job, job, metric, epoch, timestamp, value) "
                       "VALUES ('t', 't-001', 'm', 0, 0, 1.5)")
    w.close()
    w = Store.writer(paths.store_path())  # migrations are idempotent
    assert w.conn.execute("SELECT value FROM metric_points").fetchone()[0] == 1.5
    w.close()


def test_spec_round_trips_through_the_store():
    spec = TuningSpec(
        ranges={
            "lr": ContinuousParameter(0.001, 0.1, "Logarithmic"),
            "n": IntegerParameter(1, 5),
            "opt": CategoricalParameter(["sgd", "Adam"]),
        },
        metric_definitions=[MetricDefinition("loss", r"loss=([0-9.]+)")],
        max_jobs=None,
        random_seed=3,
    )
    spec.completion.target_objective_value = 0.9
    assert spec_from_json(spec_to_json(spec)) == spec


def test_a_tuning_job_the_cached_reader_cannot_see_is_read_again_before_not_found(
        backend, fake_spec, tmp_path, monkeypatch) -> None:
    """Seen once under load: launch committed a tuning job and the poll right after said it did
    not exist, from the backend's cached read-only connection. Here that connection is left on
    a store that was replaced whole (another home's store, holding a tuning job it never saw):
    poll and the commands that look a tuning job up read once more on a new connection."""
    import os

    from hpo_tui.backends.local import LocalBackend

    first = backend.launch(fake_spec(max_jobs=1, max_parallel_jobs=1))
    wait_for(backend, first)  # the backend's reader is open on this store now
    store = paths.store_path()
    monkeypatch.setenv("HPO_TUI_HOME", str(tmp_path / "other-home"))
    other = LocalBackend()
    try:
        second = other.launch(fake_spec(max_jobs=1, max_parallel_jobs=1))
        wait_for(other, second)
    finally:
        other.close()
    os.replace(paths.store_path(), store)  # checkpointed by its runner: the file holds it all
    monkeypatch.setenv("HPO_TUI_HOME", str(store.parent))
    assert backend.poll(second).tuning_job.status == "Completed"
    assert backend.list_tuning_jobs()[0].name == second
