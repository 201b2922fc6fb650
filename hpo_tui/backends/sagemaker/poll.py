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
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from hpo_tui.views import (
    MetricPoint,
    ObjectiveCounters,
    ParameterRangeView,
    Snapshot,
    TERMINAL_STATUSES,
    StatusCounters,
    TrainingJobView,
    TuningJobView,
    clip_reason,
)
from hpo_tui.backends.base import BackendError, TuningJobNotFound
from hpo_tui.backends.sagemaker.errors import AwsCall
from hpo_tui.backends.sagemaker.logs import (
    JobLog,
    JobProgress,
    LoadedLog,
    PollCursor,
    adopt_loaded,
    metric_definitions_of,
    read_log_points,
)

LIST_PAGE_SIZE = 100  # the API's maximum: one page per 100 training jobs
# DescribeTrainingJob calls per poll for jobs that ended (spot BillableTimeInSeconds, a
# built-in algorithm's final metrics), asked before the running jobs' SecondaryStatus: a
# 510-job spot backlog is billed in full after 21 polls, whatever the parallelism.
ENDED_DESCRIBES_PER_POLL = 25
# Hyperparameters the SDK and SageMaker add; not the user's tuned ones.
_INTERNAL_HP = re.compile(r"^(_|sagemaker_)")


@dataclass
class Definition:
    """One training job definition of a tuning job (SageMaker allows up to 10): its metric
    regexes, objective, tuned ranges, instances and spot setting."""

    name: str | None
    metrics: list[tuple[str, str]]
    objective_name: str
    objective_type: str
    ranges: tuple[str, ...]
    instance_count: int = 1
    spot: bool = False
    instance_type: str = ""


def definitions_of(desc: dict[str, Any]) -> list[Definition]:
    """TrainingJobDefinition, or each of TrainingJobDefinitions with its own objective and ranges."""
    config = desc.get("HyperParameterTuningJobConfig", {})
    top = config.get("HyperParameterTuningJobObjective") or {}
    single = desc.get("TrainingJobDefinition")
    raw = [single] if single else list(desc.get("TrainingJobDefinitions") or [])
    out: list[Definition] = []
    for d in raw:
        objective = d.get("TuningObjective") or top
        ranges = d.get("HyperParameterRanges") or config.get("ParameterRanges") or {}
        resources = d.get("HyperParameterTuningResourceConfig") or d.get("ResourceConfig") or {}
        count = resources.get("InstanceCount") or sum(
            c.get("InstanceCount", 0) for c in resources.get("InstanceConfigs", []) or []) or 1
        out.append(Definition(
            d.get("DefinitionName"), metric_definitions_of(d), objective.get("MetricName", ""),
            objective.get("Type", "Maximize"), parameter_names({"ParameterRanges": ranges}), int(count),
            bool(d.get("EnableManagedSpotTraining")), str(resources.get("InstanceType") or ""),
        ))
    if not out:
        out.append(Definition(None, [], top.get("MetricName", ""), top.get("Type", "Maximize"),
                              parameter_names(config)))
    return out


def _definition_for(summary: dict[str, Any], definitions: list[Definition]) -> Definition:
    wanted = summary.get("TrainingJobDefinitionName")
    return next((d for d in definitions if wanted and d.name == wanted), definitions[0])


def _ms(value: Any) -> int | None:
    ts = _ts(value)
    return int(ts * 1000) if ts is not None else None


