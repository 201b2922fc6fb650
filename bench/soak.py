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

Usage: .venv/bin/python bench/soak.py [--kills 200] [--real-kills 10] [--seed 1]
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
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
FAKE_TRAIN = ROOT / "tests" / "engine" / "fake_train.py"
LAST_OBJECTIVE = re.compile(rb"Validation-accuracy=([0-9.]+)")


def _spec(trainer: str, channels: tuple[str, str] | None, seed: int) -> Any:
    from hpo_tui.spec import CategoricalParameter, Channels, ContinuousParameter, Estimator, TuningSpec

    if trainer == "fake":
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
        pause = (0.3, 1.5) if trainer == "fake" else (2.0, 8.0)
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


def soak(kills: int, real_kills: int = 0, seed: int = 1, say: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the soak in the current HPO_TUI_HOME; return its figures."""
    s = Soak(seed, say)
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
        s.run_tuning_job("fake", min(4, real_done + kills - s.figures["kills"]), None)
        if s.figures["tuning_jobs"] % 10 == 0:
            say(f"fake trainer: {s.figures['kills'] - real_done} kills so far")
    s.backend.close()
    figures = dict(s.figures, real_trainer_kills=real_done, fake_trainer_kills=s.figures["kills"] - real_done,
                   integrity=s.integrity(), seconds=round(time.monotonic() - start, 1))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=200, help="kills with the fake trainer")
    parser.add_argument("--real-kills", type=int, default=10, help="kills with the real MXNet trainer")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("HPO_TUI_HOME", tempfile.mkdtemp(prefix="hpo-soak-"))
    os.environ.setdefault("HPO_TUI_STOP_GRACE", "1")
    sys.path.insert(0, str(ROOT))
    print(f"load average before: {Path('/proc/loadavg').read_text().strip()}")
    figures = soak(args.kills, args.real_kills, args.seed)
    print(json.dumps(figures, indent=2))
    print(f"load average after: {Path('/proc/loadavg').read_text().strip()}")
    ok = figures["lost"] == figures["duplicated"] == figures["orphans"] == 0 and figures["integrity"] == "ok"
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
