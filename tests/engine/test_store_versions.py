"""Incremental polls (issue 16): training-job rows carry a version, a poll with a cursor reads
only the rows changed since, and a store of the previous schema is migrated in place."""

from __future__ import annotations

import json
import sqlite3
import time

from hpo_tui import paths
from hpo_tui.backends.local import LocalBackend
from hpo_tui.cli import main
from hpo_tui.engine.store import _MIGRATIONS, SCHEMA_VERSION, Store
from hpo_tui.engine.stored_spec import spec_to_json
from hpo_tui.spec import TuningSpec

TUNING = "versions-job"


def _tuning_row(now: float) -> dict:
    return dict(name=TUNING, spec_json=spec_to_json(TuningSpec(max_parallel_jobs=4)), status="Completed",
                strategy="Random", objective_name="Validation-accuracy", objective_type="Maximize", max_jobs=50,
                tuned_parameters=json.dumps(["lr"]), created_at=now - 600,
                ended_at=now - 1, folder=str(paths.jobs_dir() / TUNING))


def _job_row(i: int, now: float, status: str = "Completed", objective: float | None = None) -> dict:
    return dict(name=f"{TUNING}-{i + 1:03d}", tuning_job=TUNING, launch_index=i, status=status,
                objective_status="Succeeded" if status == "Completed" else "Pending",
                hyperparameters=json.dumps({"lr": f"0.{i + 1}"}),
                final_objective=objective if objective is not None else 0.5 + i / 1000,
                best_objective=None, last_epoch=2, created_at=now - 500 + i, started_at=now - 499 + i,
                ended_at=now - 100 + i if status == "Completed" else None, log_path=f"/nonexistent/{i}.log")


def _write(rows: list[dict], jobs: list[dict]) -> None:
    writer = Store.writer(paths.store_path())
    try:
        with writer.write():
            for r in rows:
                writer.insert("tuning_jobs", r)
            for j in jobs:
                writer.insert("training_jobs", j)
    finally:
        writer.close()


def _update(name: str, **fields) -> None:
    writer = Store.writer(paths.store_path())
    try:
        with writer.write():
            writer.update_training_job(name, **fields)
    finally:
        writer.close()


def test_a_poll_with_a_cursor_sees_changed_and_new_rows_as_a_full_poll_does():
    now = time.time()
    _write([_tuning_row(now)], [_job_row(i, now, "InProgress" if i >= 45 else "Completed") for i in range(48)])
    backend = LocalBackend()
    try:
        first = backend.poll(TUNING, points=False)
        assert len(first.training_jobs) == 48
        assert first.tuning_job.status_counters.in_progress == 3

        # Nothing changed: the same rows come back (the dashboard then skips them at once).
        again = backend.poll(TUNING, first.cursor, points=False)
        assert again.training_jobs is first.training_jobs

        # One job finishes with a new best, another starts.
        _update(f"{TUNING}-046", status="Completed", objective_status="Succeeded", final_objective=0.99,
                ended_at=now)
        _write([], [_job_row(48, now, "InProgress")])
        later = backend.poll(TUNING, again.cursor, points=False)
        fresh = LocalBackend().poll(TUNING, points=False)
        assert later.training_jobs == fresh.training_jobs
        assert later.tuning_job == fresh.tuning_job
        by_name = {j.name: j for j in later.training_jobs}
        assert by_name[f"{TUNING}-046"].status == "Completed"
        assert f"{TUNING}-049" in by_name and len(by_name) == 49
        assert later.tuning_job.best_training_job == f"{TUNING}-046"
        assert later.tuning_job.status_counters.in_progress == 3  # 047, 048 and the new 049
        # Rows that did not change are the very objects of the earlier poll.
        assert by_name[f"{TUNING}-001"] is first.training_jobs[0]
    finally:
        backend.close()


def test_a_store_of_the_previous_schema_is_migrated_in_place_and_keeps_its_rows(capsys):
    now = time.time()
    path = paths.store_path()
    paths.private_dir(path.parent)
    conn = sqlite3.connect(path)
    conn.executescript(_MIGRATIONS[0])
    conn.execute("PRAGMA user_version = 1")
    tuning = dict(_tuning_row(now), max_parallel_jobs=4)  # the column of schemas 1 to 4
    conn.execute(f"INSERT INTO tuning_jobs ({', '.join(tuning)}) VALUES ({', '.join('?' for _ in tuning)})",
                 tuple(tuning.values()))
    for i in range(5):
        job = _job_row(i, now)
        conn.execute(f"INSERT INTO training_jobs ({', '.join(job)}) VALUES ({', '.join('?' for _ in job)})",
                     tuple(job.values()))
    conn.commit()
    conn.close()

    # A reader of the old schema (nothing has migrated it yet) polls it in full.
    backend = LocalBackend()
    try:
        before = backend.poll(TUNING, points=False)
        assert len(before.training_jobs) == 5
        assert main(["status", TUNING]) == 0
        assert f"{TUNING}-005" in capsys.readouterr().out

        Store.writer(path).close()  # the next launch or runner opens a writer: it migrates
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        versions = [r[0] for r in conn.execute("SELECT row_version FROM training_jobs ORDER BY launch_index")]
        conn.close()
        assert len(set(versions)) == 5 and min(versions) > 0

        _update(f"{TUNING}-003", status="Failed", objective_status="Failed", failure_reason="out of memory")
        after = LocalBackend().poll(TUNING, points=False)
        assert [j.name for j in after.training_jobs] == [j.name for j in before.training_jobs]
        assert after.training_jobs[2].status == "Failed"
        assert after.training_jobs[2].failure_reason == "out of memory"
        assert after.tuning_job.max_parallel_jobs == before.tuning_job.max_parallel_jobs == 4
        assert after.tuning_job.job_slots == before.tuning_job.job_slots
        again = LocalBackend()
        first = again.poll(TUNING, points=False)
        _update(f"{TUNING}-004", final_objective=0.75)
        second = again.poll(TUNING, first.cursor, points=False)
        assert second.training_jobs[3].final_objective == 0.75
        assert second.training_jobs[:3] == first.training_jobs[:3]
        again.close()
    finally:
        backend.close()
