"""One SageMaker poll with boto3: DescribeHyperParameterTuningJob, the training job list
pages, and the mapping of AWS responses onto the shared views.

Imports only `hpo_tui.views` and this package's `errors` and `logs`.
"""

from __future__ import annotations

import copy
import json
import math
import re
import time
from datetime import datetime
from typing import Any

from hpo_tui.views import (
    MetricPoint,
    ObjectiveCounters,
    Snapshot,
    StatusCounters,
    TrainingJobView,
    TuningJobView,
    clip_reason,
)
from hpo_tui.backends.base import TuningJobNotFound
from hpo_tui.backends.sagemaker.errors import AwsCall
from hpo_tui.backends.sagemaker.logs import (
    LOG_OVERLAP_MS,
    JobProgress,
    PollCursor,
    metric_definitions_of,
    read_log_points,
)

LIST_PAGE_SIZE = 100  # the API's maximum: one page per 100 training jobs
# Hyperparameters the SDK and SageMaker add; not the user's tuned ones.
_INTERNAL_HP = re.compile(r"^(_|sagemaker_)")


def fetch_snapshot(
    call: AwsCall, region: str, name: str, cursor: PollCursor | None, order: tuple[str, ...] | None = None,
    *, points: bool = True,
) -> Snapshot:
    """One refresh: 1 describe + ceil(N/100) list pages + new log events (usually 1 page).

    `order` is the tuned hyperparameters' order when known (the spec's); else the request's.
    The cursor passed in is not changed: the new one is in the Snapshot.
    """
    fetched_at = time.time()
    with_points = points  # `points` names the new points below
    try:
        desc = call("sagemaker", "describe_hyper_parameter_tuning_job", HyperParameterTuningJobName=name)
    except TuningJobNotFound:
        raise TuningJobNotFound(
            f"No SageMaker tuning job named {name!r} in region {region}: check the name "
            "(`hpo-tui jobs --backend sagemaker`) and --region."
        ) from None
    summaries = list_training_jobs(call, name)
    config = desc.get("HyperParameterTuningJobConfig", {})
    objective = config.get("HyperParameterTuningJobObjective", {})
    objective_name = objective.get("MetricName", "")
    objective_type = objective.get("Type", "Maximize")
    definitions = metric_definitions_of(desc)

    new_cursor = copy.deepcopy(cursor) if cursor is not None else PollCursor()
    points: list[MetricPoint] = []
    if summaries and not with_points:
        # Rows only (status, export, the dashboard's first poll): the final values come from
        # the list pages; the points of the jobs shown are read per job (read_job_points).
        # Later polls read the lines logged from now on (less the ingestion overlap).
        if new_cursor.log_start_ms is None:
            new_cursor.log_start_ms = int(fetched_at * 1000) - LOG_OVERLAP_MS
    elif summaries:
        if new_cursor.log_start_ms is None:
            created = desc.get("CreationTime")
            new_cursor.log_start_ms = int(created.timestamp() * 1000) if created else 0
        known = {s["TrainingJobName"] for s in summaries}
        points = read_log_points(call, name, new_cursor, definitions, known, objective_name, objective_type)

    ordered = sorted(summaries, key=lambda s: (_ts(s.get("CreationTime")) or 0.0, s["TrainingJobName"]))
    order = order or parameter_names(config)
    jobs = tuple(
        training_job_view(s, index, new_cursor.progress.get(s["TrainingJobName"]), order)
        for index, s in enumerate(ordered)
    )
    return Snapshot(
        tuning_job=tuning_job_view(desc, order, job_count=len(summaries)),
        training_jobs=jobs,
        new_points=tuple(points),
        cursor=new_cursor,
        fetched_at=fetched_at,
    )


