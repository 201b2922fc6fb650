"""Local engine overhead: scheduling latency, a training job's fixed start cost, the runner's
own CPU use while jobs train, and (with --reference) the wall time of the reference spec.

Usage: .venv/bin/python bench/engine_overhead.py [--reference] [--skip-quick]
Prints the figures recorded in bench/RESULTS.md. Uses a temporary HPO_TUI_HOME.
"""

from __future__ import annotations

import argparse
import os
import selectors
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["HPO_TUI_HOME"] = tempfile.mkdtemp(prefix="hpo-bench-")

from hpo_tui import paths  # noqa: E402
from hpo_tui.backends.local import LocalBackend  # noqa: E402
from hpo_tui.data import prepare_mnist  # noqa: E402
from hpo_tui.engine import executor  # noqa: E402
from hpo_tui.engine.store import Store  # noqa: E402
from hpo_tui.spec import (  # noqa: E402
    CategoricalParameter,
    Channels,
    ContinuousParameter,
    Estimator,
    IntegerParameter,
    TuningSpec,
)

CLK_TCK = os.sysconf("SC_CLK_TCK")

# A training script that only says when it started and when it is about to exit.
MARKER_SCRIPT = """\
import time
print("start %.6f" % time.time(), flush=True)
print("end %.6f" % time.time(), flush=True)
"""


def wait_terminal(backend: LocalBackend, name: str, poll: float = 0.2):
    while True:
        snap = backend.poll(name)
        if snap.tuning_job.is_terminal:
            return snap
        time.sleep(poll)


def channels() -> Channels:
    root = prepare_mnist()
    return Channels(train=str(root / "train"), test=str(root / "test"))


def scheduling_latency(jobs: int = 20) -> None:
    """Slot freed (previous job's last instruction) -> next job's process exists (fork)."""
    src = Path(tempfile.mkdtemp(prefix="hpo-bench-src-"))
    (src / "marker.py").write_text(MARKER_SCRIPT)
    spec = TuningSpec(
        estimator=Estimator(entry_point="marker.py", source_dir=str(src), hyperparameters={}),
        ranges={"x": ContinuousParameter(0.0, 1.0)},
        strategy="Random", random_seed=1, max_jobs=jobs, max_parallel_jobs=1,
        channels=Channels(train=str(src), test=str(src)),
    )
    backend = LocalBackend()
    name = backend.launch(spec)
    wait_terminal(backend, name)
    store = Store.reader(paths.store_path())
    rows = store.training_jobs(name)
    store.close()
    ends, starts = [], []
    for row in rows:
        lines = Path(row["log_path"]).read_text().splitlines()
        starts.append(float(next(l for l in lines if l.startswith("start ")).split()[1]))
        ends.append(float(next(l for l in lines if l.startswith("end ")).split()[1]))
    # Previous job's last statement -> the runner calls Popen for the next one.
    decided = [b["started_at"] - e for e, b in zip(ends, rows[1:])]
    # Previous job's last statement -> the next job's first statement (adds fork/exec and
    # the Python interpreter's own start-up, ~20-60 ms here, which any job pays).
    running = [s - e for e, s in zip(ends, starts[1:])]
    print(f"scheduling latency, {len(decided)} hand-overs, 1 slot:")
    print(f"  slot free -> next job's Popen:           median {statistics.median(decided) * 1000:.0f} ms, "
          f"max {max(decided) * 1000:.0f} ms")
    print(f"  slot free -> next job's first statement: median {statistics.median(running) * 1000:.0f} ms, "
          f"max {max(running) * 1000:.0f} ms")


