"""How a local runner's training jobs end, and how the runner itself ends: reaping a job's
processes, recording its outcome (and telling the search), stopping a job (SIGTERM, then
SIGKILL after the grace), and the tuning job's last status, or its failure after an
unexpected error. A mixin of Runner (hpo_tui.engine.runner), which owns the state it uses.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpo_tui.engine import executor, procinfo, procs
from hpo_tui.engine.metrics import MetricExtractor
from hpo_tui.engine.runner_files import log
from hpo_tui.engine.stalls import StallWatch
from hpo_tui.engine.store import Store
from hpo_tui.views import clip_reason

# After a job's main process exits, wait this long for its pipe to close before giving up
# on the rest of its output (a process that left the group could hold the pipe open).
PIPE_DRAIN_GRACE = 2.0


@dataclass
class RunningJob:
    name: str
    number: int  # the search's trial number
    proc: executor.TrainingProcess
    extractor: MetricExtractor
    folder: Path
    marker: str  # procs.MARKER in its environment
    slot: Any  # the machine slot it holds (slots.Slot)
    final: float | None = None
    best: float | None = None
    last_epoch: int | None = None
    stop_kind: str | None = None  # why the runner stopped it: "pruned", "stopped", "stalled", ...
    stall_reason: str | None = None
    kill_at: float | None = None  # when SIGKILL follows the SIGTERM
    exited_at: float | None = None
    curve: list[tuple[int, float]] = field(default_factory=list)


class JobEnds:
    """The ends of jobs and of the run; Runner supplies the state below."""

    name: str
    home: str
    store: Store
    spec: Any
    search: Any
    _search_module: Any
    grace: float
    stalls: StallWatch
    running: dict[int, RunningJob]
    ending: str | None
    completion_reason: str | None
    finished_objectives: list[float | None]

    def _read(self, job: RunningJob) -> None:
        raise NotImplementedError  # Runner's: a job's output

    def _unregister(self, job: RunningJob) -> None:
        raise NotImplementedError  # Runner's: its pipe leaves the selector

    def _reap(self) -> None:
        for pid, job in list(self.running.items()):
            if job.proc.exit_status is not None:
                continue
            try:
                info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                info = None
            if info is None:
                continue
            # The unreaped leader keeps its process group id reserved, so this kill can only
            # reach what is left of this job (a forked child, say), never a stranger.
            procinfo.kill_group(job.proc.pgid, signal.SIGKILL)
            procs.kill_marked(job.marker, wait=0)  # what left its group (setsid) goes too
            self._record_exit(job, os.waitpid(pid, 0)[1])
        # Orphans of our jobs are re-parented to us (child subreaper): reap them too.
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            job = self.running.get(pid)
            if job is not None and job.proc.exit_status is None:
                procinfo.kill_group(job.proc.pgid, signal.SIGKILL)
                procs.kill_marked(job.marker, wait=0)
                self._record_exit(job, status)

    def _record_exit(self, job: RunningJob, status: int) -> None:
        job.proc.exit_status = status
        job.proc.popen.returncode = job.proc.returncode  # we reaped it; keep Popen quiet
        job.exited_at = time.time()

    def _finish_exited(self) -> None:
        for pid, job in list(self.running.items()):
            if job.exited_at is None:
                continue
            if not job.proc.eof:
                self._read(job)
            if job.proc.eof or time.time() >= job.exited_at + PIPE_DRAIN_GRACE:
                self._unregister(job)
                del self.running[pid]
                self._finalize(job)

    def _finalize(self, job: RunningJob) -> None:
        job.proc.close()
        job.slot.release()
        code = job.proc.returncode
        final = job.final
        reason = None
        self.stalls.ended(job.name)
        if job.stop_kind == "stalled":
            status, reason = "Failed", job.stall_reason
        elif job.stop_kind is not None:
            status = "Stopped"
        elif code == 0:
            status = "Completed"
        else:
            status = "Failed"
            reason = self._failure_reason(job, code)
        objective_status = "Succeeded" if final is not None and status != "Failed" else "Failed"
        with self.store.write():
            self.store.update_training_job(
                job.name, status=status, objective_status=objective_status, ended_at=time.time(),
                failure_reason=reason, exit_code=code, final_objective=final,
                best_objective=job.best, last_epoch=job.last_epoch, stalled_since=None,
            )
        if status == "Completed" and final is not None:
            state = "complete"
        elif status == "Stopped":
            state = "pruned"
        else:
            state = "failed"
        self.search.tell(job.number, final, state)
        self.finished_objectives.append(final if objective_status == "Succeeded" else None)
        log(f"{job.name} {status} ({executor.describe_exit(code)}), objective {final}")
        if not self.ending:
            reason = self._search_module.completion_reason(self.spec, self.finished_objectives)
            if reason:
                self._begin_ending("completion", reason)

    def _failure_reason(self, job: RunningJob, code: int) -> str:
        failure_file = job.folder / "failure"
        try:
            text = failure_file.read_text(errors="replace").strip()
        except OSError:
            text = ""
        if text:
            return clip_reason(text) or ""
        head = f"AlgorithmError: {executor.describe_exit(code)}"
        tail = [line for line in job.proc.tail if line.strip()]
        # Keep the LAST lines (where a traceback says what went wrong) within the limit.
        kept: list[str] = []
        budget = 1024 - len(head) - 40
        for line in reversed(tail[-20:]):
            if len(line) + 1 > budget:
                break
            kept.insert(0, line)
            budget -= len(line) + 1
        if kept:
            head += "; last log lines:\n" + "\n".join(kept)
        return clip_reason(head) or head

    # -- stopping -----------------------------------------------------------------------------------

    def _stop_job(self, job: RunningJob, kind: str) -> None:
        job.stop_kind = kind
        if job.exited_at is not None:
            return
        job.proc.signal_group(signal.SIGTERM)
        job.proc.signal_group(signal.SIGCONT)  # a stopped (state T) job acts on it only once it runs
        job.kill_at = time.time() + self.grace
        with self.store.write():
            self.store.update_training_job(job.name, status="Stopping")

    def _begin_ending(self, kind: str, reason: str | None) -> None:
        self.ending = kind
        self.completion_reason = reason
        log(f"ending: {kind}" + (f" ({reason})" if reason else ""))
        if kind == "stopped":
            with self.store.write():
                self.store.update_tuning_job(self.name, status="Stopping")
        for job in list(self.running.values()):
            if job.stop_kind is None or kind == "stopped":
                if job.kill_at is None:
                    self._stop_job(job, "stopped" if kind == "stopped" else kind)

    def _enforce_grace(self) -> None:
        now = time.time()
        for job in self.running.values():
            if job.kill_at is not None and now >= job.kill_at and job.exited_at is None:
                job.proc.signal_group(signal.SIGKILL)
                procs.kill_marked(job.marker, wait=0)
                job.kill_at = None

    def _finish(self) -> str:
        procs.kill_marked(procs.tuning_prefix(self.home, self.name), wait=2.0)
        self._reap_orphans()
        jobs = self.store.training_jobs(self.name)
        failure = None
        if self.ending == "stopped":
            status = "Stopped"
        else:
            # max_jobs reached, the Grid exhausted, a completion criterion met, or
            # max_runtime_seconds reached: SageMaker reports all of these as Completed
            # (the runtime limit stops the running jobs, which end as Stopped).
            status = "Completed"
            counted = [j for j in jobs if not j["retryable"]]
            if counted and all(j["status"] == "Failed" for j in counted):
                status = "Failed"
                failure = clip_reason(
                    f"all {len(counted)} training jobs failed; the first one: {counted[0]['failure_reason']}"
                )
        with self.store.write():
            self.store.update_tuning_job(
                self.name, status=status, ended_at=time.time(), failure_reason=failure,
                completion_reason=self.completion_reason,
            )
        self.store.checkpoint()
        log(f"tuning job {status}")
        return status

    def _reap_orphans(self, wait: float = 2.0) -> None:
        """Reap the killed leftovers of jobs (re-parented to us) before we exit, so none is
        left as a zombie for init; bounded, in case one escaped its process group."""
        deadline = time.time() + wait
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                if time.time() >= deadline:
                    return
                time.sleep(0.01)

    def abort(self, reason: str) -> None:
        """After an unexpected error: kill every job and record why the tuning job failed."""
        for job in self.running.values():
            job.proc.signal_group(signal.SIGKILL)
        procs.kill_marked(procs.tuning_prefix(self.home, self.name), wait=2.0)
        for pid, job in list(self.running.items()):
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        if self.store.conn.in_transaction:
            try:
                self.store.conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
        with self.store.write():
            for job in self.running.values():
                self.store.update_training_job(
                    job.name, status="Failed", objective_status="Failed", ended_at=time.time(),
                    failure_reason=clip_reason(reason),
                )
            self.store.update_tuning_job(
                self.name, status="Failed", ended_at=time.time(), failure_reason=clip_reason(reason)
            )
        self.store.checkpoint()
