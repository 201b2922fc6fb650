"""The local backend's views: a tuning job's row, its training-job rows and the spec it was
launched with, turned into the views every screen and command shows (hpo_tui.views), and
the cursor a poll hands back.

Reads nothing itself and writes nothing: it is given rows already read.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from hpo_tui.engine import executor, procinfo, slots
from hpo_tui.engine.runner_files import LIVE_STATUSES
from hpo_tui.engine.store import Store
from hpo_tui.engine.stored_spec import stored_spec
from hpo_tui.sanitize import sanitize, sanitize_optional
from hpo_tui.views import (
    ObjectiveCounters,
    ParameterRangeView,
    StatusCounters,
    TrainingJobView,
    TuningJobView,
    is_better,
)

if TYPE_CHECKING:
    from hpo_tui.spec import TuningSpec

Summary = tuple[StatusCounters, ObjectiveCounters, "str | None", "float | None", int]


def parent_jobs(store: Store, spec: TuningSpec | None) -> list[dict[str, Any]]:
    """The training jobs of a warm-started tuning job's parents (none without warm start)."""
    parents = _parents(spec)
    if not parents:
        return []
    with store.read():
        return [j for parent in parents for j in store.training_jobs(parent)]


def with_overall_best(view: TuningJobView, jobs: list[dict[str, Any]]) -> TuningJobView:
    """SageMaker's OverallBestTrainingJob: the best over the parents' jobs and this job's."""
    best_name, best_value = _best(jobs, view.objective_type)
    return dataclasses.replace(view, overall_best_training_job=best_name, overall_best_objective=best_value)


def tuning_view(row: dict[str, Any], jobs: list[dict[str, Any]] | JobRows) -> TuningJobView:
    spec = stored_spec(row.get("spec_json"))
    tuned = json.loads(row["tuned_parameters"])
    summary = jobs.summary(row["objective_type"]) if isinstance(jobs, JobRows) else _summary(jobs, row["objective_type"])
    counters, objective_counters, best_name, best_value, count = summary
    concurrency = spec.local.concurrency if spec is not None else None
    return TuningJobView(
        name=row["name"], backend="local", status=row["status"], strategy=row["strategy"],
        objective_name=row["objective_name"], objective_type=row["objective_type"],
        max_jobs=row["max_jobs"] if row["max_jobs"] is not None else count,
        max_parallel_jobs=row["max_parallel_jobs"], status_counters=counters,
        objective_counters=objective_counters, best_training_job=best_name, best_objective=best_value,
        created_at=row["created_at"], ended_at=row["ended_at"], failure_reason=sanitize_optional(row["failure_reason"]),
        completion_reason=row["completion_reason"], tuned_parameters=tuple(tuned), max_epochs=row["max_epochs"],
        job_slots=job_slots(row, concurrency), cores=executor.cores(),
        machine_slots=executor.local_concurrency(concurrency),
        slot_users=slots.usage() if row["status"] in LIVE_STATUSES else (),
        parameter_ranges=_parameter_ranges(spec, tuned), objective_bounds=_objective_bounds(spec),
        metric_names=_metric_names(spec, row["objective_name"]), **_warm_start(spec),
    )


def job_slots(row: dict[str, Any], concurrency: int | None) -> int:
    """The training jobs the tuning job runs at once, as its runner recorded it when it
    started; worked out as the runner does for a row without it (a runner not started yet,
    or one older than the store's job_slots column)."""
    stored = row.get("job_slots")
    if stored is not None:
        return int(stored)
    return executor.job_slots(row["max_parallel_jobs"], concurrency)


def _parents(spec: TuningSpec | None) -> list[str]:
    return list(spec.warm_start.parents or []) if spec is not None else []


def _metric_names(spec: TuningSpec | None, objective: str) -> tuple[str, ...]:
    """The metrics the spec defines, the objective first."""
    names = [d.name for d in spec.metric_definitions] if spec is not None else []
    names = [n for n in names if isinstance(n, str) and n]
    return tuple(dict.fromkeys([objective] + names if objective in names else names))


def _warm_start(spec: TuningSpec | None) -> dict[str, Any]:
    parents = _parents(spec)
    if not parents or spec is None:
        return {}
    return {"warm_start_parents": tuple(str(p) for p in parents),
            "warm_start_type": spec.warm_start.type or "IdenticalDataAndAlgorithm"}


def _objective_bounds(spec: TuningSpec | None) -> tuple[float | None, float | None] | None:
    """[objective] lowest and highest, when the spec gave either."""
    if spec is None:
        return None
    low, high = spec.objective.lowest, spec.objective.highest
    return (low, high) if low is not None or high is not None else None


def _parameter_ranges(spec: TuningSpec | None, order: list[str]) -> tuple[ParameterRangeView, ...]:
    """The tuned ranges of the stored spec, in `order` (the spec's)."""
    if spec is None:
        return ()
    out = []
    for name, r in spec.ranges.items():
        if r.kind == "categorical":
            out.append(ParameterRangeView(name, r.kind, values=tuple(str(v) for v in r.values)))
        else:
            out.append(ParameterRangeView(name, r.kind, float(r.min), float(r.max), str(r.scaling or "Auto")))
    rank = {name: i for i, name in enumerate(order)}
    return tuple(sorted(out, key=lambda r: rank.get(r.name, len(rank))))


def _best(jobs: list[dict[str, Any]], objective_type: str) -> tuple[str | None, float | None]:
    best_name, best_value = None, None
    for j in jobs:
        if j["objective_status"] == "Succeeded" and j["final_objective"] is not None:
            if is_better(j["final_objective"], best_value, objective_type):
                best_name, best_value = j["name"], j["final_objective"]
    return best_name, best_value


def _summary(jobs: list[dict[str, Any]], objective_type: str) -> Summary:
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
    best_name, best_value = _best(jobs, objective_type)
    return counters, objective_counters, best_name, best_value, len(jobs)


class JobRows:
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
    def merged(cls, old: JobRows | None, rows: list[dict[str, Any]]) -> JobRows:
        """old with the changed rows applied (every row when old is None)."""
        version = max([old.version if old is not None else 0] + [r.get("row_version", 0) for r in rows])
        if old is not None and not rows:
            return old  # nothing changed: the same views, so the dashboard skips them at once
        fields = dict(old._fields) if old is not None else {}
        views = list(old.views) if old is not None else []
        position = {v.name: i for i, v in enumerate(views)} if old is not None else {}
        added = False
        for r in rows:
            view = training_view(r)
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

    def summary(self, objective_type: str) -> Summary:
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
    rows: JobRows = dataclasses.field(repr=False, compare=False)


def training_view(j: dict[str, Any]) -> TrainingJobView:
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
