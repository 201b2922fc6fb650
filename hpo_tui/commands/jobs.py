"""Headless tuning-job commands: launch, jobs, status, stop, resume, logs, export."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from hpo_tui.backends.base import Backend, Snapshot, TuningJobNotFound, TuningJobView
from hpo_tui.errors import UserError


def _backend(args: argparse.Namespace, spec: Any = None) -> Backend:
    from hpo_tui.backends import make_backend

    name = getattr(args, "backend", None) or (spec.backend if spec is not None else None) or "local"
    region = getattr(args, "region", None) or (spec.sagemaker.region if spec is not None else None)
    profile = getattr(args, "profile", None) or (spec.sagemaker.profile if spec is not None else None)
    return make_backend(name, region=region, profile=profile)


def _time(ts: float | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"


def _table(headers: list[str], rows: Iterable[list[str]]) -> str:
    rows = [[str(c) for c in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines)


def _oneline(text: str | None) -> str:
    return " ".join((text or "").split())


# -- launch ---------------------------------------------------------------------------------------


def cmd_launch(args: argparse.Namespace) -> int:
    from hpo_tui.spec import load_spec

    from hpo_tui.spec import validate

    spec_path = Path(args.spec_path)
    # Checked after its relative paths are resolved from the spec file's folder, not the cwd.
    spec = load_spec(spec_path, check=False)
    if getattr(args, "backend", None):
        spec.backend = args.backend  # checked for the backend it will run on
    _absolutize_local_paths(spec, spec_path.resolve().parent)
    issues = validate(spec, base_dir=spec_path.resolve().parent)
    if issues:
        from hpo_tui.spec import SpecError

        raise SpecError(issues)
    backend = _backend(args, spec)
    name = backend.launch(spec)
    print(f"launched tuning job {name} on the {backend.name} backend")
    if not args.wait:
        print(f"watch it with: hpo-tui status {name}   (or hpo-tui attach {name})")
        return 0
    try:
        status = wait_and_report(backend, name, sys.stdout)
    except KeyboardInterrupt:
        print(f"\nstopped waiting; the tuning job goes on. hpo-tui status {name} shows it, "
              f"hpo-tui stop {name} stops it")
        return 130
    return 0 if status == "Completed" else 1


def _absolutize_local_paths(spec: Any, base_dir: Path) -> None:
    """Relative paths in a spec file mean relative to the file, wherever hpo-tui runs."""
    src = Path(spec.estimator.source_dir).expanduser()
    if not src.is_absolute() and (base_dir / src).is_dir():
        spec.estimator.source_dir = str(base_dir / src)
    for field_name in ("train", "test"):
        value = getattr(spec.channels, field_name)
        if isinstance(value, str) and value and "://" not in value:
            path = Path(value).expanduser()
            if not path.is_absolute() and (base_dir / path).exists():
                setattr(spec.channels, field_name, str(base_dir / path))


def wait_and_report(backend: Backend, name: str, out: Any) -> str:
    """Print one line per training-job event until the tuning job ends; then a summary."""
    seen: dict[str, str] = {}
    cursor = None
    interval = backend.default_interval
    last_warning: str | None = None
    while True:
        snap = backend.poll(name, cursor)
        cursor = snap.cursor
        if snap.warning and snap.warning != last_warning:
            # Throttling or a passing backend error: the data shown may be stale, say so once.
            print(f"warning: {snap.warning}", file=sys.stderr, flush=True)
        last_warning = snap.warning
        for job in snap.training_jobs:
            before = seen.get(job.name)
            if before == job.status:
                continue
            seen[job.name] = job.status
            if before is None:  # a short job may already have ended when first seen
                hps = " ".join(f"{k}={v}" for k, v in job.hyperparameters.items())
                print(f"{_time(job.started_at)} started  {job.name}  {hps}", file=out, flush=True)
            if job.is_terminal:
                line = f"{_time(job.ended_at)} finished {job.name}  {job.status}/{job.objective_status}"
                if job.final_objective is not None:
                    line += f"  {snap.tuning_job.objective_name}={_num(job.final_objective)}"
                if job.failure_reason:
                    line += f"  reason: {_oneline(job.failure_reason)[:200]}"
                print(line, file=out, flush=True)
        if snap.tuning_job.is_terminal:
            print(file=out)
            print(render_status(snap), file=out, flush=True)
            return snap.tuning_job.status
        time.sleep(snap.suggested_interval or interval)


# -- jobs / status ----------------------------------------------------------------------------------


def cmd_jobs(args: argparse.Namespace) -> int:
    if getattr(args, "tui", False):
        from hpo_tui.commands.tui import cmd_jobs_tui

        return cmd_jobs_tui(args)
    backend = _backend(args)
    jobs = backend.list_tuning_jobs()
    if not jobs:
        print(f"no tuning jobs on the {backend.name} backend yet; start one with: hpo-tui launch SPEC.toml")
        return 0
    rows = [
        [j.name, j.status, j.strategy, f"{j.status_counters.finished}/{j.max_jobs}",
         j.best_training_job or "", _num(j.best_objective), _time(j.created_at)]
        for j in jobs
    ]
    print(_table(["NAME", "STATUS", "STRATEGY", "DONE", "BEST JOB", "BEST", "CREATED"], rows))
    return 0


def render_status(snap: Snapshot) -> str:
    t: TuningJobView = snap.tuning_job
    c = t.status_counters
    o = t.objective_counters
    out = [
        f"tuning job   {t.name}  ({t.backend})",
        f"status       {t.status}" + (f"  reason: {_oneline(t.failure_reason)}" if t.failure_reason else "")
        + (f"  ({t.completion_reason})" if t.completion_reason else ""),
        f"strategy     {t.strategy}, {t.objective_type} {t.objective_name}, "
        f"max {t.max_jobs} jobs, {t.max_parallel_jobs} in parallel",
        f"jobs         {c.completed} completed, {c.in_progress} in progress, {c.stopped} stopped, "
        f"{c.non_retryable_error + c.retryable_error} failed; objective: {o.succeeded} succeeded, "
        f"{o.pending} pending, {o.failed} failed",
        f"created      {_time(t.created_at)}" + (f"   ended {_time(t.ended_at)}" if t.ended_at else ""),
        f"best job     {t.best_training_job} ({t.objective_name}={_num(t.best_objective)})"
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
                    + [_num(job.final_objective), _oneline(job.failure_reason)[:80]])
    out.append(_table(["JOB", "STATUS", "OBJECTIVE"] + params + [t.objective_name, "FAILURE"], rows))
    return "\n".join(out)


def cmd_status(args: argparse.Namespace) -> int:
    backend = _backend(args)
    snap = backend.poll(args.name)
    print(render_status(snap))
    if snap.warning:
        print(f"warning: {snap.warning}")
    return 0


# -- stop / resume ---------------------------------------------------------------------------------


def cmd_stop(args: argparse.Namespace) -> int:
    backend = _backend(args)
    before = backend.poll(args.name).tuning_job.status
    backend.stop(args.name)
    snap = backend.poll(args.name)
    after = snap.tuning_job.status
    if before in ("Completed", "Failed", "Stopped"):
        print(f"tuning job {args.name} had already ended ({before}); nothing to stop")
    elif snap.warning and after == "InProgress":
        # The stop is recorded, but the runner that must act on it is not running.
        print(f"tuning job {args.name}: {after}, stop requested; {snap.warning}")
        return 1
    else:
        print(f"tuning job {args.name}: {after}")
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    from hpo_tui.backends.local import LocalBackend

    backend = LocalBackend()
    backend.resume(args.name)
    snap = backend.poll(args.name)
    done = sum(1 for j in snap.training_jobs if j.is_terminal and j.failure_reason != "runner exited unexpectedly")
    print(f"resumed tuning job {args.name}: {done} finished training jobs kept, "
          f"continuing to {snap.tuning_job.max_jobs}")
    return 0


# -- logs --------------------------------------------------------------------------------------------


def _job_status(backend: Backend, job: str) -> str | None:
    status_of = getattr(backend, "training_job_status", None)
    if status_of is not None:
        return status_of(job)
    # SageMaker names: <tuning job>-NNN-<hash>; try the prefixes from the longest.
    parts = job.split("-")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            snap = backend.poll("-".join(parts[:cut]))
        except TuningJobNotFound:
            continue
        for j in snap.training_jobs:
            if j.name == job:
                return j.status
    return None


def cmd_logs(args: argparse.Namespace) -> int:
    backend = _backend(args)
    cursor = None
    while True:
        # Read the status before the log, so the last lines of an ending job are not missed.
        status = _job_status(backend, args.job) if args.follow else None
        chunk = backend.log_tail(args.job, cursor)
        cursor = chunk.cursor
        for line in chunk.lines:
            print(line)
        sys.stdout.flush()
        if chunk.lines:
            continue  # more may be there already: one read returns at most a few MB
        if not args.follow or status in ("Completed", "Failed", "Stopped") or status is None:
            return 0
        time.sleep(backend.default_interval)


# -- export ------------------------------------------------------------------------------------------


def export_rows(snap: Snapshot) -> tuple[list[str], list[dict[str, Any]]]:
    params = list(snap.tuning_job.tuned_parameters)
    for job in snap.training_jobs:
        for k in job.hyperparameters:
            if k not in params:
                params.append(k)
    columns = ["name", "status", "objective_status"] + params + [
        "final_objective", "started", "ended", "failure_reason"]
    rows = []
    for job in snap.training_jobs:
        row: dict[str, Any] = {"name": job.name, "status": job.status, "objective_status": job.objective_status}
        for p in params:
            row[p] = job.hyperparameters.get(p)
        row.update(final_objective=job.final_objective, started=_time(job.started_at) or None,
                   ended=_time(job.ended_at) or None, failure_reason=job.failure_reason)
        rows.append(row)
    return columns, rows


def cmd_export(args: argparse.Namespace) -> int:
    backend = _backend(args)
    columns, rows = export_rows(backend.poll(args.name))
    if args.format == "json":
        text = json.dumps(rows, indent=2) + "\n"
    else:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else (repr(v) if isinstance(v, float) else v))
                             for k, v in row.items()})
        text = buf.getvalue()
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as err:
            raise UserError(f"cannot write {args.output}: {err.strerror or err}; choose another --output") from err
        print(f"wrote {len(rows)} training jobs to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
