"""The runner of one local tuning job: a detached process that asks the search for
hyperparameters, runs training jobs in parallel slots, extracts their metrics, and writes
its tuning job's rows while it lives (who else writes: hpo_tui.backends.local). How jobs
and the run end is in runner_ends; its process is `python -m hpo_tui.engine.runner_main
NAME` (signals, the runner lock, failure handling).

It runs a spec that was validated at launch: nothing here checks it again.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import time
from pathlib import Path
from typing import Any

from hpo_tui import paths
from hpo_tui.views import TERMINAL_STATUSES, clip_reason, is_better
from hpo_tui.engine import executor, procinfo, procs, slots
from hpo_tui.engine.stalls import StallWatch
from hpo_tui.engine.metrics import MATCH_TIMEOUT, MetricExtractor
from hpo_tui.engine.runner_ends import PIPE_DRAIN_GRACE, JobEnds, RunningJob
from hpo_tui.engine.runner_files import HEARTBEAT_INTERVAL, RUNNER_DIED, beat, log, stop_grace
from hpo_tui.engine.runner_files import lock_path  # noqa: F401 (re-exported for older imports)
from hpo_tui.engine.store import Store
from hpo_tui.engine.stored_spec import spec_from_json
from hpo_tui.errors import UserError

SLOT_RETRY = 0.25  # seconds between tries for a machine slot when all are taken


class Runner(JobEnds):
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
                runner_pgid=os.getpgid(0), max_epochs=max_epochs, job_slots=self.parallel,
            )
            stop_requested = self.store.tuning_job(self.name)["stop_requested"]
        if stop_requested:
            self.stop_signalled = True

        self.train_channel, self.test_channel = self._channels()

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
        """The channel folders: the spec's (absolute, checked at launch), else the packaged
        MNIST data, prepared now."""
        train, test = self.spec.channels.train, self.spec.channels.test
        if train is None or test is None:
            from hpo_tui.data import prepare_mnist

            root = prepare_mnist()
            train = train or str(root / "train")
            test = test or str(root / "test")
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
            seed=None if self.spec.random_seed is None else executor.training_seed(self.spec.random_seed, index),
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
