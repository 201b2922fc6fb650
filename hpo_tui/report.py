"""What both the CLI and the TUI print or export: the export rows, their CSV/JSON encoding,
the status text of a tuning job, and the small text formatters they share.

Below `app/` and `commands/`, above the views: imports only `hpo_tui.views` and
`hpo_tui.sanitize`. Text from outside (failure reasons, hyperparameter values from a spec,
job names) is sanitised here, so neither the CLI nor an export carries terminal escapes.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from hpo_tui.sanitize import sanitize
from hpo_tui.views import Snapshot, TuningJobView

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


def render_status(snap: Snapshot) -> str:
    t: TuningJobView = snap.tuning_job
    c = t.status_counters
    o = t.objective_counters
    out = [
        f"tuning job   {t.name}  ({t.backend})",
        f"status       {t.status}" + (f"  reason: {one_line(t.failure_reason)}" if t.failure_reason else "")
        + (f"  ({t.completion_reason})" if t.completion_reason else ""),
        f"strategy     {t.strategy}, {t.objective_type} {t.objective_name}, "
        f"max {t.max_jobs} jobs, {t.max_parallel_jobs} in parallel",
        f"jobs         {c.completed} completed, {c.in_progress} in progress, {c.stopped} stopped, "
        f"{c.non_retryable_error + c.retryable_error} failed; objective: {o.succeeded} succeeded, "
        f"{o.pending} pending, {o.failed} failed",
        _progress_line(snap),
        f"created      {utc_time(t.created_at)}" + (f"   ended {utc_time(t.ended_at)}" if t.ended_at else ""),
        f"best job     {t.best_training_job} ({t.objective_name}={fmt_value(t.best_objective)})"
        if t.best_training_job else "best job     none yet",
        "",
    ]
    params = list(t.tuned_parameters)
    for job in snap.training_jobs:
        for k in job.hyperparameters:
            if k not in params:
                params.append(k)
    rows = []
    for job in snap.training_jobs:
        mark = "*" if job.name == t.best_training_job else ""
        rows.append([mark + job.name, job.status, job.objective_status]
                    + [one_line(str(job.hyperparameters.get(p, ""))) for p in params]
                    + [fmt_value(job.final_objective), one_line(job.failure_reason)[:80]])
    out.append(text_table(["JOB", "STATUS", "OBJECTIVE"] + params + [t.objective_name, "FAILURE"], rows))
    return sanitize("\n".join(out))  # names and headers too; cells were cleaned before measuring


def fmt_duration(seconds: float) -> str:
    """12s, 3m05s, 2h07m."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _progress_line(snap: Snapshot) -> str:
    """Progress weighted by epochs, and the ETA while there is time left to wait."""
    e = snap.estimate
    if not e.epochs_total:
        return "progress     no epochs reported yet"
    line = f"progress     {e.fraction:.0%}  epochs {e.epochs_done}/{e.epochs_total}"
    if e.remaining_seconds is not None and e.remaining_seconds > 0 and not snap.tuning_job.is_terminal:
        line += f"  ETA {fmt_duration(e.remaining_seconds)}"
    return line


def export_rows(snap: Snapshot) -> tuple[list[str], list[dict[str, Any]]]:
    params = list(snap.tuning_job.tuned_parameters)
    for job in snap.training_jobs:
        for k in job.hyperparameters:
            if k not in params:
                params.append(k)
    columns = ["name", "status", "objective_status"] + [_clean(p) for p in params] + [
        "final_objective", "started", "ended", "failure_reason"]
    rows = []
    for job in snap.training_jobs:
        row: dict[str, Any] = {"name": job.name, "status": job.status, "objective_status": job.objective_status}
        for p in params:
            row[p] = job.hyperparameters.get(p)
        row.update(final_objective=job.final_objective, started=utc_time(job.started_at) or None,
                   ended=utc_time(job.ended_at) or None, failure_reason=job.failure_reason)
        rows.append({_clean(k): _clean(v) for k, v in row.items()})
    return columns, rows


def render_export(snap: Snapshot, fmt: str) -> str:
    """The export file's text: CSV (floats written exactly) or an indented JSON list."""
    columns, rows = export_rows(snap)
    if fmt == "json":
        return json.dumps(rows, indent=2) + "\n"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else (repr(v) if isinstance(v, float) else v) for k, v in row.items()})
    return out.getvalue()


def write_export(snap: Snapshot, fmt: str, path: Path) -> int:
    """Write the export file atomically; return the number of training jobs written."""
    text = render_export(snap, fmt)
    path = path.expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return len(snap.training_jobs)
