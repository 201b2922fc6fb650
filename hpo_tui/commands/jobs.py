"""Headless tuning-job commands: launch, jobs, status, stop, resume, logs, export."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from hpo_tui.backends.base import Backend, TuningJobNotFound, poll_rows
from hpo_tui.errors import UserError
from hpo_tui.estimate import ended_of
from hpo_tui.report import fmt_value, one_line, render_status, stream_export, text_table, utc_time, write_export
from hpo_tui.sanitize import sanitize


def _backend(args: argparse.Namespace, spec: Any = None) -> Backend:
    from hpo_tui.backends import make_backend

    name = getattr(args, "backend", None) or (spec.backend if spec is not None else None) or "local"
    region = getattr(args, "region", None) or (spec.sagemaker.region if spec is not None else None)
    profile = getattr(args, "profile", None) or (spec.sagemaker.profile if spec is not None else None)
    return make_backend(name, region=region, profile=profile)


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
    from hpo_tui.spec import spec_warnings

    for warning in spec_warnings(spec):
        print(f"warning: {warning}", file=sys.stderr)
    if spec.backend == "sagemaker":
        # The SDK's own "Applied value" lines are silenced (they would land on the TUI): say
        # what its config files add to the request, and where from, as `spec render` does.
        from hpo_tui.spec.sdk_config import render_request_as_sent

        added = render_request_as_sent(spec)[1]
        if added:
            print(sanitize(added), file=sys.stderr)
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
        snap = poll_rows(backend, name, cursor)
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
                hps = one_line(" ".join(f"{k}={v}" for k, v in job.hyperparameters.items()))
                print(f"{utc_time(job.started_at)} started  {job.name}  {hps}", file=out, flush=True)
            if job.is_terminal:
                line = f"{utc_time(job.ended_at)} finished {job.name}  {job.status}/{job.objective_status}"
                if job.final_objective is not None:
                    line += f"  {snap.tuning_job.objective_name}={fmt_value(job.final_objective)}"
                if job.failure_reason:
                    line += f"  reason: {one_line(job.failure_reason)[:200]}"
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
    name_contains = getattr(args, "name_contains", None)
    status = getattr(args, "status", None)
    if backend.name == "sagemaker":  # AWS filters (and pages) itself
        jobs = backend.list_tuning_jobs(name_contains=name_contains, status=status)  # type: ignore[call-arg]
    else:
        jobs = backend.list_tuning_jobs()
    jobs = [j for j in jobs if (not name_contains or name_contains in j.name) and (not status or j.status == status)]
    if not jobs:
        if name_contains or status:
            print(f"no tuning jobs on the {backend.name} backend match the filters")
            return 0
        print(f"no tuning jobs on the {backend.name} backend yet; start one with: hpo-tui launch SPEC.toml")
        return 0
    rows = [
        [j.name, j.status, j.strategy, f"{ended_of(j)}/{j.max_jobs}",
         j.best_training_job or "", fmt_value(j.best_objective), utc_time(j.created_at)]
        for j in jobs
    ]
    header = ["NAME", "STATUS", "STRATEGY", "DONE", "BEST JOB", "BEST", "CREATED"]
    if backend.name == "local":  # what each tuning job's folder holds (models, logs)
        from hpo_tui.backends.local_housekeeping import fmt_bytes, usage_by_tuning_job

        sizes = usage_by_tuning_job(j.name for j in jobs)
        header.append("DISK")
        for row, job in zip(rows, jobs):
            row.append(fmt_bytes(sizes[job.name]))
    print(text_table(header, rows))
    for j in jobs:
        if j.warning:  # what `status` warns about, for each tuning job listed
            print(sanitize(f"warning: {j.name}: {j.warning}"))
    limit = getattr(backend, "list_limit", None)
    if limit is not None and len(jobs) >= limit:
        print(f"(the newest {limit}; narrow the list with --name-contains TEXT or --status STATUS)")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    import dataclasses

    backend = _backend(args)
    snap = poll_rows(backend, args.name)  # status prints no curve: no metric point is read
    price = getattr(args, "price_per_hour", None)
    if price is not None:
        if not price > 0:
            raise UserError(f"--price-per-hour must be a price in dollars > 0, got {price}")
        snap = dataclasses.replace(snap, tuning_job=dataclasses.replace(snap.tuning_job, price_per_hour=price))
        keep = getattr(backend, "remember_price", None)
        if keep is not None:  # given once: later reports of this instance type show dollars too
            print(keep(args.name, price), file=sys.stderr)
    print(render_status(snap, links=getattr(args, "links", False)))
    if snap.warning:
        print(f"warning: {snap.warning}")
    return 0


# -- stop / resume ---------------------------------------------------------------------------------


def cmd_stop(args: argparse.Namespace) -> int:
    """Send the stop first (nothing read before it can keep it from going out), then read the
    status once."""
    backend = _backend(args)
    sent = backend.stop(args.name)
    status_of = getattr(backend, "tuning_job_status", None)
    warning = None
    try:
        if status_of is not None:
            after = status_of(args.name)
        else:
            snap = poll_rows(backend, args.name)
            after, warning = snap.tuning_job.status, snap.warning
    except UserError as err:
        print(f"stop sent to tuning job {args.name}; its status could not be read ({err})")
        return 0
    if sent is False:
        print(f"tuning job {args.name} had already ended ({after}); nothing to stop")
    elif warning and after == "InProgress":
        # The stop is recorded, but the runner that must act on it is not running.
        print(f"tuning job {args.name}: {after}, stop requested; {warning}")
        return 1
    else:
        print(f"tuning job {args.name}: {after}")
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    from hpo_tui.backends.local import LocalBackend

    backend = LocalBackend()
    backend.resume(args.name)
    snap = poll_rows(backend, args.name)
    # The budget counted one way everywhere (the runner, `jobs`, status): ended jobs that
    # count against max_jobs; a job lost with the dead runner is run again, not counted.
    e = snap.estimate
    print(f"resumed tuning job {args.name}: {e.ended} of its {snap.tuning_job.max_jobs} training jobs "
          f"ended and are kept; {max(0, snap.tuning_job.max_jobs - e.ended)} left to run")
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
            snap = poll_rows(backend, "-".join(parts[:cut]))
        except TuningJobNotFound:
            continue
        for j in snap.training_jobs:
            if j.name == job:
                return j.status
    return None


def cmd_logs(args: argparse.Namespace) -> int:
    backend = _backend(args)
    cursor = None
    first = True
    while True:
        # Read the status before the log, so the last lines of an ending job are not missed.
        status = _job_status(backend, args.job) if args.follow else None
        while True:  # one read returns at most a few MB: read until nothing more is there
            chunk = backend.log_tail(args.job, cursor)
            cursor = chunk.cursor
            for line in chunk.lines:
                print(sanitize(line))  # training output is user code's: no terminal escapes
            sys.stdout.flush()
            if first and not chunk.lines and _job_status(backend, args.job) is None:
                # No log and no such job: a misspelled name, not an empty log.
                where = f" in region {backend.region}" if backend.name == "sagemaker" else ""  # type: ignore[attr-defined]
                raise UserError(f"no training job named {args.job!r} on the {backend.name} backend{where}. "
                                "`hpo-tui status TUNING-JOB` lists the training jobs of a tuning job.")
            first = False
            if not chunk.lines:
                break
        if not args.follow or status in ("Completed", "Failed", "Stopped") or status is None:
            return 0
        time.sleep(backend.default_interval)


# -- export (rows and encoding shared with the TUI, in hpo_tui.report) ------------------------------------------------------------------------------------------


def cmd_export(args: argparse.Namespace) -> int:
    if args.format == "optuna":
        return _export_optuna(args)
    backend = _backend(args)
    # CSV and JSON carry no per-epoch point: none is read. The rows are written as they are
    # built, so a 10,000-job export never holds its whole text in memory.
    snap = poll_rows(backend, args.name)
    if args.output:
        try:
            count = write_export(snap, args.format, Path(args.output), make_parents=False)
        except OSError as err:
            raise UserError(f"cannot write {args.output}: {err.strerror or err}; choose another --output") from err
        print(f"wrote {count} training jobs to {args.output}", file=sys.stderr)
    else:
        stream_export(snap, args.format, sys.stdout)
    return 0


def _export_optuna(args: argparse.Namespace) -> int:
    from hpo_tui.optuna_export import write_optuna_journal

    if not args.output:
        raise UserError("--format optuna writes an Optuna journal file: give its path with "
                        "--output FILE (e.g. -o study.log)")
    backend = _backend(args)
    snap = backend.poll(args.name)  # no cursor: every metric point, for the per-epoch values
    count = write_optuna_journal(snap, snap.new_points, Path(args.output))
    print(f"wrote an Optuna study of {count} trials to {args.output}; open it with "
          f"optuna-dashboard {args.output}", file=sys.stderr)
    return 0