def fetch_snapshot(
    call: AwsCall, region: str, name: str, cursor: PollCursor | None, order: tuple[str, ...] | None = None,
    price_per_hour: Any = None, *, with_points: bool = True, loaded: dict[str, LoadedLog] | None = None,
    job_logs: dict[str, JobLog] | None = None,
) -> Snapshot:
    """One refresh: 1 describe + ceil(N/100) list pages + new log events (usually 1 page)
    + at most ENDED_DESCRIBES_PER_POLL DescribeTrainingJob of ended jobs (spot billing,
    built-in algorithms' final metrics) + at most MaxParallelTrainingJobs of running ones
    (SecondaryStatus).

    with_points=False reads no log: every job not read yet joins cursor.lazy, and its row shows
    what the list pages tell (status, final objective). Later polls read the logs of jobs
    that start after it, and of lazy jobs once curves() has read them (`loaded`), so a first
    poll of a 10,000-job tuning job costs its list pages, not its million log lines.
    `job_logs`, when given, receives what reading each job's log needs (for curves()).

    `order` is the tuned hyperparameters' order when known (the spec's); else the request's.
    The cursor passed in is not changed: the new one is in the Snapshot.
    """
    fetched_at = time.time()
    try:
        desc = call("sagemaker", "describe_hyper_parameter_tuning_job", HyperParameterTuningJobName=name)
    except TuningJobNotFound:
        raise TuningJobNotFound(
            f"No SageMaker tuning job named {name!r} in region {region}: check the name "
            "(`hpo-tui jobs --backend sagemaker`) and --region."
        ) from None
    summaries = list_training_jobs(call, name)
    definitions = definitions_of(desc)

    new_cursor = copy.deepcopy(cursor) if cursor is not None else PollCursor()
    new_cursor.polls += 1
    points: list[MetricPoint] = []
    warning: str | None = None
    if summaries:
        jobs_log = {}
        for s in summaries:
            d = _definition_for(s, definitions)
            terminal = s.get("TrainingJobStatus") in TERMINAL_STATUSES
            ended = None
            if terminal:  # a job that failed before training has no TrainingEndTime: when first seen
                ended = _ms(s.get("TrainingEndTime")) or new_cursor.ended_seen.setdefault(
                    s["TrainingJobName"], int(fetched_at * 1000))
            jobs_log[s["TrainingJobName"]] = JobLog(
                d.metrics, d.objective_name, d.objective_type,
                _ms(s.get("CreationTime")) or _ms(desc.get("CreationTime")) or 0, ended,
            )
        now_ms = int(fetched_at * 1000)
        if not with_points:
            new_cursor.lazy.update(job for job in jobs_log
                                   if job not in new_cursor.progress and job not in new_cursor.settled)
        if loaded and new_cursor.lazy:
            adopt_loaded(new_cursor, loaded, jobs_log, now_ms)  # go on from where curves() stopped
        if with_points:
            # A job still running when a rows-only poll saw it, and whose curve was not read,
            # is read from its creation now: its epochs are what progress and the ETA go by.
            # Only the jobs that had ended stay for curves() to read.
            new_cursor.lazy -= {s["TrainingJobName"] for s in summaries
                                if s.get("TrainingJobStatus") not in TERMINAL_STATUSES}
        if job_logs is not None:
            job_logs.update(jobs_log)
        points = read_log_points(call, name, new_cursor, jobs_log, now_ms)
        limits = desc.get("HyperParameterTuningJobConfig", {}).get("ResourceLimits", {})
        described, warning = describe_training_jobs(
            call, new_cursor, summaries, definitions, max(1, int(limits.get("MaxParallelTrainingJobs") or 1)),
            fetched_at,
        )
        points += described

    ordered = sorted(summaries, key=lambda s: (_ts(s.get("CreationTime")) or 0.0, s["TrainingJobName"]))
    if not order:
        names: list[str] = []
        for d in definitions:
            names.extend(n for n in d.ranges if n not in names)
        order = tuple(names)
    jobs = tuple(
        training_job_view(
            s, index, new_cursor.progress.get(s["TrainingJobName"]), order,
            new_cursor.details.get(s["TrainingJobName"]), _definition_for(s, definitions), fetched_at,
        )
        for index, s in enumerate(ordered)
    )
    view = tuning_job_view(desc, order, job_count=len(summaries), definitions=definitions)
    return Snapshot(
        # A price, or a function of the definitions and jobs (one price per instance type).
        tuning_job=replace(view, region=region, price_per_hour=price_per_hour(definitions, jobs)
                           if callable(price_per_hour) else price_per_hour),
        training_jobs=jobs,
        new_points=tuple(points),
        cursor=new_cursor,
        fetched_at=fetched_at,
        warning=warning,
    )