def start_cost(runs: int = 3) -> None:
    """Process start -> first log line, and -> first metric line, for training/mnist.py."""
    ch = channels()
    folder = Path(tempfile.mkdtemp(prefix="hpo-bench-job-"))
    script = paths.training_dir() / "mnist.py"
    hps = {"batch_size": "100", "num_epoch": "1", "learning_rate": "0.1", "optimizer": "sgd",
           "max_train_samples": "3000"}
    firsts, metrics = [], []
    for i in range(runs):
        job_folder = folder / f"job-{i}"
        job_folder.mkdir()
        env = executor.training_env(folder=job_folder, train=ch.train, test=ch.test, hyperparameters=hps,
                                    threads=executor.JOB_THREADS)
        t0 = time.time()
        proc = executor.TrainingProcess.start("bench", executor.training_argv(script, hps), env, job_folder,
                                              job_folder / "train.log")
        sel = selectors.DefaultSelector()
        sel.register(proc.fd, selectors.EVENT_READ)
        first = metric = None
        while not proc.eof:
            sel.select()
            for line in proc.read_lines():
                now = time.time()
                first = first or now
                if metric is None and "Validation-accuracy=" in line:
                    metric = now
        proc.popen.wait()
        proc.close()
        firsts.append(first - t0)
        metrics.append(metric - t0)
    print(f"training job start cost (mnist.py, {runs} runs):")
    print(f"  process start -> first log line: median {statistics.median(firsts):.2f} s "
          f"(min {min(firsts):.2f}, max {max(firsts):.2f})")
    print(f"  process start -> first Validation-accuracy (1 epoch, 3,000 samples): "
          f"median {statistics.median(metrics):.2f} s")


def cpu_seconds(pid: int) -> float:
    raw = Path(f"/proc/{pid}/stat").read_bytes()
    fields = raw[raw.rfind(b")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def runner_cpu(window: float = 30.0) -> None:
    """The runner's own CPU share while 3 real MNIST jobs train."""
    spec = TuningSpec(
        estimator=Estimator(hyperparameters={"batch_size": 100}),
        ranges={"optimizer": CategoricalParameter(["sgd", "Adam"]),
                "learning_rate": ContinuousParameter(0.01, 0.2),
                "num_epoch": IntegerParameter(20, 21)},
        strategy="Random", random_seed=3, max_jobs=3, max_parallel_jobs=3, channels=channels(),
    )
    backend = LocalBackend()
    name = backend.launch(spec)
    while True:
        snap = backend.poll(name)
        if sum(1 for j in snap.training_jobs if j.last_epoch is not None) == 3:
            break  # all three past their first epoch: steady state
        time.sleep(0.5)
    store = Store.reader(paths.store_path())
    runner = store.tuning_job(name)["runner_pid"]
    store.close()
    c0, t0 = cpu_seconds(runner), time.monotonic()
    points0 = backend.poll(name).cursor
    time.sleep(window)
    c1, t1 = cpu_seconds(runner), time.monotonic()
    points1 = backend.poll(name).cursor
    backend.stop(name)
    wait_terminal(backend, name)
    share = (c1 - c0) / (t1 - t0)
    print(f"runner CPU while 3 MNIST jobs train ({t1 - t0:.0f} s window, {points1 - points0} metric points "
          f"written): {share * 100:.2f}% of one core ({(c1 - c0) * 1000:.0f} ms CPU)")


def reference() -> None:
    """The reference workflow: 9 jobs, 3 parallel, full MNIST, the default ranges."""
    spec = TuningSpec(channels=channels(), random_seed=1)
    backend = LocalBackend()
    t0 = time.monotonic()
    name = backend.launch(spec)
    snap = wait_terminal(backend, name, poll=2.0)
    wall = time.monotonic() - t0
    print(f"reference spec (9 jobs, 3 parallel, {spec.strategy}, full MNIST, num_epoch 10-50): "
          f"{snap.tuning_job.status} in {wall / 60:.1f} min")
    epochs = sum(int(j.hyperparameters["num_epoch"]) for j in snap.training_jobs)
    print(f"  {epochs} epochs in all; best {snap.tuning_job.best_training_job} "
          f"Validation-accuracy={snap.tuning_job.best_objective}")
    for j in snap.training_jobs:
        print(f"  {j.name}  {j.status}/{j.objective_status}  {j.hyperparameters}  "
              f"{j.final_objective}  {(j.ended_at - j.started_at):.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reference", action="store_true", help="also run the reference spec (many minutes)")
    parser.add_argument("--skip-quick", action="store_true", help="only the reference spec")
    args = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    if not args.skip_quick:
        scheduling_latency()
        start_cost()
        runner_cpu()
    if args.reference or args.skip_quick:
        reference()
    return 0


if __name__ == "__main__":
    sys.exit(main())
