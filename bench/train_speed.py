"""Training speed of training/mnist.py (reference MLP, full MNIST): seconds/epoch, FLOP rate vs GEMM peak, peak RSS.

Also the full-data reference run (10 epochs, SGD, lr 0.1, batch 100), whose final
Validation-accuracy must reach 0.97. Prints the figures recorded in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hpo_tui.data import prepare_mnist  # noqa: E402

SCRIPT = ROOT / "training" / "mnist.py"
TRAIN_SAMPLES = 60_000
# Multiply-adds per sample of the 784-128-64-10 MLP; forward + backward ~ 3 x 2 FLOP each.
MLP_MACS = 784 * 128 + 128 * 64 + 64 * 10
FLOP_PER_SAMPLE = 3 * 2 * MLP_MACS


def gemm_peak(n: int = 2048, repeats: int = 5) -> float:
    """Best float32 matrix-multiply rate of numpy's BLAS on this machine, in GFLOP/s."""
    a = np.random.rand(n, n).astype(np.float32)
    b = np.random.rand(n, n).astype(np.float32)
    a @ b  # warm-up: thread pool start, page faults
    best = float("inf")
    for _ in range(repeats):
        tic = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - tic)
    return 2 * n**3 / best / 1e9


# Runs the script in-process under a wrapper that records its own peak RSS at exit.
# getrusage(RUSAGE_CHILDREN) / wait4 cannot be used: Linux carries the parent's peak
# RSS over fork + exec into the child's ru_maxrss, so every run would report this
# benchmark's own (larger) peak. VmHWM belongs to the new address space only.
_PEAK_RSS_WRAPPER = """
import atexit, runpy, sys
def _report(path=sys.argv[1]):
    with open('/proc/self/status') as status, open(path, 'w') as out:
        out.write(next(line.split()[1] for line in status if line.startswith('VmHWM')))
atexit.register(_report)
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name='__main__')
"""


def run_training(channels: Path, work: Path, args: list[str], threads: int | None = None) -> dict:
    """Run the real script; return epoch times, final accuracy and its peak RSS (MiB)."""
    env = dict(os.environ)
    env.update(
        SM_CHANNEL_TRAIN=str(channels / "train"),
        SM_CHANNEL_TEST=str(channels / "test"),
        SM_MODEL_DIR=str(work / "model"),
        SM_HOSTS='["algo-1"]',
        SM_CURRENT_HOST="algo-1",
        SM_NUM_GPUS="0",
    )
    if threads is not None:
        env.update(OMP_NUM_THREADS=str(threads), MXNET_CPU_WORKER_NTHREADS=str(threads))
    peak_path = work / "vmhwm-kib"
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS_WRAPPER, str(peak_path), str(SCRIPT), *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"training run {args} failed:\n{proc.stdout}")
    times = [float(v) for v in re.findall(r"Time cost=([0-9.]+)", proc.stdout)]
    accuracies = [float(v) for v in re.findall(r"Validation-accuracy=([0-9.]+)", proc.stdout)]
    return {"epoch_s": times, "accuracy": accuracies, "rss_mib": int(peak_path.read_text()) / 1024, "wall_s": wall}


def describe(label: str, batch: int, result: dict) -> float:
    # Epoch 0 includes graph building and memory planning; steady state is the rest.
    steady = result["epoch_s"][1:] or result["epoch_s"]
    per_epoch = statistics.median(steady)
    gflops = FLOP_PER_SAMPLE * TRAIN_SAMPLES / per_epoch / 1e9
    print(
        f"{label:<34} batch {batch:>4}: {per_epoch:6.2f} s/epoch (median of {len(steady)}; "
        f"first {result['epoch_s'][0]:.2f} s), {gflops:5.2f} GFLOP/s, peak RSS {result['rss_mib']:.0f} MiB"
    )
    return gflops


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lenet-epochs", type=int, default=0, metavar="N",
                        help="also train the LeNet CNN for N epochs on full MNIST (slow: ~1 min/epoch)")
    options = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, numpy {np.__version__}, "
          f"load average {os.getloadavg()[0]:.2f} (other processes share the cores)")
    print(f"MLP 784-128-64-10: {MLP_MACS:,} multiply-adds/sample, ~{FLOP_PER_SAMPLE:,} FLOP/sample "
          f"forward+backward, {FLOP_PER_SAMPLE * TRAIN_SAMPLES / 1e9:.1f} GFLOP per epoch")
    peak = gemm_peak()
    print(f"numpy float32 GEMM 2048^3 peak: {peak:.1f} GFLOP/s")

    with tempfile.TemporaryDirectory(prefix="hpo-bench-") as tmp:
        tmp_path = Path(tmp)
        tic = time.perf_counter()
        channels = prepare_mnist(tmp_path / "mnist")
        print(f"prepare_mnist (fresh): {time.perf_counter() - tic:.1f} s")
        tic = time.perf_counter()
        prepare_mnist(channels)
        print(f"prepare_mnist (cached): {(time.perf_counter() - tic) * 1000:.1f} ms")

        runs = []
        for label, batch, epochs, threads in (
            ("default threading", 100, 10, None),
            ("default threading", 1000, 4, None),
            ("1 thread (OMP/MXNET_CPU_WORKER=1)", 100, 4, 1),
        ):
            work = tmp_path / f"run-{batch}-{threads}"
            work.mkdir()
            args = ["--batch_size", str(batch), "--num_epoch", str(epochs),
                    "--learning_rate", "0.1", "--optimizer", "sgd"]
            result = run_training(channels, work, args, threads)
            gflops = describe(label, batch, result)
            print(f"{'':<34}             {gflops / peak * 100:.1f}% of the GEMM peak; "
                  f"whole run {result['wall_s']:.1f} s")
            runs.append((batch, threads, result))

        if options.lenet_epochs:
            work = tmp_path / "run-lenet"
            work.mkdir()
            args = ["--model", "lenet", "--batch_size", "100", "--num_epoch", str(options.lenet_epochs),
                    "--learning_rate", "0.1", "--optimizer", "sgd"]
            lenet = run_training(channels, work, args)
            steady = lenet["epoch_s"][1:] or lenet["epoch_s"]
            print(f"LeNet, sgd lr 0.1, batch 100: {statistics.median(steady):.1f} s/epoch, peak RSS "
                  f"{lenet['rss_mib']:.0f} MiB, Validation-accuracy per epoch "
                  + " ".join(f"{a:.4f}" for a in lenet["accuracy"]))

    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    reference = runs[0][2]
    final = reference["accuracy"][-1]
    print("reference run (10 epochs, sgd, lr 0.1, batch 100, no momentum): Validation-accuracy per epoch "
          + " ".join(f"{a:.4f}" for a in reference["accuracy"]))
    verdict = "OK" if final >= 0.97 else "BELOW 0.97"
    print(f"final Validation-accuracy {final:.4f} ({verdict})")
    return 0 if final >= 0.97 else 1


if __name__ == "__main__":
    sys.exit(main())
