"""Launch and resume: record a new tuning job (or take up one whose runner died) and start
its runner, a detached `python -m hpo_tui.engine.runner_main NAME` holding the runner lock.

The spec was validated at the boundary (validate() here, with the local rules); nothing
below re-checks it. What this module checks is the store and the machine: a name already
taken, warm start parents that are missing or still running, a runner already alive, and
whether training can run here at all.

Writes the store: the new tuning job's row, and the runner's pid as it is started (the
runner records itself too; this covers a runner that dies before its first write). A resume
clears stop_requested and, through RunnerControl, ends the rows of a dead runner first.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpo_tui import paths
from hpo_tui.backends.base import BackendError
from hpo_tui.backends.local.control import RunnerControl
from hpo_tui.backends.local.locks import control_lock, runner_lock
from hpo_tui.backends.local.resume_rules import completed_error, stopped_error
from hpo_tui.engine import faults, procinfo, procs
from hpo_tui.engine.executor import open_log
from hpo_tui.engine.runner_files import LIVE_STATUSES, beat
from hpo_tui.engine.store import Store
from hpo_tui.engine.stored_spec import spec_to_json
from hpo_tui.views import TERMINAL_STATUSES

if TYPE_CHECKING:
    from hpo_tui.spec import TuningSpec


def launch(control: RunnerControl, spec: TuningSpec, base_dir: Path | None = None) -> str:
    """Validate, record and start a tuning job; return its name at once.

    base_dir: the spec file's folder; relative paths in the spec are resolved from it.
    """
    from hpo_tui.spec import SpecError, make_tuning_job_name, resolved_max_jobs, validate

    require_local_training()
    spec = _resolved(spec, base_dir)
    issues = validate(dataclasses.replace(spec, backend="local"), base_dir=base_dir)
    if issues:
        raise SpecError(issues)
    spec.estimator.source_dir = str(_source_dir(spec.estimator.source_dir, spec.estimator.entry_point, base_dir))
    name = make_tuning_job_name(spec)
    folder = paths.jobs_dir() / name
    writer = Store.writer(paths.store_path())
    try:
        with writer.write():
            if writer.tuning_job(name) is not None:
                raise BackendError(
                    f"a tuning job named {name!r} already exists; choose another tuning_job_name "
                    "(or leave it empty to get a generated one)"
                )
            _check_parents(writer, spec)
            writer.insert("tuning_jobs", dict(
                name=name, spec_json=spec_to_json(spec), status="InProgress", strategy=spec.strategy,
                objective_name=spec.objective.name, objective_type=spec.objective.type,
                max_jobs=resolved_max_jobs(spec), max_parallel_jobs=spec.max_parallel_jobs,
                tuned_parameters=json.dumps(list(spec.ranges)), created_at=time.time(),
                folder=str(folder),
            ))
        with runner_lock(folder, lambda: runner_alive_error(name, writer.tuning_job(name))) as lock_fd:
            spawn(control, writer, name, folder, lock_fd)
    finally:
        writer.close()
    return name


def _resolved(spec: TuningSpec, base_dir: Path | None) -> TuningSpec:
    """A copy of the spec whose local channel folders are absolute (the runner works in the
    tuning job's folder): relative to the spec file's folder when they are there, else to the
    current folder, as validate() looks for them."""
    spec = dataclasses.replace(
        spec, estimator=dataclasses.replace(spec.estimator), channels=dataclasses.replace(spec.channels),
    )
    for field_name in ("train", "test"):
        value = getattr(spec.channels, field_name)
        if not isinstance(value, str) or not value.strip() or "://" in value or value.startswith("s3:"):
            continue
        path = Path(value).expanduser()
        if not path.is_absolute() and base_dir is not None and (Path(base_dir) / path).exists():
            path = Path(base_dir) / path
        setattr(spec.channels, field_name, str(path.resolve()))
    return spec


def _source_dir(source_dir: str, entry_point: str, base_dir: Path | None) -> Path:
    """SageMaker's source_dir on this machine: the first of the places validate() looks
    (spec.source_dir_candidates) that holds the entry point; validate() made sure one does."""
    from hpo_tui.spec import source_dir_candidates

    found = next((c for c in source_dir_candidates(source_dir, base_dir) if (c / entry_point).is_file()), None)
    assert found is not None, "validate() checks that estimator.source_dir holds the entry point"
    return found.resolve()


def spawn(control: RunnerControl, writer: Store, name: str, folder: Path, lock_fd: int, **on_start: Any) -> None:
    env = dict(os.environ)
    # The runner must import this same hpo_tui, installed or not.
    package_root = str(Path(__file__).resolve().parents[3])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    beat(folder)  # a fresh runner is not "not responding" while it starts
    faults.prepare_failure_file(folder)  # blank: an earlier runner's failure is not this one's
    with open_log(folder / "runner.log") as log_file:
        popen = subprocess.Popen(
            [sys.executable, "-m", "hpo_tui.engine.runner_main", name, "--lock-fd", str(lock_fd)],
            cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
            start_new_session=True, close_fds=True, pass_fds=(lock_fd,),
        )
    control.children.append(popen)
    with writer.write():
        # Recorded here too (the runner records itself as it starts), so a runner that
        # dies before its first write is still noticed.
        fields: dict[str, Any] = dict(
            runner_pid=popen.pid, runner_start_time=procinfo.start_time(popen.pid), runner_pgid=popen.pid,
        )
        if writer.tuning_job(name)["runner_pid"] != popen.pid:
            fields.update(on_start)  # the runner has not started yet: nothing to overwrite
        writer.update_tuning_job(name, **fields)


def resume(control: RunnerControl, name: str) -> None:
    """Start a new runner for a tuning job whose runner is gone; finished jobs are kept.
    A Completed or Stopped tuning job stays so (SageMaker restarts neither): refused."""
    require_local_training()
    control.reap()
    row = control.reader.tuning_row(name)
    with control_lock(name, Path(row["folder"])):
        _resume(control, name)


def _resume(control: RunnerControl, name: str) -> None:
    row = control.reader.tuning_row(name)
    if row["status"] == "Completed":
        raise completed_error(name)
    if row["status"] == "Stopped":
        raise _stopped_error(control, row)
    _refuse_if_nothing_to_run(control, row)
    folder = Path(row["folder"])
    procs.test_pause("resume-checked", folder)
    with runner_lock(folder, lambda: runner_alive_error(name, control.live_runner_row(name))) as lock_fd:
        writer = Store.writer(paths.store_path())
        try:
            row = writer.tuning_job(name)
            if row["status"] in LIVE_STATUSES:
                control.mark_runner_dead(writer, row)
                row = writer.tuning_job(name)
            if row["status"] == "Completed":
                raise completed_error(name)
            if row["status"] == "Stopped":  # a stop acted on while the lock was taken
                raise _stopped_error(control, row)
            with writer.write():
                writer.update_tuning_job(name, stop_requested=0)
            spawn(control, writer, name, folder, lock_fd, status="InProgress", failure_reason=None,
                  ended_at=None, completion_reason=None)
        finally:
            writer.close()


def _stopped_error(control: RunnerControl, row: dict[str, Any]) -> BackendError:
    jobs = control.reader.training_rows(row["name"])
    return stopped_error(row["name"], sum(1 for j in jobs if j["status"] in TERMINAL_STATUSES
                                          and not j["retryable"]), row["max_jobs"])


def _refuse_if_nothing_to_run(control: RunnerControl, row: dict[str, Any]) -> None:
    """A tuning job whose every training job failed, with no budget left, would "resume"
    only to fail again at once: say so instead."""
    if row["status"] != "Failed" or row["max_jobs"] is None:
        return
    counted = [j for j in control.reader.training_rows(row["name"]) if not j["retryable"]]
    if len(counted) < row["max_jobs"] or not all(j["status"] == "Failed" for j in counted):
        return
    first = " ".join((counted[0]["failure_reason"] or "no reason recorded").split())[:200]
    raise BackendError(
        f"tuning job {row['name']!r} has nothing left to run: all {len(counted)} of its "
        f"{row['max_jobs']} training jobs failed (the first: {first}); fix the cause, then "
        "launch a new tuning job"
    )


def runner_alive_error(name: str, row: dict[str, Any] | None) -> BackendError:
    """row: as read once a live runner is recorded (None: only a pid known to be alive is named)."""
    pid = row["runner_pid"] if row else None
    return BackendError(
        f"tuning job {name!r} already has a running runner" + (f" (pid {pid})" if pid else "")
        + f"; watch it with `hpo-tui status {name}` or stop it with `hpo-tui stop {name}`"
    )


def _check_parents(store: Store, spec: TuningSpec) -> None:
    """Warm start parents must be finished local tuning jobs, as on SageMaker."""
    for i, parent in enumerate(spec.warm_start.parents or []):
        row = store.tuning_job(parent)
        if row is None:
            raise BackendError(
                f"warm_start.parents[{i}]: no local tuning job named {parent!r}; `hpo-tui jobs` lists them"
            )
        if row["status"] not in TERMINAL_STATUSES:
            raise BackendError(
                f"warm_start.parents[{i}]: {parent!r} is still {row['status']}; warm start from tuning "
                "jobs that ended (wait for it, or stop it first)"
            )


def require_local_training() -> None:
    """Refuse to start a runner where its training jobs cannot run (one line: why, what to do)."""
    from hpo_tui.engine.support import local_training_problem

    problem = local_training_problem()
    if problem is not None:
        raise BackendError(problem)