def list_training_jobs(call: AwsCall, name: str) -> list[dict[str, Any]]:
    """Every training job of the tuning job, oldest first, one page per 100."""
    summaries: list[dict[str, Any]] = []
    params: dict[str, Any] = {
        "HyperParameterTuningJobName": name,
        "MaxResults": LIST_PAGE_SIZE,
        # Never FinalObjectiveMetricValue: that order leaves out jobs without an objective.
        "SortBy": "CreationTime",
        "SortOrder": "Ascending",
    }
    while True:
        page = call("sagemaker", "list_training_jobs_for_hyper_parameter_tuning_job", **params)
        summaries.extend(page.get("TrainingJobSummaries", []))
        token = page.get("NextToken")
        if not token:
            return summaries
        params["NextToken"] = token


def parameter_names(config: dict[str, Any]) -> tuple[str, ...]:
    ranges = config.get("ParameterRanges", {})
    names: list[str] = []
    for key in ("CategoricalParameterRanges", "ContinuousParameterRanges", "IntegerParameterRanges"):
        names.extend(r["Name"] for r in ranges.get(key, []))
    return tuple(n for n in names if not _INTERNAL_HP.match(n))


def plain_value(value: str) -> str:
    """A hyperparameter value as the user typed it: the SDK JSON-quotes framework strings."""
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        try:
            decoded = json.loads(value)
        except ValueError:
            return value
        if isinstance(decoded, str):
            return decoded
    return value