def describe_training_jobs(
    call: AwsCall, cursor: PollCursor, summaries: list[dict[str, Any]], definitions: list[Definition],
    budget: int, now: float,
) -> tuple[list[MetricPoint], str | None]:
    """DescribeTrainingJob for ended jobs first, each asked once for what only it tells (the
    spot BillableTimeInSeconds, a built-in algorithm's FinalMetricDataList), at most
    ENDED_DESCRIBES_PER_POLL of them, oldest first; then at most `budget` in-progress jobs
    (SecondaryStatus), least recently asked first. While the bill misses ended spot jobs,
    it says so (TrainingJobView.billing_unknown)."""
    running: list[tuple[int, str]] = []
    once: list[str] = []
    for s in summaries:
        job = s["TrainingJobName"]
        detail = cursor.details.get(job, {})
        if s.get("TrainingJobStatus") not in TERMINAL_STATUSES:
            running.append((detail.get("asked", 0), job))
        elif not detail.get("final"):
            d = _definition_for(s, definitions)
            if d.spot or not d.metrics:
                once.append(job)
    chosen = once[:ENDED_DESCRIBES_PER_POLL] + [job for _, job in sorted(running)][:budget]
    points: list[MetricPoint] = []
    warning: str | None = None
    for job in chosen:
        try:
            out = call("sagemaker", "describe_training_job", TrainingJobName=job)
        except BackendError as exc:  # e.g. a policy without sagemaker:DescribeTrainingJob
            warning = f"no SecondaryStatus or spot billing: {exc}"
            break
        except Exception:  # noqa: BLE001 -- throttled or unreachable: asked again next poll
            continue
        detail = cursor.details.setdefault(job, {})
        detail["asked"] = cursor.polls
        detail["secondary"] = out.get("SecondaryStatus")
        if out.get("BillableTimeInSeconds") is not None:
            detail["billable"] = float(out["BillableTimeInSeconds"])
        if out.get("TrainingJobStatus") in TERMINAL_STATUSES:
            detail["final"] = True
            ended = _ts(out.get("TrainingEndTime")) or now
            for m in out.get("FinalMetricDataList") or []:
                value = _objective_value(m)
                if value is not None and not _has_log_definitions(job, summaries, definitions):
                    points.append(MetricPoint(job, m.get("MetricName", ""), 0, _ts(m.get("Timestamp")) or ended, value))
    return points, warning


def _has_log_definitions(job: str, summaries: list[dict[str, Any]], definitions: list[Definition]) -> bool:
    summary = next(s for s in summaries if s["TrainingJobName"] == job)
    return bool(_definition_for(summary, definitions).metrics)


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


def parameter_ranges(config: dict[str, Any]) -> tuple[ParameterRangeView, ...]:
    """ParameterRanges as views (framework strings unquoted); () when malformed."""
    ranges = config.get("ParameterRanges", {})
    out: list[ParameterRangeView] = []
    try:
        for r in ranges.get("CategoricalParameterRanges", []):
            out.append(ParameterRangeView(r["Name"], "categorical",
                                          values=tuple(plain_value(str(v)) for v in r.get("Values", []))))
        for key, kind in (("ContinuousParameterRanges", "continuous"), ("IntegerParameterRanges", "integer")):
            for r in ranges.get(key, []):
                out.append(ParameterRangeView(r["Name"], kind, float(r["MinValue"]), float(r["MaxValue"]),
                                              str(r.get("ScalingType") or "Auto")))
    except (KeyError, TypeError, ValueError):
        return ()
    return tuple(r for r in out if not _INTERNAL_HP.match(r.name))


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


