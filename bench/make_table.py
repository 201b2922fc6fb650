"""Tabulate the reference search space: real training runs whose learning curves the replay answers from.

Each run is training/mnist.py on full MNIST (the channels hpo_tui.data writes), 50 epochs,
batch_size 100, the MLP, seeded through the script's own HPO_TUI_TRAINING_SEED; it is started
the way the local engine starts a job (executor.training_argv / training_env, one thread).
The grid: optimizer sgd | adam x LEARNING_RATES (16 log-spaced in [0.01, 0.2]) x training
seeds 1-3, seed-major and coarse to fine in the rate, so a partial table already spans the
space at seed 1.

A job of n epochs is the first n epochs of a 50-epoch run: nothing in the script depends on
num_epoch (no learning-rate schedule, no epoch-dependent batch order), so the first n
epochs of a seeded 50-epoch run are the epochs an n-epoch run trains.

Every finished run is appended to the data file as one JSON line (its per-epoch
Validation-accuracy and Time cost, wall time, CPU time, exit code, failure line, the commit,
date, machine and load average), and runs already in the file are skipped, so the script
can be stopped and started again without losing anything. The first line describes the grid.

Run it niced, 2 runs at a time at most (the machine's 2 cores are shared):
  nice -n 19 .venv/bin/python bench/make_table.py            # all of it, resumable
  .venv/bin/python bench/make_table.py --status               # how far it has got
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hpo_tui.data import prepare_mnist  # noqa: E402
from hpo_tui.engine import executor  # noqa: E402

SCRIPT = ROOT / "training" / "mnist.py"
TABLE = ROOT / "bench" / "data" / "mnist_table.jsonl"
EPOCHS = 50
BATCH_SIZE = 100
OPTIMIZERS = ("sgd", "adam")
LEARNING_RATES = tuple(float(f"{lr:.6g}") for lr in np.geomspace(0.01, 0.2, 16))
SEEDS = (1, 2, 3)


# Coarse to fine: the ends, then ever finer fillings, so a stopped table still spans the
# whole range at each seed (the replay interpolates between whatever rates are there).
RATE_ORDER = (0, 15, 5, 10, 2, 7, 12, 3, 8, 13, 1, 4, 6, 9, 11, 14)


def grid() -> list[tuple[int, str, float]]:
    return [(seed, opt, LEARNING_RATES[i]) for seed in SEEDS for i in RATE_ORDER for opt in OPTIMIZERS]


def key(seed: int, optimizer: str, lr: float) -> tuple[int, str, float]:
    return (int(seed), optimizer.lower(), float(f"{lr:.6g}"))


def read_table(path: Path) -> tuple[dict | None, list[dict]]:
    """(header, runs) from a table file; a torn last line (a stop mid-write) is ignored."""
    header, runs = None, []
    if not path.exists():
        return header, runs
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if "grid" in record:
            header = header or record
        elif "validation_accuracy" in record:
            runs.append(record)
    return header, runs


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "training"],
                               capture_output=True, text=True).stdout.strip()
        return out + ("+dirty-training" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as fh:
            model = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{platform.machine()}, {model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def run_one(channels: Path, seed: int, optimizer: str, lr: float, epochs: int = EPOCHS) -> dict:
    hps = {"batch_size": str(BATCH_SIZE), "num_epoch": str(epochs),
           "learning_rate": repr(lr), "optimizer": optimizer}
    with tempfile.TemporaryDirectory(prefix="hpo-table-") as tmp:
        folder = Path(tmp)
        env = executor.training_env(folder=folder, train=str(channels / "train"), test=str(channels / "test"),
                                    hyperparameters=hps, threads=executor.JOB_THREADS, seed=seed)
        started = time.time()
        proc = subprocess.Popen(executor.training_argv(SCRIPT, hps), cwd=folder, env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert proc.stdout is not None
        output = proc.stdout.read().decode("utf-8", "replace")
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.time() - started
    accuracies = [float(v) for v in re.findall(r"Epoch\[\d+\] Validation-accuracy=([0-9.eE+-]+)", output)]
    times = [float(v) for v in re.findall(r"Epoch\[\d+\] Time cost=([0-9.eE+-]+)", output)]
    failure = None
    if proc.returncode != 0:
        lines = [ln for ln in output.splitlines() if ln.strip()]
        failure = lines[-1][:300] if lines else f"exit code {proc.returncode}"
    return {
        "seed": seed, "optimizer": optimizer, "learning_rate": lr, "batch_size": BATCH_SIZE,
        "num_epoch": epochs, "validation_accuracy": accuracies, "epoch_seconds": times,
        "wall_seconds": round(wall, 3), "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3),
        "exit_code": proc.returncode, "failure": failure, "commit": git_commit(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "load_average": os.getloadavg()[0],
    }


HELDOUT = ROOT / "bench" / "data" / "mnist_heldout.jsonl"


def heldout_configs(count: int = 10) -> list[tuple[int, str, float, int]]:
    """(training seed, optimizer, learning rate, num_epoch) of the held-out check: drawn once
    from a fixed generator, rates log-uniform in [0.01, 0.2] (off the grid), seeds not in it."""
    rng = np.random.default_rng(20261207)
    out = []
    for i in range(count):
        optimizer = OPTIMIZERS[int(rng.integers(0, len(OPTIMIZERS)))]
        lr = float(f"{math.exp(rng.uniform(math.log(0.01), math.log(0.2))):.6g}")
        out.append((1000 + i, optimizer, lr, int(rng.integers(10, EPOCHS + 1))))
    return out


def heldout(path: Path, parallel: int) -> int:
    """Run the held-out configurations for real (resumable, like the table) and compare."""
    _, runs = read_table(path)
    done = {(r["seed"], r["optimizer"], r["learning_rate"], r["num_epoch"]) for r in runs}
    # Shortest first: on a busy machine a stopped check still has as many runs as it could.
    todo = sorted((c for c in heldout_configs() if c not in done), key=lambda c: c[3])
    print(f"held-out check: {len(done)} done, {len(todo)} to go", flush=True)
    if todo:
        channels = prepare_mnist()
        lock = threading.Lock()

        def work(item: tuple[int, str, float, int]) -> None:
            record = run_one(channels, *item)
            with lock, path.open("a") as fh:
                fh.write(json.dumps(record) + "\n")
            print(f"held-out {item}: {record['validation_accuracy'][-1:]} exit {record['exit_code']}", flush=True)

        with ThreadPoolExecutor(max_workers=max(1, min(2, parallel))) as pool:
            for future in [pool.submit(work, item) for item in todo]:
                future.result()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", type=Path, default=TABLE, help="data file (JSON lines), appended to")
    parser.add_argument("--parallel", type=int, default=2, help="runs at once (default 2, at most 2)")
    parser.add_argument("--status", action="store_true", help="print how many runs are done and exit")
    parser.add_argument("--heldout", action="store_true",
                        help=f"run the 10 held-out configurations instead, into {HELDOUT.name}")
    args = parser.parse_args()
    if args.heldout:
        return heldout(HELDOUT, args.parallel)
    header, runs = read_table(args.table)
    done = {key(r["seed"], r["optimizer"], r["learning_rate"]) for r in runs}
    todo = [g for g in grid() if key(*g) not in done]
    print(f"{len(done)} of {len(grid())} runs in {args.table.name}; {len(todo)} to go", flush=True)
    if args.status or not todo:
        return 0
    channels = prepare_mnist()
    args.table.parent.mkdir(parents=True, exist_ok=True)
    lock = threading.Lock()
    if header is None:
        with args.table.open("a") as fh:
            fh.write(json.dumps({
                "grid": {"optimizers": list(OPTIMIZERS), "learning_rates": list(LEARNING_RATES),
                         "seeds": list(SEEDS), "epochs": EPOCHS, "batch_size": BATCH_SIZE, "model": "mlp",
                         "data": "full MNIST (60,000 train / 10,000 validation)"},
                "script": "bench/make_table.py", "machine": machine(), "commit": git_commit(),
                "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "threads_per_run": executor.JOB_THREADS, "parallel": args.parallel,
            }) + "\n")

    def work(item: tuple[int, str, float]) -> None:
        record = run_one(channels, *item)
        with lock, args.table.open("a") as fh:
            fh.write(json.dumps(record) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        final = record["validation_accuracy"][-1] if record["validation_accuracy"] else None
        print(f"{record['date']} seed {item[0]} {item[1]:<4} lr {item[2]:<9g} epochs {len(record['validation_accuracy'])}"
              f" final {final} wall {record['wall_seconds']:.0f} s exit {record['exit_code']}", flush=True)

    with ThreadPoolExecutor(max_workers=max(1, min(2, args.parallel))) as pool:
        for future in [pool.submit(work, item) for item in todo]:
            future.result()
    return 0


if __name__ == "__main__":
    sys.exit(main())
