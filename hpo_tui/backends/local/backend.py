"""LocalBackend: the local engine behind the Backend protocol. Each of its jobs is in a
module of this package: the store reader (reader), launch and resume (launch), runner
control (control: stop, a dead runner's repair), the log tail (logs) and the views (views).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpo_tui.backends.base import BackendError
from hpo_tui.backends.local.launch import launch as launch_tuning_job
from hpo_tui.backends.local.launch import resume as resume_tuning_job
from hpo_tui.backends.local.control import RunnerControl, runner_dead, runner_silence, silence_warning
from hpo_tui.backends.local.locks import control_lock
from hpo_tui.backends.local.logs import log_tail
from hpo_tui.backends.local.reader import StoreReader, busy_is_an_error, not_found
from hpo_tui.backends.local.stall_warnings import joined, stall_warning, stalled_count
from hpo_tui.backends.local.views import JobRows, LocalCursor, parent_jobs, tuning_view, with_overall_best
from hpo_tui.engine.store import Store
from hpo_tui.engine.stored_spec import spec_as_written, stored_spec
from hpo_tui.views import LogChunk, MetricPoint, Snapshot, TuningJobView

if TYPE_CHECKING:
    from hpo_tui.spec import TuningSpec


class LocalBackend:
    """Tuning jobs run by the local engine on this machine."""

    name = "local"
    default_interval = 1.0
    points_on_demand = True  # poll(points=False) and curves(): see hpo_tui.backends.base

    def __init__(self, *, read_busy_timeout: float | None = None) -> None:
        """read_busy_timeout: how long a read waits on a locked store before it fails (the
        store's default when None). The TUI passes a short one: it shows the last data,
        marked stale, rather than wait."""
        self._reader = StoreReader(read_busy_timeout)
        self._control = RunnerControl(self._reader)

    def close(self) -> None:
        """Close the reader without waiting on a read in progress (quitting must not hang)."""
        self._reader.close()

    # -- what tests and benches reach for --------------------------------------------------------

    def _reap_children(self) -> None:
        # Runners started from this process: reap the ones that ended (no zombies).
        self._control.reap()

    def _row(self, name: str) -> dict[str, Any]:
        return self._reader.tuning_row(name)

    def _training_row(self, job: str) -> dict[str, Any] | None:
        return self._reader.training_row(job)

    def _repair_if_dead(self, row: dict[str, Any]) -> bool:
        """True when the row's runner was dead (its rows are then repaired: read them again)."""
        if not runner_dead(row):
            return False
        self._control.handle_dead_runner(row)
        return True

    # -- launch, resume, stop ---------------------------------------------------------------------

    def launch(self, spec: TuningSpec, base_dir: Path | None = None) -> str:
        """Validate, record and start a tuning job; return its name at once.

        base_dir: the spec file's folder; relative paths in the spec are resolved from it.
        """
        return launch_tuning_job(self._control, spec, base_dir)

    def resume(self, name: str) -> None:
        """Start a new runner for a tuning job whose runner is gone; finished jobs are kept.
        A Completed or Stopped tuning job stays so (SageMaker restarts neither): refused."""
        resume_tuning_job(self._control, name)

    def stop(self, name: str) -> bool | None:
        self._control.reap()
        row = self._row(name)
        with control_lock(name, Path(row["folder"])):
            return self._control.stop(name)

    def runner_silence(self, row: dict[str, Any]) -> float | None:
        """Seconds since a live runner's last heartbeat, when that is too long; else None."""
        return runner_silence(row)

    # -- reading ----------------------------------------------------------------------------------

    @busy_is_an_error
    def list_tuning_jobs(self) -> list[TuningJobView]:
        self._control.reap()

        def read(store: Store | None) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
            if store is None:
                return [], {}
            with store.read():
                rows = store.tuning_jobs()
                return rows, {r["name"]: store.training_jobs(r["name"]) for r in rows}

        for attempt in range(2):
            rows, jobs = self._reader.query(read)
            if not rows:
                return []
            dead = [row for row in rows if runner_dead(row)]
            if not dead or attempt:
                break
            for row in dead:
                self._control.handle_dead_runner(row)
        return [dataclasses.replace(tuning_view(row, jobs[row["name"]]),
                                    warning=joined(silence_warning(row), stalled_count(jobs[row["name"]])))
                for row in rows]

    @busy_is_an_error
    def poll(self, name: str, cursor: Any = None, *, points: bool = True) -> Snapshot:
        """The tuning job, its training jobs and the metric points after cursor.

        With a cursor from an earlier poll, only the training-job rows changed since then
        are read (the rest come from the cursor). points=False reads no metric point: the
        cursor then starts after the newest one (status and export print none; the
        dashboard loads the curves it shows with curves()).
        """
        self._control.reap()
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
            found = self._reader.query_found(read, lambda got: got[0] is not None)
            row, jobs, new_points, last_point, incremental = found
            if row is None:
                raise not_found(name)
            if not self._repair_if_dead(row):
                break
        rows = JobRows.merged(previous.rows if incremental and previous is not None else None, jobs)
        view = tuning_view(row, rows)
        spec = stored_spec(row.get("spec_json"))
        parents = self._reader.query(lambda store: parent_jobs(store, spec) if store is not None else [])
        if parents:
            view = with_overall_best(view, parents + rows.rows())
        return Snapshot(
            tuning_job=view,
            training_jobs=rows.views,
            new_points=tuple(
                MetricPoint(p["job"], p["metric"], p["epoch"], p["timestamp"], p["value"]) for p in new_points
            ),
            cursor=LocalCursor(name, last_point, rows.version, rows),
            fetched_at=time.time(),
            warning=joined(silence_warning(row), stall_warning(rows.views)),
        )

    @busy_is_an_error
    def curves(self, name: str, jobs: list[str], metric: str | None = None) -> tuple[MetricPoint, ...]:
        """Every metric point (of one metric, when given) of some training jobs of a tuning
        job: what the dashboard loads for the rows and charts it shows."""
        def read(store: Store | None) -> list[dict[str, Any]]:
            if store is None or not jobs:
                return []
            return [p for p in store.points_of_jobs(list(jobs), metric) if p["tuning_job"] == name]

        return tuple(MetricPoint(p["job"], p["metric"], p["epoch"], p["timestamp"], p["value"])
                     for p in self._reader.query(read))

    @busy_is_an_error
    def log_tail(self, job: str, cursor: Any = None) -> LogChunk:
        row = self._training_row(job)
        if row is None:
            raise BackendError(
                f"no local training job named {job!r}; `hpo-tui status TUNING_JOB` lists its training jobs"
            )
        return log_tail(job, row["log_path"], cursor)

    def training_job_status(self, job: str) -> str | None:
        """Status of one training job (None when unknown); lets `logs --follow` know when to stop."""
        row = self._training_row(job)
        if row is None:
            return None
        if self._repair_if_dead(self._row(row["tuning_job"])):
            row = self._training_row(job)
        return row["status"] if row is not None else None

    @busy_is_an_error
    def tuning_spec(self, name: str) -> TuningSpec:
        """The spec a tuning job was launched with (to launch a new one from it)."""
        return spec_as_written(self._row(name)["spec_json"])