def _shown(value: str) -> str:
    """A categorical value may hold terminal escapes (AWS takes any text): never shown raw."""
    from hpo_tui.sanitize import sanitize

    return sanitize(value)


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
    summary: dict[str, Any], index: int, progress: JobProgress | None, order: tuple[str, ...],
    detail: dict[str, Any] | None = None, definition: Definition | None = None, now: float | None = None,
) -> TrainingJobView:
    tuned = {k: _shown(plain_value(str(v))) for k, v in summary.get("TunedHyperParameters", {}).items()
             if not _INTERNAL_HP.match(k)}
    ordered = {k: tuned[k] for k in order if k in tuned}
    ordered.update({k: v for k, v in tuned.items() if k not in ordered})
    status = summary.get("TrainingJobStatus", "InProgress")
    final = _objective_value(summary.get("FinalHyperParameterTuningJobObjectiveMetric"))
    from_log = False
    if final is None and progress is not None:
        # Until SageMaker reports it (and for jobs it never reports it for), the last value the
        # log emitted stands in, as the local engine shows it -- marked as the log's, never
        # passed off as SageMaker's final objective.
        final = progress.last_objective
        from_log = final is not None
    best = progress.best if progress else None
    if best is None and not from_log and final is not None and definition is not None and not definition.metrics:
        best = final  # built-in algorithms: no log read, SageMaker's final value is all there is
    detail = detail or {}
    started, ended = _ts(summary.get("TrainingStartTime")), _ts(summary.get("TrainingEndTime"))
    billable = detail.get("billable")
    spot = definition is not None and definition.spot
    if billable is None and started is not None and not spot:
        # On demand, SageMaker bills from TrainingStartTime to TrainingEndTime (so far, if running).
        billable = max(0.0, (ended or now or time.time()) - started)
    # A spot job is billed BillableTimeInSeconds (its interruptions are free), which only
    # DescribeTrainingJob tells, once the job ended: until then the bill leaves the job out
    # and says so.
    billing_unknown = billable is None and spot and started is not None
    count = definition.instance_count if definition is not None else 1
    return TrainingJobView(
        name=summary["TrainingJobName"],
        status=status,
        objective_status=summary.get("ObjectiveStatus") or "Pending",
        hyperparameters=ordered,
        final_objective=final,
        best_objective=best,
        last_epoch=progress.last_epoch if progress else None,
        created_at=_ts(summary.get("CreationTime")),
        started_at=started,
        ended_at=ended,
        failure_reason=clip_reason(summary.get("FailureReason") or None),
        launch_index=index,
        objective_from_log=from_log,
        secondary_status=detail.get("secondary") if status not in TERMINAL_STATUSES else None,
        billable_seconds=billable,
        instance_hours=billable * count / 3600.0 if billable is not None else None,
        definition_name=summary.get("TrainingJobDefinitionName"),
        billing_unknown=billing_unknown,
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
    definition = desc.get("TrainingJobDefinition") or (desc.get("TrainingJobDefinitions") or [{}])[0]
    ranges = config.get("ParameterRanges") or definition.get("HyperParameterRanges") or {}
    for r in ranges.get("IntegerParameterRanges", []):
        if r.get("Name") == "num_epoch":
            return int(r["MaxValue"])
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
        maximize = definitions_of(desc)[0].objective_type == "Maximize"
        if (best >= target) if maximize else (best <= target):
            return "target objective value reached"
    patience = (criteria.get("BestObjectiveNotImproving") or {}).get("MaxNumberOfTrainingJobsNotImproving")
    not_improving = details.get("NumberOfTrainingJobsObjectiveNotImproving")
    if patience and not_improving is not None and not_improving >= patience:
        return f"{patience} jobs did not improve the best by 1%"
    if details.get("ConvergenceDetectedTime"):
        return "convergence detected"
    return None


def tuning_job_view(
    desc: dict[str, Any], order: tuple[str, ...], job_count: int = 0, definitions: list[Definition] | None = None,
) -> TuningJobView:
    config = desc.get("HyperParameterTuningJobConfig", {})
    definitions = definitions or definitions_of(desc)
    objectives = []
    for d in definitions:  # several definitions may name different objective metrics
        if d.objective_name and d.objective_name not in objectives:
            objectives.append(d.objective_name)
    limits = config.get("ResourceLimits", {})
    best = desc.get("BestTrainingJob") or {}
    overall = desc.get("OverallBestTrainingJob") or {}
    consumed = (desc.get("ConsumedResources") or {}).get("RuntimeInSeconds")
    warm = desc.get("WarmStartConfig") or {}
    return TuningJobView(
        name=desc["HyperParameterTuningJobName"],
        backend="sagemaker",
        status=desc.get("HyperParameterTuningJobStatus", "InProgress"),
        strategy=config.get("Strategy", ""),
        objective_name=" / ".join(objectives),
        objective_type=definitions[0].objective_type,
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
        parameter_ranges=tuple(sorted(parameter_ranges(config),
                                      key=lambda r: order.index(r.name) if r.name in order else len(order))),
        overall_best_training_job=overall.get("TrainingJobName"),
        overall_best_objective=_objective_value(overall.get("FinalHyperParameterTuningJobObjectiveMetric")),
        consumed_seconds=int(consumed) if consumed is not None else None,
        metric_names=tuple(dict.fromkeys(objectives + [m for d in definitions for m, _ in d.metrics])),
        warm_start_parents=tuple(p.get("HyperParameterTuningJobName", "") for p in warm.get(
            "ParentHyperParameterTuningJobs") or [] if p.get("HyperParameterTuningJobName")),
        warm_start_type=warm.get("WarmStartType"),
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
