"""A tuning job's max_parallel_jobs is stored once, in the spec it was launched with (schema 5):
a store of schema 3 or 4, which also kept it in a column of tuning_jobs, is rebuilt without
the column in one transaction, by whichever process opens it first, and reads the same after.
A row whose stored spec is missing or unreadable still polls, and says it does not know."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time

import pytest

from hpo_tui import paths
from hpo_tui.backends.local import LocalBackend
from hpo_tui.cli import main
from hpo_tui.engine.store import _MIGRATIONS, SCHEMA_VERSION, Store
from hpo_tui.engine.stored_spec import spec_to_json
from hpo_tui.engine.table_rebuild import RebuildError, rebuild_table
from hpo_tui.spec import LocalSettings, TuningSpec


def _old_store(version: int) -> sqlite3.Connection:
    """A store as hpo-tui wrote it at schema `version` (no rows yet)."""
    path = paths.store_path()
    paths.private_dir(path.parent)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")  # as every store is made
    for step in _MIGRATIONS[:version]:
        assert not callable(step), "schemas 1 to 4 are plain SQL"
        for statement in step.split(";") if isinstance(step, str) else step:
            if statement.strip():
                conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {version}")
    return conn


def _insert(conn: sqlite3.Connection, table: str, row: dict) -> None:
    conn.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
                 tuple(row.values()))


def _tuning_row(name: str, spec: TuningSpec, created_at: float, **extra: object) -> dict:
    return dict(name=name, spec_json=spec_to_json(spec), status="Completed", strategy=spec.strategy,
                objective_name=spec.objective.name, objective_type=spec.objective.type, max_jobs=6,
                tuned_parameters=json.dumps(list(spec.ranges)), created_at=created_at, ended_at=created_at + 60,
                folder=str(paths.jobs_dir() / name), **extra)


def _training_row(tuning_job: str, i: int, now: float) -> dict:
    return dict(name=f"{tuning_job}-{i + 1:03d}", tuning_job=tuning_job, launch_index=i, status="Completed",
                objective_status="Succeeded", hyperparameters=json.dumps({"lr": "0.1"}), final_objective=0.5 + i / 10,
                best_objective=None, last_epoch=1, created_at=now, started_at=now, ended_at=now + 1,
                log_path=f"/nonexistent/{i}.log")


def _views(backend: LocalBackend) -> list[tuple]:
    return [(v.name, v.max_parallel_jobs, v.job_slots, v.best_training_job) for v in backend.list_tuning_jobs()]


def _columns(table: str) -> list[str]:
    conn = sqlite3.connect(paths.store_path())
    try:
        return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]
    finally:
        conn.close()


@pytest.mark.parametrize("version", [3, 4])
def test_an_old_store_loses_the_column_and_reads_the_same_max_parallel_jobs_and_job_slots(version: int) -> None:
    now = time.time()
    conn = _old_store(version)
    # Three tuning jobs: two launched in the same instant (the listing breaks that tie by
    # the order they were recorded), one whose runner recorded its job slots (schema 4).
    slots = {"job_slots": 1} if version == 4 else {}
    _insert(conn, "tuning_jobs", _tuning_row("zeta", TuningSpec(max_parallel_jobs=4, local=LocalSettings(concurrency=3)),
                                             now - 100, max_parallel_jobs=4))
    _insert(conn, "tuning_jobs", _tuning_row("alpha", TuningSpec(max_parallel_jobs=2, local=LocalSettings(concurrency=5)),
                                             now - 100, max_parallel_jobs=2))
    _insert(conn, "tuning_jobs", _tuning_row("mid", TuningSpec(max_parallel_jobs=3, local=LocalSettings(concurrency=2)),
                                             now - 50, max_parallel_jobs=3, **slots))
    for name in ("zeta", "alpha", "mid"):
        for i in range(3):
            _insert(conn, "training_jobs", _training_row(name, i, now))
    rows_before = [dict(zip(_columns("tuning_jobs"), r)) for r in conn.execute("SELECT * FROM tuning_jobs ORDER BY name")]
    conn.close()

    backend = LocalBackend()  # a reader of the old schema: nothing has migrated it yet
    try:
        before = _views(backend)
    finally:
        backend.close()
    assert before == [("mid", 3, 1 if version == 4 else 2, "mid-003"),
                      ("alpha", 2, 2, "alpha-003"), ("zeta", 4, 3, "zeta-003")]

    Store.writer(paths.store_path()).close()  # the next launch or runner migrates it

    assert "max_parallel_jobs" not in _columns("tuning_jobs")
    backend = LocalBackend()
    try:
        assert _views(backend) == before
        assert backend.poll("mid", points=False).tuning_job.max_parallel_jobs == 3
    finally:
        backend.close()
    conn = sqlite3.connect(paths.store_path())
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        after = [dict(zip(_columns("tuning_jobs"), r)) for r in conn.execute("SELECT * FROM tuning_jobs ORDER BY name")]
        # Every other field of every row is as it was.
        dropped = [{k: v for k, v in row.items() if k != "max_parallel_jobs"} for row in rows_before]
        assert after == [{"job_slots": None} | row for row in dropped]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("SELECT COUNT(*) FROM training_jobs").fetchone()[0] == 9
    finally:
        conn.close()


def test_foreign_keys_and_row_versions_still_hold_after_the_rebuild() -> None:
    now = time.time()
    conn = _old_store(4)
    _insert(conn, "tuning_jobs", _tuning_row("kept", TuningSpec(), now, max_parallel_jobs=3))
    _insert(conn, "training_jobs", _training_row("kept", 0, now))
    conn.close()
    writer = Store.writer(paths.store_path())
    try:
        # The writer's foreign keys are on again: a training job of no tuning job is refused.
        with pytest.raises(sqlite3.IntegrityError):
            with writer.write():
                writer.insert("training_jobs", _training_row("missing", 0, now))
        # The training_jobs triggers (schema 2) still version every change.
        version = writer.training_job("kept-001")["row_version"]
        with writer.write():
            writer.update_training_job("kept-001", final_objective=0.9)
        assert writer.training_job("kept-001")["row_version"] > version
    finally:
        writer.close()


def test_two_processes_opening_an_old_store_at_once_migrate_it_once() -> None:
    now = time.time()
    conn = _old_store(3)  # from 3, a second migration would fail: job_slots would be added twice
    _insert(conn, "tuning_jobs", _tuning_row("shared", TuningSpec(max_parallel_jobs=2), now, max_parallel_jobs=2))
    conn.close()
    # Both open it while a write lock is held here (so both find schema 3), then go on as
    # it is released.
    holder = sqlite3.connect(paths.store_path(), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    code = "from hpo_tui import paths; from hpo_tui.engine.store import Store; " \
           "print('opening', flush=True); Store.writer(paths.store_path()).close()"
    workers = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for _ in range(2)]
    try:
        assert [w.stdout.readline() for w in workers] == ["opening\n"] * 2
    finally:
        holder.execute("COMMIT")
        holder.close()
    results = [w.communicate() for w in workers]
    assert [w.returncode for w in workers] == [0, 0], results
    backend = LocalBackend()
    try:
        assert _views(backend) == [("shared", 2, 2, None)]
    finally:
        backend.close()
    assert "max_parallel_jobs" not in _columns("tuning_jobs")


@pytest.mark.parametrize("spec_json", ["{}", "not json", "null", '{"max_parallel_jobs": "four"}'])
def test_a_row_whose_spec_cannot_be_read_polls_and_shows_max_parallel_jobs_as_not_known(spec_json, capsys) -> None:
    now = time.time()
    writer = Store.writer(paths.store_path())
    try:
        with writer.write():
            writer.insert("tuning_jobs", dict(_tuning_row("damaged", TuningSpec(), now), spec_json=spec_json))
            writer.insert("tuning_jobs", dict(_tuning_row("recorded", TuningSpec(), now - 10), spec_json=spec_json,
                                              job_slots=2))
    finally:
        writer.close()
    backend = LocalBackend()
    try:
        view = backend.poll("damaged", points=False).tuning_job
        # 0: not known (as a SageMaker listing shows a limit it was not given); no job slots
        # unless the runner recorded them.
        assert (view.max_parallel_jobs, view.job_slots) == (0, None)
        assert _views(backend) == [("damaged", 0, None, None), ("recorded", 0, 2, None)]
    finally:
        backend.close()
    assert main(["status", "damaged"]) == 0
    out = capsys.readouterr().out
    assert "max 6 jobs, ? in parallel" in out, out


def test_a_rebuild_that_would_break_a_foreign_key_is_rolled_back(tmp_path) -> None:
    conn = sqlite3.connect(tmp_path / "scratch.db", isolation_level=None)
    conn.execute("CREATE TABLE parent (key TEXT COLLATE NOCASE PRIMARY KEY, note TEXT)")
    conn.execute("CREATE TABLE child (key TEXT REFERENCES parent(key))")
    conn.execute("INSERT INTO parent VALUES ('A', 'x')")
    conn.execute("INSERT INTO child VALUES ('a')")  # matches 'A' under the parent's collation
    conn.execute("BEGIN IMMEDIATE")
    with pytest.raises(RebuildError, match="broke 1 foreign key"):
        rebuild_table(conn, "parent", "CREATE TABLE parent_new (key TEXT PRIMARY KEY)")
    conn.execute("ROLLBACK")
    assert conn.execute("SELECT * FROM parent").fetchall() == [("A", "x")]
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    conn.close()
