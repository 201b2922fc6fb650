"""What both the CLI and the TUI print or export: the export rows, their CSV/JSON encoding,
the status text of a tuning job, and the small text formatters they share.

Below `app/` and `commands/`, above the views: imports only `hpo_tui.views` and
`hpo_tui.sanitize`. Text from outside (failure reasons, hyperparameter values from a spec,
job names) is sanitised here, so neither the CLI nor an export carries terminal escapes.
"""

from __future__ import annotations

import time

import csv
import io
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, TextIO

from hpo_tui.estimate import ended_at_text, whole_percent
from hpo_tui.sanitize import sanitize
from hpo_tui.views import Snapshot, TrainingJobView, TuningJobView

EXPORT_FORMATS = ("csv", "json")


def utc_time(ts: float | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def fmt_value(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def text_table(headers: list[str], rows: Iterable[list[str]]) -> str:
    rows = [[str(c) for c in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines)


def one_line(text: str | None) -> str:
    """text on one line, without control sequences (it may come from a training job or AWS)."""
    return " ".join(sanitize(text or "").split())


def _clean(value: Any) -> Any:
    return sanitize(value) if isinstance(value, str) else value


def objective_text(job: TrainingJobView) -> str:
    """The final objective; a value read from the log (SageMaker has not reported one yet)
    is marked, so it is never taken for SageMaker's."""
    text = fmt_value(job.final_objective)
    return f"{text} (log)" if text and job.objective_from_log else text


def _console(region: str) -> str:
    """The AWS console's address in the region's partition (commercial, China, GovCloud)."""
    if region.startswith("cn-"):
        return "https://console.amazonaws.cn"
    if region.startswith("us-gov-"):
        return "https://console.amazonaws-us-gov.com"
    return "https://console.aws.amazon.com"


def tuning_job_links(t: TuningJobView) -> list[tuple[str, str]]:
    """(label, URL) of the tuning job in the SageMaker console; none for the local backend."""
    if t.backend != "sagemaker" or not t.region:
        return []
    return [("console", f"{_console(t.region)}/sagemaker/home?region={t.region}#/hyper-tuning-jobs/{t.name}")]


def training_job_links(t: TuningJobView, job: str) -> list[tuple[str, str]]:
    """(label, URL) of one training job: the SageMaker console and its CloudWatch log streams."""
    if t.backend != "sagemaker" or not t.region:
        return []
    base = _console(t.region)
    group = "$252Faws$252Fsagemaker$252FTrainingJobs"
    return [
        ("console", f"{base}/sagemaker/home?region={t.region}#/jobs/{job}"),
        ("logs", f"{base}/cloudwatch/home?region={t.region}#logsV2:log-groups/log-group/{group}"
                 f"$3FlogStreamNameFilter$3D{job}"),
    ]


def cost_text(snap: Snapshot) -> str | None:
    """The tuning job's bill so far: billed time, instance-hours, and dollars when a price per
    instance-hour is known ([sagemaker] price_per_hour); None when nothing is billed (local)."""
    billing = snap.billing  # added up in the poll's thread (Snapshot.prepare)
    if billing is None:
        return None
    seconds, hours, trained = billing.seconds, billing.instance_hours, billing.trained_seconds
    if billing.partial:
        # Ended spot jobs not described yet: never passed off as the whole bill.
        text = (f"billed at least {fmt_duration(seconds)} over {billing.jobs} of "
                f"{billing.jobs + billing.unknown} training jobs, {hours:.2f} instance-hours "
                f"(partial: {billing.unknown} spot jobs running or not read yet)")
    else:
        text = f"billed {fmt_duration(seconds)} over {billing.jobs} training jobs, {hours:.2f} instance-hours"
    if trained > seconds + 1:  # managed spot training bills less than it trains
        text += f" (of {fmt_duration(trained)} training: spot saved {100 * (1 - seconds / trained):.0f}%)"
    price = snap.tuning_job.price_per_hour
    if price:
        text += f", {'at least' if billing.partial else 'about'} ${hours * price:,.2f} at ${price:g}/instance-hour"
    return text


def render_status(snap: Snapshot, *, links: bool = False) -> str:
    t: TuningJobView = snap.tuning_job
    c = t.status_counters
    o = t.objective_counters
    out = [
        f"tuning job   {t.name}  ({t.backend})",
        f"status       {t.status}" + (f"  reason: {one_line(t.failure_reason)}" if t.failure_reason else "")
        + (f"  ({t.completion_reason})" if t.completion_reason else ""),
        f"strategy     {t.strategy}, {t.objective_type} {t.objective_name}, "
        f"max {t.max_jobs} jobs, {t.max_parallel_jobs or '?'} in parallel"
        + (f" ({t.job_slots} at once on {t.cores} core{'s' if t.cores != 1 else ''})"
           if t.job_slots is not None and t.job_slots < t.max_parallel_jobs else ""),
        *([f"slots        {t.slots_text()} (this machine's, shared by its local tuning jobs)"]
          if t.slots_text() else []),
        f"jobs         {c.completed} completed, {c.in_progress} in progress, {c.stopped} stopped, "
        f"{c.non_retryable_error + c.retryable_error} failed; objective: {o.succeeded} succeeded, "
        f"{o.pending} pending, {o.failed} failed",
        _progress_line(snap),
        f"created      {utc_time(t.created_at)}" + (f"   ended {utc_time(t.ended_at)}" if t.ended_at else ""),
        f"best job     {t.best_training_job} ({t.objective_name}={fmt_value(t.best_objective)})"
        if t.best_training_job else "best job     none yet",
    ]
    if t.overall_best_training_job and t.overall_best_training_job != t.best_training_job:
        out.append(f"overall best {t.overall_best_training_job} ({t.objective_name}="
                   f"{fmt_value(t.overall_best_objective)}), warm start parents included")
    cost = cost_text(snap)
    if cost or t.consumed_seconds is not None:
        consumed = f"; SageMaker counts {fmt_duration(t.consumed_seconds)} of runtime" if t.consumed_seconds else ""
        out.append(f"cost         {cost or 'nothing billed yet'}{consumed}")
    for label, url in tuning_job_links(t):
        out.append(f"{label:<13}{url}")
    out.append("")
    params = list(t.tuned_parameters)
    for job in snap.training_jobs:
        for k in job.hyperparameters:
            if k not in params:
                params.append(k)
    billed = any(j.billable_seconds is not None for j in snap.training_jobs)
    rows = []
    for job in snap.training_jobs:
        mark = "*" if job.name == t.best_training_job else ""
        status = f"{job.status} ({job.secondary_status})" if job.secondary_status else job.status
        stall = job.stall_text(snap.fetched_at or time.time())
        if stall:
            status += f" ({stall})"
        cost = ([fmt_duration(job.billable_seconds) if job.billable_seconds is not None else "",
                 f"{job.instance_hours:.3f}" if job.instance_hours is not None else ""] if billed else [])
        rows.append([mark + job.name, status, job.objective_status]
                    + [one_line(str(job.hyperparameters.get(p, ""))) for p in params]
                    + [objective_text(job)] + cost + [one_line(job.failure_reason)[:80]])
    headers = ["JOB", "STATUS", "OBJECTIVE"] + params + [t.objective_name] + (["BILLED", "INST-H"] if billed else [])
    out.append(text_table(headers + ["FAILURE"], rows))
    if links:
        for job in snap.training_jobs:
            for label, url in training_job_links(t, job.name):
                out.append(f"{job.name}  {label}: {url}")
    return sanitize("\n".join(out))  # names and headers too; cells were cleaned before measuring


def fmt_duration(seconds: float) -> str:
    """12s, 3m05s, 2h07m, 3d04h."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def progress_text(snap: Snapshot) -> str:
    """Progress by the budget: "68%  510/750 jobs ended", or where a Stopped or Failed tuning
    job ended ("stopped at 7/9"). Floored: 100% only once the tuning job is done."""
    t, e = snap.tuning_job, snap.estimate
    return (ended_at_text(t.status, e.ended, t.max_jobs)
            or f"{whole_percent(e.fraction)}%  {e.ended}/{t.max_jobs} jobs ended")


def _progress_line(snap: Snapshot) -> str:
    """Progress by the budget, the epochs reported, and the ETA while there is time left."""
    e = snap.estimate
    line = f"progress     {progress_text(snap)}"
    if e.epochs_total:
        line += f"  epochs {e.epochs_done}/{e.epochs_total}"
    if e.remaining_seconds is not None and e.remaining_seconds > 0 and not snap.tuning_job.is_terminal:
        line += f"  ETA {fmt_duration(e.remaining_seconds)}"
    return line


def _export_params(snap: Snapshot) -> list[str]:
    """The hyperparameter columns: the tuned ones in spec order, then any others jobs carry."""
    params = list(snap.tuning_job.tuned_parameters)
    seen = set(params)
    for job in snap.training_jobs:
        for k in job.hyperparameters:
            if k not in seen:
                params.append(k)
                seen.add(k)
    return params


def _billed(snap: Snapshot) -> bool:
    return any(j.billable_seconds is not None for j in snap.training_jobs)  # SageMaker's bill


def export_columns(snap: Snapshot) -> list[str]:
    return (["name", "status", "objective_status"] + [_clean(p) for p in _export_params(snap)]
            + ["final_objective", "best_objective", "is_best", "epochs", "started", "ended", "duration_seconds"]
            + (["billable_seconds", "instance_hours"] if _billed(snap) else []) + ["failure_reason"])


def iter_export_rows(snap: Snapshot, columns: list[str]) -> Iterator[dict[str, Any]]:
    """One row per training job, built as it is written (never all at once)."""
    params = _export_params(snap)
    billed = _billed(snap)
    best = snap.tuning_job.best_training_job
    for job in snap.training_jobs:
        row: dict[str, Any] = {"name": job.name, "status": job.status, "objective_status": job.objective_status}
        for p in params:
            row[p] = job.hyperparameters.get(p)
        duration = (job.ended_at - job.started_at) if job.started_at and job.ended_at else None
        row.update(final_objective=job.final_objective,
                   best_objective=job.best_objective,  # the best of its epochs
                   is_best=job.name == best,
                   epochs=None if job.last_epoch is None else job.last_epoch + 1,
                   started=utc_time(job.started_at) or None, ended=utc_time(job.ended_at) or None,
                   duration_seconds=None if duration is None else round(duration, 3))
        if billed:
            row.update(billable_seconds=job.billable_seconds, instance_hours=job.instance_hours)
        row["failure_reason"] = job.failure_reason
        yield {_clean(k): _clean(v) for k, v in row.items()}


def export_rows(snap: Snapshot) -> tuple[list[str], list[dict[str, Any]]]:
    columns = export_columns(snap)
    return columns, list(iter_export_rows(snap, columns))


def iter_export(snap: Snapshot, fmt: str) -> Iterator[str]:
    """The export file's text in pieces, a row at a time: CSV (floats written exactly) or an
    indented JSON list (the same text json.dumps(rows, indent=2) gives)."""
    columns = export_columns(snap)
    rows = iter_export_rows(snap, columns)
    if fmt == "json":
        first = True
        for row in rows:
            # json.dumps escapes newlines inside strings: every newline here is structure.
            yield ("[\n  " if first else ",\n  ") + json.dumps(row, indent=2).replace("\n", "\n  ")
            first = False
        yield "[]\n" if first else "\n]\n"
        return
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else (repr(v) if isinstance(v, float) else v) for k, v in row.items()})
        if out.tell() > 64 * 1024:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def render_export(snap: Snapshot, fmt: str) -> str:
    """The export file's text: CSV (floats written exactly) or an indented JSON list."""
    return "".join(iter_export(snap, fmt))


def stream_export(snap: Snapshot, fmt: str, out: TextIO) -> int:
    """Write the export to an open text stream as it is built; return the training jobs written."""
    for piece in iter_export(snap, fmt):
        out.write(piece)
    return len(snap.training_jobs)


def write_export(snap: Snapshot, fmt: str, path: Path, *, make_parents: bool = True) -> int:
    """Write the export file atomically (streamed into a temporary file beside it, then
    renamed); return the number of training jobs written. make_parents: create missing
    folders (the TUI's dialog does; the CLI's --output names an existing one)."""
    path = path.expanduser()
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            count = stream_export(snap, fmt, f)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return count