def _ts(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


def _objective_value(metric: dict[str, Any] | None) -> float | None:
    if not metric or metric.get("Value") is None:
        return None
    value = float(metric["Value"])
    return value if math.isfinite(value) else None


def training_job_view(
    summary: dict[str, Any], index: int, progress: JobProgress | None, order: tuple[str, ...]
) -> TrainingJobView:
    tuned = {k: plain_value(str(v)) for k, v in summary.get("TunedHyperParameters", {}).items() if not _INTERNAL_HP.match(k)}
    ordered = {k: tuned[k] for k in order if k in tuned}
    ordered.update({k: v for k, v in tuned.items() if k not in ordered})
    final = _objective_value(summary.get("FinalHyperParameterTuningJobObjectiveMetric"))
    if final is None and progress is not None:
        # Until SageMaker reports it (and for jobs it never reports it for), the last value
        # the log emitted, which is what the final objective will be -- as the local engine shows.
        final = progress.last_objective
    return TrainingJobView(
        name=summary["TrainingJobName"],
        status=summary.get("TrainingJobStatus", "InProgress"),
        objective_status=summary.get("ObjectiveStatus") or "Pending",
        hyperparameters=ordered,
        final_objective=final,
        best_objective=progress.best if progress else None,
        last_epoch=progress.last_epoch if progress else None,
        created_at=_ts(summary.get("CreationTime")),
        started_at=_ts(summary.get("TrainingStartTime")),
        ended_at=_ts(summary.get("TrainingEndTime")),
        failure_reason=clip_reason(summary.get("FailureReason") or None),
        launch_index=index,
    )


def _status_counters(raw: dict[str, Any] | None) -> StatusCounters:
    raw = raw or {}
    return StatusCounters(
        completed=raw.get("Completed", 0),
        in_progress=raw.get("InProgress", 0),
        retryable_error=raw.get("RetryableError", 0),
        non_retryable_error=raw.get("NonRetryableError", 0),
        stopped=raw.get("Stopped", 0),
    )


def _objective_counters(raw: dict[str, Any] | None) -> ObjectiveCounters:
    raw = raw or {}
    return ObjectiveCounters(succeeded=raw.get("Succeeded", 0), pending=raw.get("Pending", 0), failed=raw.get("Failed", 0))


def _max_epochs(desc: dict[str, Any]) -> int | None:
    config = desc.get("HyperParameterTuningJobConfig", {})
    for r in config.get("ParameterRanges", {}).get("IntegerParameterRanges", []):
        if r.get("Name") == "num_epoch":
            return int(r["MaxValue"])
    definition = desc.get("TrainingJobDefinition") or {}
    static = definition.get("StaticHyperParameters", {})
    if "num_epoch" in static:
        try:
            return int(plain_value(static["num_epoch"]))
        except ValueError:
            return None
    hb = config.get("StrategyConfig", {}).get("HyperbandStrategyConfig", {})
    return hb.get("MaxResource")


def _completion_reason(desc: dict[str, Any]) -> str | None:
    """Why SageMaker completed the tuning job early, in the local engine's words."""
    if desc.get("HyperParameterTuningJobStatus") != "Completed":
        return None
    config = desc.get("HyperParameterTuningJobConfig", {})
    criteria = config.get("TuningJobCompletionCriteria") or {}
    details = desc.get("TuningJobCompletionDetails") or {}
    target = criteria.get("TargetObjectiveMetricValue")
    best = _objective_value((desc.get("BestTrainingJob") or {}).get("FinalHyperParameterTuningJobObjectiveMetric"))
    if target is not None and best is not None:
        maximize = config.get("HyperParameterTuningJobObjective", {}).get("Type", "Maximize") == "Maximize"
        if (best >= target) if maximize else (best <= target):
            return "target objective value reached"
    patience = (criteria.get("BestObjectiveNotImproving") or {}).get("MaxNumberOfTrainingJobsNotImproving")
    not_improving = details.get("NumberOfTrainingJobsObjectiveNotImproving")
    if patience and not_improving is not None and not_improving >= patience:
        return f"{patience} jobs did not improve the best by 1%"
    if details.get("ConvergenceDetectedTime"):
        return "convergence detected"
    return None


def tuning_job_view(desc: dict[str, Any], order: tuple[str, ...], job_count: int = 0) -> TuningJobView:
    config = desc.get("HyperParameterTuningJobConfig", {})
    objective = config.get("HyperParameterTuningJobObjective", {})
    limits = config.get("ResourceLimits", {})
    best = desc.get("BestTrainingJob") or {}
    return TuningJobView(
        name=desc["HyperParameterTuningJobName"],
        backend="sagemaker",
        status=desc.get("HyperParameterTuningJobStatus", "InProgress"),
        strategy=config.get("Strategy", ""),
        objective_name=objective.get("MetricName", ""),
        objective_type=objective.get("Type", "Maximize"),
        # Grid may leave the limit out (SageMaker computes it): count the jobs, as local does.
        max_jobs=limits.get("MaxNumberOfTrainingJobs") or job_count,
        max_parallel_jobs=limits.get("MaxParallelTrainingJobs", 0),
        status_counters=_status_counters(desc.get("TrainingJobStatusCounters")),
        objective_counters=_objective_counters(desc.get("ObjectiveStatusCounters")),
        best_training_job=best.get("TrainingJobName"),
        best_objective=_objective_value(best.get("FinalHyperParameterTuningJobObjectiveMetric")),
        created_at=_ts(desc.get("CreationTime")),
        ended_at=_ts(desc.get("HyperParameterTuningEndTime")),
        failure_reason=clip_reason(desc.get("FailureReason") or None),
        completion_reason=_completion_reason(desc),
        tuned_parameters=order,
        max_epochs=_max_epochs(desc),
    )


def tuning_job_summary_view(summary: dict[str, Any]) -> TuningJobView:
    """A listing row. The listing API carries no objective; poll() fills it in."""
    limits = summary.get("ResourceLimits", {})
    return TuningJobView(
        name=summary["HyperParameterTuningJobName"],
        backend="sagemaker",
        status=summary.get("HyperParameterTuningJobStatus", "InProgress"),
        strategy=summary.get("Strategy", ""),
        objective_name="",
        objective_type="",
        max_jobs=limits.get("MaxNumberOfTrainingJobs", 0),
        max_parallel_jobs=limits.get("MaxParallelTrainingJobs", 0),
        status_counters=_status_counters(summary.get("TrainingJobStatusCounters")),
        objective_counters=_objective_counters(summary.get("ObjectiveStatusCounters")),
        created_at=_ts(summary.get("CreationTime")),
        ended_at=_ts(summary.get("HyperParameterTuningEndTime")),
    )
