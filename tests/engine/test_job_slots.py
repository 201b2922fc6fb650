"""How many training jobs a local tuning job runs at once (job_slots) is worked out once, by
its runner as it starts, and stored; polls read it. A row without it (a runner not started
yet, or a store written before the column existed) is worked out from the stored spec, as
the runner does."""

from __future__ import annotations

import json
import sqlite3
import time

from hpo_tui import paths
from hpo_tui.backends.local import LocalBackend
from hpo_tui.engine.store import _MIGRATIONS, Store
from hpo_tui.engine.stored_spec import spec_to_json
from hpo_tui.spec import LocalSettings, TuningSpec

from .conftest import wait_for

NAME = "slots-job"


def _row(spec: TuningSpec, **extra: object) -> dict:
    now = time.time()
    return dict(name=NAME, spec_json=spec_to_json(spec), status="Completed", strategy=spec.strategy,
                objective_name=spec.objective.name, objective_type=spec.objective.type, max_jobs=9,
                max_parallel_jobs=spec.max_parallel_jobs, tuned_parameters=json.dumps(list(spec.ranges)),
                created_at=now - 60, ended_at=now - 1, folder=str(paths.jobs_dir() / NAME), **extra)


def _spec(parallel: int, concurrency: int) -> TuningSpec:
    return TuningSpec(max_parallel_jobs=parallel, local=LocalSettings(concurrency=concurrency))


def test_a_poll_reports_the_job_slots_its_runner_recorded() -> None:
    writer = Store.writer(paths.store_path())
    try:
        with writer.write():
            # The spec alone would give min(4, 3) = 3; the runner recorded 2.
            writer.insert("tuning_jobs", _row(_spec(4, 3), job_slots=2))
    finally:
        writer.close()
    backend = LocalBackend()
    try:
        assert backend.poll(NAME, points=False).tuning_job.job_slots == 2
        assert [v.job_slots for v in backend.list_tuning_jobs()] == [2]
    finally:
        backend.close()


def test_a_store_written_before_job_slots_was_stored_still_reads_it() -> None:
    path = paths.store_path()
    paths.private_dir(path.parent)
    conn = sqlite3.connect(path)
    for step in _MIGRATIONS[:3]:  # schema 3: no job_slots column
        for statement in step.split(";") if isinstance(step, str) else step:
            if statement.strip():
                conn.execute(statement)
    conn.execute("PRAGMA user_version = 3")
    row = _row(_spec(4, 3))
    conn.execute(f"INSERT INTO tuning_jobs ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
                 tuple(row.values()))
    conn.commit()
    conn.close()
    backend = LocalBackend()
    try:
        assert backend.poll(NAME, points=False).tuning_job.job_slots == 3
        assert [v.job_slots for v in backend.list_tuning_jobs()] == [3]
    finally:
        backend.close()


def test_the_runner_records_its_job_slots_as_it_starts(backend, fake_spec) -> None:
    name = backend.launch(fake_spec(static={"num_epoch": 1}, max_jobs=2, max_parallel_jobs=2,
                                    local=LocalSettings(concurrency=1)))
    snap = wait_for(backend, name)
    assert snap.tuning_job.status == "Completed"
    reader = Store.reader(paths.store_path())
    assert reader is not None
    try:
        assert reader.tuning_job(name)["job_slots"] == 1
    finally:
        reader.close()
    assert snap.tuning_job.job_slots == 1
