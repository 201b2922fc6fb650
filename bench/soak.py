"""Soak of the local engine: random SIGKILLs of runners and of training jobs, each runner
kill followed by `resume`, with the fake trainer and the real one (MXNet on an MNIST subset).

Reports kills, lost results, duplicated jobs, orphan processes and the store's integrity:
- lost: a Completed training job whose recorded objective is not the last value its log
  printed; a job folder on disk with no row in the store; a tuning job that ended
  Completed with fewer counted training jobs than max_jobs;
- duplicated: counted training jobs beyond max_jobs, or two Completed jobs with the same
  hyperparameters (Random search over continuous ranges never repeats);
- orphans: processes of this home still alive once their tuning job has ended;
- integrity: SQLite's integrity_check of the store at the end.

With --long-jobs, the fake trainer's jobs run for seconds and go on through a closed
stdout (as MXNet's logging does), so an unrecorded or escaped process would keep running;
kills come at any moment, some right as a job is being spawned. Every 100 ms a sampler
reads the live training processes (by their environment marker) against the store:
- untracked: a live training process whose training job has no row in the store;
- concurrent: training jobs of one tuning job with a live process, against max_parallel_jobs.

Usage: .venv/bin/python bench/soak.py [--kills 200] [--real-kills 10] [--seed 1] [--long-jobs]
Uses a temporary HPO_TUI_HOME unless one is set. tests/engine/test_soak.py runs a short one.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
FAKE_TRAIN = ROOT / "tests" / "engine" / "fake_train.py"
LAST_OBJECTIVE = re.compile(rb"Validation-accuracy=([0-9.]+)")


def _spec(trainer: str, channels: tuple[str, str] | None, seed: int) -> Any:
    from hpo_tui.spec import CategoricalParameter, Channels, ContinuousParameter, Estimator, TuningSpec

    if trainer == "long":
        estimator = Estimator(entry_point=FAKE_TRAIN.name, source_dir=str(FAKE_TRAIN.parent),
                              hyperparameters={"num_epoch": 20, "sleep": 0.2, "keep_going": 1},
                              base_job_name="soaklong")
        max_jobs = 6
    elif trainer == "fake":
        estimator = Estimator(entry_point=FAKE_TRAIN.name, source_dir=str(FAKE_TRAIN.parent),
                              hyperparameters={"num_epoch": 4, "sleep": 0.3}, base_job_name="soak")
        max_jobs = 6
    else:
        estimator = Estimator(hyperparameters={"num_epoch": 2, "max_train_samples": 2000, "batch_size": 100},
                              base_job_name="soakmx")
        max_jobs = 3
    return TuningSpec(
        estimator=estimator,
        ranges={"learning_rate": ContinuousParameter(0.01, 0.2), "optimizer": CategoricalParameter(["sgd", "Adam"])},
        strategy="Random", max_jobs=max_jobs, max_parallel_jobs=2, random_seed=seed,
        channels=Channels(train=channels[0], test=channels[1]) if channels else Channels(),
    )


def _ancestors() -> set[int]:
    """This process and its parents (which may carry HPO_TUI_HOME too: a shell, timeout)."""
    pids, pid = set(), os.getpid()
    while pid > 1 and pid not in pids:
        pids.add(pid)
        try:
            st = Path(f"/proc/{pid}/stat").read_bytes()
        except OSError:
            break
        pid = int(st[st.rfind(b")") + 2:].split()[1])
    return pids


def _home_processes(home: Path) -> list[int]:
    marker = f"HPO_TUI_HOME={home}".encode()
    found = []
    mine = _ancestors()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in mine:
            continue
        try:
            environ = (entry / "environ").read_bytes()
            st = (entry / "stat").read_bytes()
        except OSError:
            continue
        if st[st.rfind(b")") + 2:].startswith(b"Z"):
            continue
        if marker in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def _describe(pid: int) -> str:
    try:
        return f"{pid} " + Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return str(pid)


def _last_logged_objective(log_path: str) -> float | None:
    try:
        data = Path(log_path).read_bytes()
    except OSError:
        return None
    values = LAST_OBJECTIVE.findall(data)
    return float(values[-1]) if values else None


class Sampler(threading.Thread):
    """Every `interval` s: the live training processes of the soak's home, by their marker,
    against the store (is each one's training job recorded?) and against max_parallel_jobs."""

    def __init__(self, home: Path, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.home = home
        self.interval = interval
        self.halt = threading.Event()
        self.figures = dict(samples=0, max_concurrent=0, allowed=0, over_limit_samples=0, untracked=0,
                            mean_interval_ms=0.0)
        self.untracked: set[int] = set()

    def run(self) -> None:
        from hpo_tui import paths
        from hpo_tui.engine import procs
        from hpo_tui.engine.store import Store

        started = time.monotonic()
        while not self.halt.is_set():
            live = procs.marked(f"{self.home}|")
            if live:
                # A fresh reader each time: a connection kept open in this process would share
                # its view of the WAL index with the backend's writer, and both would lose it
                # when a killed runner's files are removed under them.
                store = Store.reader(paths.store_path())
                try:
                    self._sample(store, live)
                finally:
                    store.close()
            self.figures["samples"] += 1
            self.halt.wait(self.interval)
        if self.figures["samples"]:
            self.figures["mean_interval_ms"] = round(
                1000 * (time.monotonic() - started) / self.figures["samples"], 1)

    def _sample(self, store: Any, live: dict[int, str]) -> None:
        from hpo_tui.backends.local import views
        from hpo_tui.engine.stored_spec import stored_spec

        by_tuning_job: dict[str, set[str]] = {}
        for pid, marker in live.items():
            _, tuning_job, training_job, _ = marker.rsplit("|", 3)
            by_tuning_job.setdefault(tuning_job, set()).add(training_job)
        with store.read():
            for tuning_job, jobs in by_tuning_job.items():
                row = store.tuning_job(tuning_job)
                recorded = {j["name"] for j in store.training_jobs(tuning_job)}
                allowed = views.max_parallel_jobs(stored_spec(row["spec_json"])) if row else 0
                self.figures["allowed"] = max(self.figures["allowed"], allowed)
                self.figures["max_concurrent"] = max(self.figures["max_concurrent"], len(jobs))
                if len(jobs) > allowed:
                    self.figures["over_limit_samples"] += 1
                for pid, marker in live.items():
                    if marker.rsplit("|", 3)[1] == tuning_job and marker.rsplit("|", 3)[2] not in recorded:
                        if pid not in self.untracked:
                            self.untracked.add(pid)
                            self.figures["untracked"] += 1


class Soak:
    def __init__(self, seed: int, say: Callable[[str], None]) -> None:
        from hpo_tui.backends.local import LocalBackend

        self.rng = random.Random(seed)
        self.backend = LocalBackend()
        self.say = say
        self.home = Path(os.environ["HPO_TUI_HOME"])
        self.figures = dict(kills=0, runner_kills=0, job_kills=0, resumes=0, resume_retries=0, tuning_jobs=0, training_jobs=0,
                            lost=0, duplicated=0, orphans=0)

    def _row(self, name: str) -> dict[str, Any]:
        from hpo_tui import paths
        from hpo_tui.engine.store import Store

        store = Store.reader(paths.store_path())
        try:
            return store.tuning_job(name), store.training_jobs(name)
        finally:
            store.close()

    def run_tuning_job(self, trainer: str, kills: int, channels: tuple[str, str] | None) -> None:
        """Launch one tuning job and kill things in it at random until `kills` are spent
        or it ends; then check what it left."""
        from hpo_tui.backends.base import BackendError
        from hpo_tui.engine import procinfo

        name = self.backend.launch(_spec(trainer, channels, self.rng.randrange(1 << 30)))
        self.figures["tuning_jobs"] += 1
        pause = {"fake": (0.3, 1.5), "long": (0.05, 2.5)}.get(trainer, (2.0, 8.0))
        spent = 0
        while True:
            snap = self.backend.poll(name)
            if snap.tuning_job.is_terminal and snap.tuning_job.failure_reason != "runner exited unexpectedly":
                break
            if snap.tuning_job.is_terminal:  # its runner died and was not resumed yet
                try:
                    self._resume(name)
                except BackendError as err:  # nothing is left to run
                    self.say(f"  resume of {name} refused: {err}")
                    break
                continue
            if spent >= kills:
                time.sleep(0.2)
                continue
            time.sleep(self.rng.uniform(*pause))
            row, jobs = self._row(name)
            running = [j for j in jobs if j["status"] == "InProgress"
                       and procinfo.is_alive(j["pid"], j["pid_start_time"])]
            if self.rng.random() < 0.5 or not running:
                pid, started = row["runner_pid"], row["runner_start_time"]
                if not procinfo.is_alive(pid, started):
                    continue
                os.kill(pid, signal.SIGKILL)
                self._wait_dead(pid, started)
                self.figures["runner_kills"] += 1
                spent += 1
                try:
                    self._resume(name)
                except BackendError as err:  # it had just ended, or nothing is left to run
                    self.say(f"  resume of {name} refused: {err}")
            else:
                job = self.rng.choice(running)
                try:
                    os.kill(job["pid"], signal.SIGKILL)
                except ProcessLookupError:
                    continue
                self.figures["job_kills"] += 1
                spent += 1
        self.figures["kills"] += spent
        self._check(name)

    def _resume(self, name: str) -> None:
        from hpo_tui.backends.base import BackendError

        # Right after a SIGKILL, a training job forked by the dead runner may still hold its
        # lock for the moment between fork and exec: a user would retry, and so do we.
        for attempt in range(20):
            try:
                self.backend.resume(name)
                break
            except BackendError as err:
                if "already has a running runner" not in str(err) or attempt == 19:
                    raise
                self.figures["resume_retries"] += 1
                time.sleep(0.25)
        self.figures["resumes"] += 1

    def _wait_dead(self, pid: int, started: int | None) -> None:
        from hpo_tui.engine import procinfo

        deadline = time.monotonic() + 30
        while procinfo.is_alive(pid, started) and time.monotonic() < deadline:
            self.backend._reap_children()  # our own runners become zombies until reaped
            time.sleep(0.02)

    def _check(self, name: str) -> None:
        from hpo_tui import paths

        row, jobs = self._row(name)
        self.figures["training_jobs"] += len(jobs)
        counted = [j for j in jobs if not j["retryable"]]
        if len(counted) > row["max_jobs"]:
            self.figures["duplicated"] += len(counted) - row["max_jobs"]
        completed = [j for j in jobs if j["status"] == "Completed"]
        seen = set()
        for j in completed:
            key = j["hyperparameters"]
            if key in seen:
                self.figures["duplicated"] += 1
            seen.add(key)
            logged = _last_logged_objective(j["log_path"])
            if logged is None or j["final_objective"] is None or abs(logged - j["final_objective"]) > 1e-9:
                self.say(f"  lost: {j['name']} logged {logged}, recorded {j['final_objective']}")
                self.figures["lost"] += 1
        if row["status"] == "Completed" and len(counted) < row["max_jobs"] and not row["completion_reason"]:
            self.say(f"  lost: {name} Completed with {len(counted)} of {row['max_jobs']} jobs")
            self.figures["lost"] += row["max_jobs"] - len(counted)
        names = {j["name"] for j in jobs}
        for folder in (paths.jobs_dir() / name).iterdir():
            if folder.is_dir() and folder.name not in names:
                self.say(f"  lost: {folder.name} ran with no record")
                self.figures["lost"] += 1
        # Once the tuning job has ended, nothing of it may be left running.
        deadline = time.monotonic() + 15
        while _home_processes(self.home) and time.monotonic() < deadline:
            self.backend._reap_children()
            time.sleep(0.1)
        left = _home_processes(self.home)
        if left:
            self.say(f"  orphans after {name}: " + "; ".join(_describe(pid) for pid in left))
            self.figures["orphans"] += len(left)
            for pid in left:
                os.kill(pid, signal.SIGKILL)

    def integrity(self) -> str:
        from hpo_tui import paths
        from hpo_tui.engine.store import Store

        store = Store.reader(paths.store_path())
        try:
            return store.conn.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            store.close()


def soak(kills: int, real_kills: int = 0, seed: int = 1, say: Callable[[str], None] = print,
         long_jobs: bool = False) -> dict[str, Any]:
    """Run the soak in the current HPO_TUI_HOME; return its figures."""
    s = Soak(seed, say)
    sampler = Sampler(s.home)
    sampler.start()
    start = time.monotonic()
    channels = None
    while s.figures["kills"] < real_kills:
        if channels is None:
            from hpo_tui.data import prepare_mnist

            root = prepare_mnist()
            channels = (str(root / "train"), str(root / "test"))
        s.run_tuning_job("real", min(3, real_kills - s.figures["kills"]), channels)
        say(f"real trainer: {s.figures['kills']} kills so far")
    real_done = s.figures["kills"]
    while s.figures["kills"] < real_done + kills:
        s.run_tuning_job("long" if long_jobs else "fake",
                         min(6 if long_jobs else 4, real_done + kills - s.figures["kills"]), None)
        if s.figures["tuning_jobs"] % 10 == 0:
            say(f"fake trainer: {s.figures['kills'] - real_done} kills so far")
    s.backend.close()
    sampler.halt.set()
    sampler.join()
    figures = dict(s.figures, real_trainer_kills=real_done, fake_trainer_kills=s.figures["kills"] - real_done,
                   integrity=s.integrity(), seconds=round(time.monotonic() - start, 1),
                   long_jobs=long_jobs, **{f"sampled_{k}": v for k, v in sampler.figures.items()})
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=200, help="kills with the fake trainer")
    parser.add_argument("--real-kills", type=int, default=10, help="kills with the real MXNet trainer")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--long-jobs", action="store_true",
                        help="fake jobs of seconds that outlive a closed stdout, killed at any moment")
    args = parser.parse_args()
    os.environ.setdefault("HPO_TUI_HOME", tempfile.mkdtemp(prefix="hpo-soak-"))
    os.environ.setdefault("HPO_TUI_STOP_GRACE", "1")
    sys.path.insert(0, str(ROOT))
    print(f"load average before: {Path('/proc/loadavg').read_text().strip()}")
    figures = soak(args.kills, args.real_kills, args.seed, long_jobs=args.long_jobs)
    print(json.dumps(figures, indent=2))
    print(f"load average after: {Path('/proc/loadavg').read_text().strip()}")
    ok = (figures["lost"] == figures["duplicated"] == figures["orphans"] == 0 and figures["integrity"] == "ok"
          and figures["sampled_untracked"] == figures["sampled_over_limit_samples"] == 0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
