"""The runner of one local tuning job: a detached process that asks the search for
hyperparameters, runs training jobs in parallel slots, extracts their metrics, and is
the store's only writer while it lives. Its process is `python -m hpo_tui.engine.runner_main
NAME` (signals, the runner lock, failure handling).
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpo_tui import paths
from hpo_tui.views import TERMINAL_STATUSES, clip_reason, is_better
from hpo_tui.engine import executor, procinfo, procs, slots
from hpo_tui.engine.stalls import StallWatch
from hpo_tui.engine.metrics import MATCH_TIMEOUT, MetricExtractor
from hpo_tui.engine.store import Store, spec_from_json
from hpo_tui.errors import UserError

# Seconds between SIGTERM and SIGKILL of a job's process group; HPO_TUI_STOP_GRACE overrides.
DEFAULT_STOP_GRACE = 5.0
# After a job's main process exits, wait this long for its pipe to close before giving up
# on the rest of its output (a process that left the group could hold the pipe open).
PIPE_DRAIN_GRACE = 2.0
RUNNER_DIED = "runner exited unexpectedly"
LIVE_STATUSES = ("InProgress", "Stopping")
# The runner touches its heartbeat file at least this often while it lives, so a runner
# that is alive but makes no progress (SIGSTOPped, hung) can be told from a busy one.
HEARTBEAT_INTERVAL = 2.0
SLOT_RETRY = 0.25  # seconds between tries for a machine slot when all are taken


def stop_grace() -> float:
    try:
        return max(0.0, float(os.environ.get("HPO_TUI_STOP_GRACE", DEFAULT_STOP_GRACE)))
    except ValueError:
        return DEFAULT_STOP_GRACE


def lock_path(folder: Path) -> Path:
    return folder / "runner.lock"


def heartbeat_path(folder: Path) -> Path:
    return folder / "runner.heartbeat"


def beat(folder: Path) -> None:
    """Record that the runner is making progress (the file's mtime is the heartbeat)."""
    try:
        fd = os.open(heartbeat_path(folder), os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError:
        return
    try:
        os.utime(fd)
    finally:
        os.close(fd)


def log(message: str) -> None:
    try:
        print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {message}", flush=True)
    except OSError:
        pass  # runner.log on a full disk: the store and the failure file say what matters


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


class Runner:
    def __init__(self, name: str, store: Store, wake_fd: int) -> None:
        self.name = name
        self.store = store
        self.wake_fd = wake_fd
        self.selector = selectors.DefaultSelector()
        self.selector.register(wake_fd, selectors.EVENT_READ, None)
        self.stop_signalled = False
        self.grace = stop_grace()
        self.running: dict[int, RunningJob] = {}  # by pid
        self.ending: str | None = None  # "stopped", "runtime" or "completion"
        self.completion_reason: str | None = None
        self.exhausted = False
        self.finished_objectives: list[float | None] = []
        self.last_beat = 0.0

        row = store.tuning_job(name)
        if row is None:
            raise UserError(f"no tuning job named {name!r} in the store {store.path}")
        self.row = row
        self.spec = spec_from_json(row["spec_json"])
        self.folder = Path(row["folder"])
        self.objective = self.spec.objective.name
        self.maximize = self.spec.objective.type != "Minimize"
        # max_parallel_jobs is a cap, as on SageMaker; the local engine also runs no more jobs
        # at once than its concurrency (default: one per core).
        self.parallel = executor.job_slots(self.spec.max_parallel_jobs, self.spec.local.concurrency)
        # The machine's pool, shared with every other local tuning job running now.
        self.machine_slots = executor.local_concurrency(self.spec.local.concurrency)
        self.waiting_for_slot = False
        self.slot_wait_logged = False
        local = self.spec.local
        self.log_cap = getattr(local, "log_max_bytes", None) or executor.DEFAULT_LOG_MAX
        self.stalls = StallWatch(getattr(local, "stall_seconds", None), getattr(local, "stall_timeout_seconds", None))
        self.max_jobs = row["max_jobs"]
        self.deadline = (
            row["created_at"] + self.spec.max_runtime_seconds if self.spec.max_runtime_seconds else None
        )
        self.definitions = [(m.name, m.regex) for m in self.spec.metric_definitions]
        self.script = Path(self.spec.estimator.source_dir) / self.spec.estimator.entry_point
        self.static = {k: _hp_string(v) for k, v in self.spec.estimator.hyperparameters.items()}
        self.threads = executor.JOB_THREADS
        self.home = str(paths.home())

    # -- start ------------------------------------------------------------------------------

    def start(self) -> None:
        from hpo_tui.engine import search

        max_epochs = search.max_epochs(self.spec)
        pid = os.getpid()
        with self.store.write():
            # Jobs a previous runner left behind (it died before any reader noticed), and
            # anything they started, found by their recorded pids and by their marker.
            left = [j for j in self.store.training_jobs(self.name) if j["status"] not in TERMINAL_STATUSES]
            killed = procs.kill_leftovers(self.home, self.name, left)
            if killed:
                log(f"killed {len(killed)} leftover process(es) of earlier runners: {killed}")
            for job in left:
                self.store.update_training_job(
                    job["name"], status="Failed", objective_status="Failed",
                    failure_reason=RUNNER_DIED, retryable=1, ended_at=time.time(),
                )
            self.store.update_tuning_job(
                self.name, status="InProgress", failure_reason=None, ended_at=None,
                completion_reason=None, runner_pid=pid, runner_start_time=procinfo.start_time(pid),
                runner_pgid=os.getpgid(0), max_epochs=max_epochs,
            )
            stop_requested = self.store.tuning_job(self.name)["stop_requested"]
        if stop_requested:
            self.stop_signalled = True

        self.train_channel, self.test_channel = self._channels()
        if not self.script.is_file():
            raise UserError(
                f"estimator.entry_point: {self.script} does not exist; fix estimator.source_dir "
                "and estimator.entry_point in the spec"
            )

        self.search = search.SearchStrategy(self.spec)
        parents = list(self.spec.warm_start.parents or [])
        if parents:
            # Warm start: the parents' finished jobs are told to the new study before its first
            # ask, as SageMaker's WarmStartConfig does; they are not this job's (no Grid
            # combination is taken, no objective counted toward the completion criteria).
            with self.store.read():
                warm = [trial for parent in parents for trial, _ in self._finished_history(search, parent)]
            self.search.restore(warm, parents=True)
            log(f"warm start: {len(warm)} finished training jobs of {', '.join(parents)}")
        own = self._finished_history(search, self.name)
        history = [trial for trial, _ in own]
        self.finished_objectives.extend(value for _, value in own)
        if history:
            self.search.restore(history)
            log(f"resumed with {len(history)} finished training jobs")
        self._search_module = search

    def _finished_history(self, search: Any, tuning_job: str) -> list[tuple[Any, float | None]]:
        """A tuning job's finished training jobs as FinishedTrials (with their objective values),
        in the order they ended."""
        finished = [
            j for j in self.store.training_jobs(tuning_job)
            if j["status"] in TERMINAL_STATUSES and not j["retryable"]
        ]
        finished.sort(key=lambda j: (j["ended_at"] or 0, j["launch_index"]))
        out = []
        for job in finished:
            succeeded = job["objective_status"] == "Succeeded"
            value = job["final_objective"] if succeeded else None
            if job["status"] == "Completed" and value is not None:
                state = "complete"
            elif job["status"] == "Stopped":
                state = "pruned"
            else:
                state = "failed"
            curve = [(p["epoch"], p["value"]) for p in self.store.job_points(job["name"], self.objective)]
            out.append((search.FinishedTrial(json.loads(job["hyperparameters"]), value, state, curve), value))
        return out

    def _channels(self) -> tuple[str, str]:
        train, test = self.spec.channels.train, self.spec.channels.test
        if train is None or test is None:
            from hpo_tui.data import prepare_mnist

            root = prepare_mnist()
            train = train or str(root / "train")
            test = test or str(root / "test")
        for field_name, value in (("channels.train", train), ("channels.test", test)):
            if not Path(value).is_dir():
                raise UserError(f"{field_name}: {value} is not a folder; point it at a local data folder")
        return str(train), str(test)

    # -- main loop ----------------------------------------------------------------------------

    def run(self) -> str:
        self.start()
        while True:
            self._beat()
            self._reap()
            self._finish_exited()
            if self.stop_signalled and self.ending != "stopped":
                self._begin_ending("stopped", None)
            if self.deadline is not None and time.time() >= self.deadline and not self.ending:
                self._begin_ending("runtime", "max_runtime_seconds reached")
            if not self.ending:
                self._fill_slots()
            if not self.running and (self.ending or self.exhausted or self._budget_spent()):
                break
            self._enforce_grace()
            for key, _ in self.selector.select(self._timeout()):
                if key.data is None:
                    _drain(self.wake_fd)
                else:
                    self._read(key.data)
        return self._finish()

    def _beat(self) -> None:
        now = time.monotonic()
        if now - self.last_beat >= HEARTBEAT_INTERVAL / 2:
            beat(self.folder)
            self.last_beat = now
            self._check_stalls()

    def _check_stalls(self) -> None:
        live = {j.name: pid for pid, j in self.running.items() if j.exited_at is None and j.stop_kind is None}
        changed, timed_out = self.stalls.check(live)
        if changed:
            with self.store.write():
                for name, since in changed.items():
                    self.store.update_training_job(name, stalled_since=since)
            for name, since in changed.items():
                log(f"{name}: " + ("stalled (no output, no CPU)" if since else "active again"))
        for job in [j for j in self.running.values() if j.name in timed_out]:
            log(f"ending {job.name}: {timed_out[job.name]}")
            job.stop_kind = "stalled"
            job.stall_reason = timed_out[job.name]
            job.proc.signal_group(signal.SIGKILL)  # SIGKILL ends a stopped (state T) process too
            procs.kill_marked(job.marker, wait=0)

    def _timeout(self) -> float:
        now = time.time()
        deadlines = [now + HEARTBEAT_INTERVAL / 2]  # the heartbeat; otherwise idle in select
        if self.waiting_for_slot:
            deadlines.append(now + SLOT_RETRY)  # another tuning job's job may end any moment
        deadlines += [j.kill_at for j in self.running.values() if j.kill_at]
        deadlines += [j.exited_at + PIPE_DRAIN_GRACE for j in self.running.values() if j.exited_at]
        if self.deadline is not None and not self.ending:
            deadlines.append(self.deadline)
        return max(0.0, min(deadlines) - now)

    def _budget_spent(self) -> bool:
        return self.max_jobs is not None and self._counted_jobs() >= self.max_jobs

    def _counted_jobs(self) -> int:
        row = self.store.conn.execute(
            "SELECT COUNT(*) FROM training_jobs WHERE tuning_job = ? AND retryable = 0", (self.name,)
        ).fetchone()
        return int(row[0])

    # -- launching ----------------------------------------------------------------------------

    def _fill_slots(self) -> None:
        self.waiting_for_slot = False
        while len(self.running) < self.parallel and not self.exhausted and not self._budget_spent():
            # The machine's slots are shared with the other local tuning jobs running.
            slot = slots.acquire(self.machine_slots, self.name)
            if slot is None:
                if not self.slot_wait_logged:
                    users = ", ".join(f"{name} {n}" for name, n in slots.usage())
                    log(f"waiting for a machine slot: all {self.machine_slots} in use ({users})")
                    self.slot_wait_logged = True
                self.waiting_for_slot = True
                return
            self.slot_wait_logged = False
            trial = self.search.ask()
            if trial is None:
                slot.release()
                self.exhausted = True
                return
            self._start_job(trial, slot)

    def _start_job(self, trial: Any, slot: slots.Slot) -> None:
        row = self.store.conn.execute(
            "SELECT COALESCE(MAX(launch_index), -1) + 1 FROM training_jobs WHERE tuning_job = ?",
            (self.name,),
        ).fetchone()
        index = int(row[0])
        name = f"{self.name}-{index + 1:03d}"
        marker = procs.marker(self.home, self.name, name)
        folder = self._fresh_folder(self.folder / name, marker)
        log_path = folder / "train.log"
        hps = dict(self.static)
        hps.update(trial.hyperparameters)
        argv = executor.training_argv(self.script, hps)
        env = executor.training_env(
            folder=folder, train=self.train_channel, test=self.test_channel,
            hyperparameters=hps, threads=self.threads, marker=marker,
        )
        now = time.time()
        # Recorded before the process starts, so a runner that dies at any moment leaves a
        # row (and its marker) by which the process is found; the pid follows right after.
        with self.store.write():
            self.store.insert("training_jobs", dict(
                name=name, tuning_job=self.name, launch_index=index,
                hyperparameters=json.dumps(trial.hyperparameters), created_at=now, log_path=str(log_path),
                status="InProgress", objective_status="Pending",
            ))
        procs.test_pause("recorded", self.folder)
        try:
            proc = executor.TrainingProcess.start(name, argv, env, folder, log_path, self.log_cap)
        except OSError as err:
            slot.release()
            with self.store.write():
                self.store.update_training_job(
                    name, status="Failed", objective_status="Failed", ended_at=time.time(),
                    failure_reason=clip_reason(f"could not start {argv[1]}: {err}"),
                )
            self.search.tell(trial.number, None, "failed")
            self.finished_objectives.append(None)
            return
        procs.test_pause("spawned", self.folder)
        with self.store.write():
            self.store.update_training_job(
                name, started_at=time.time(), pid=proc.pid, pid_start_time=proc.start_time, pgid=proc.pgid,
            )
        job = RunningJob(name, trial.number, proc, MetricExtractor(self.definitions), folder, marker, slot)
        self.running[proc.pid] = job
        self.stalls.started(name)
        self.selector.register(proc.fd, selectors.EVENT_READ, job)
        log(f"started {name} (pid {proc.pid}) {trial.hyperparameters}")

    def _fresh_folder(self, folder: Path, marker: str) -> Path:
        """The job's folder, new: one already there was left by a process no row knew of,
        which may still write to it, so that is killed and its folder moved aside."""
        if folder.exists() or folder.is_symlink():
            procs.kill_marked(marker, wait=2.0)
            aside = folder.with_name(f"{folder.name}.leftover-{int(time.time())}")
            os.replace(folder, aside)
            log(f"{folder.name}: a folder of an unrecorded process was in the way; moved to {aside.name}")
        return paths.private_dir(folder)

    # -- output ---------------------------------------------------------------------------------

    def _read(self, job: RunningJob) -> None:
        lines = job.proc.read_lines()
        if job.proc.eof:
            self._unregister(job)
        if not lines:
            return
        self.stalls.output(job.name)
        points = []
        changed = False
        stop = False
        timeouts = job.extractor.timeouts
        for line in lines:
            for p in job.extractor.feed(line):
                points.append((p.metric, p.epoch, time.time(), p.value))
                if job.last_epoch is None or p.epoch > job.last_epoch:
                    job.last_epoch = p.epoch
                    changed = True
                if p.metric != self.objective:
                    continue
                job.final = p.value
                job.curve.append((p.epoch, p.value))
                if is_better(p.value, job.best, self.spec.objective.type):
                    job.best = p.value
                changed = True
                if job.stop_kind is None and self.search.report(job.number, p.epoch, p.value):
                    stop = True
        if job.extractor.timeouts > timeouts:
            log(f"{job.name}: a metric regex took over {MATCH_TIMEOUT} s on "
                f"{job.extractor.timeouts - timeouts} line(s); those lines gave no value")
        if points or changed:
            with self.store.write():
                if points:
                    self.store.add_points(self.name, job.name, points)
                self.store.update_training_job(
                    job.name, final_objective=job.final, best_objective=job.best, last_epoch=job.last_epoch,
                )
        if stop and job.stop_kind is None and job.exited_at is None:
            log(f"stopping {job.name}: the search stopped it early at epoch {job.last_epoch}")
            self._stop_job(job, "pruned")

    def _unregister(self, job: RunningJob) -> None:
        try:
            self.selector.unregister(job.proc.fd)
        except (KeyError, ValueError):
            pass

    # -- process ends -----------------------------------------------------------------------------

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


def _hp_string(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except (BlockingIOError, InterruptedError):
        pass
