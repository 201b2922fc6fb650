"""What both the CLI and the TUI print or export: the export rows, their CSV/JSON encoding,
the status text of a tuning job, and the small text formatters they share.

Below `app/` and `commands/`, above the views: imports only `hpo_tui.views`.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, TextIO

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
    return " ".join((text or "").split())


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
                    + [job.hyperparameters.get(p, "") for p in params]
                    + [fmt_value(job.final_objective), one_line(job.failure_reason)[:80]])
    out.append(text_table(["JOB", "STATUS", "OBJECTIVE"] + params + [t.objective_name, "FAILURE"], rows))
    return "\n".join(out)


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


def export_columns(snap: Snapshot) -> list[str]:
    params = list(snap.tuning_job.tuned_parameters)
    seen = set(params)
    for job in snap.training_jobs:
        for k in job.hyperparameters:
            if k not in seen:
                params.append(k)
                seen.add(k)
    return ["name", "status", "objective_status"] + params + ["final_objective", "started", "ended", "failure_reason"]


def iter_export_rows(snap: Snapshot, columns: list[str]) -> Iterator[dict[str, Any]]:
    """One row per training job, built as it is written (never all at once)."""
    params = columns[3:-4]
    for job in snap.training_jobs:
        row: dict[str, Any] = {"name": job.name, "status": job.status, "objective_status": job.objective_status}
        for p in params:
            row[p] = job.hyperparameters.get(p)
        row.update(final_objective=job.final_objective, started=utc_time(job.started_at) or None,
                   ended=utc_time(job.ended_at) or None, failure_reason=job.failure_reason)
        yield row


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
