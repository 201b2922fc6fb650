"""Training speed of training/mnist.py (reference MLP, full MNIST): seconds/epoch, FLOP rate vs GEMM peak, peak RSS.

Each job runs as the local engine runs it (one thread). With --baseline REV the script as of
that git revision runs side by side (batch 100 and 1000, then a same-seed 3-epoch accuracy
comparison, and a denormal-prone Adam job at lr 0.05). Also one job with 1 and 2 threads (the
thread policy), and the full-data reference run (10 epochs, SGD, lr 0.1, batch 100), whose
final Validation-accuracy must reach 0.97. The GEMM peak is the best of every OpenBLAS kernel
the CPU allows. Prints the figures recorded in bench/RESULTS.md.

Usage: .venv/bin/python bench/train_speed.py [--baseline 69e8a83] [--lenet-epochs N]
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


# Runs the script in this process under a wrapper that records its own peak RSS at exit and,
# given a seed, seeds NumPy (batch order) and MXNet (initial weights) first.
# getrusage(RUSAGE_CHILDREN) / wait4 cannot be used: Linux carries the parent's peak
# RSS over fork + exec into the child's ru_maxrss, so every run would report this
# benchmark's own (larger) peak. VmHWM belongs to the new address space only.
_WRAPPER = """
import atexit, sys
def _report(path=sys.argv[1]):
    with open('/proc/self/status') as status, open(path, 'w') as out:
        out.write(next(line.split()[1] for line in status if line.startswith('VmHWM')))
atexit.register(_report)
import time, numpy
_permutation = numpy.random.permutation
def _epoch_start(*args, **kwargs):
    # Both the old and the new script draw one permutation at the start of every epoch.
    print("bench: epoch start, process CPU %.4f" % time.process_time(), flush=True)
    return _permutation(*args, **kwargs)
numpy.random.permutation = _epoch_start
seed, script = int(sys.argv[2]), sys.argv[3]
module = {'__name__': 'mnist_bench', '__file__': script, '__builtins__': __builtins__}
with open(script) as fh:
    exec(compile(fh.read(), script, 'exec'), module)  # the script's NumPy shim comes first
if seed >= 0:
    import mxnet, numpy
    numpy.random.seed(seed)
    mxnet.random.seed(seed)
sys.argv = sys.argv[3:]
sys.exit(module['main'](sys.argv[1:]))
"""


def run_training(channels: Path, work: Path, args: list[str], threads: int | None = None,
                 script: Path = SCRIPT, seed: int = -1) -> dict:
    """Run a training script; return epoch times, accuracies and its peak RSS (MiB)."""
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
        [sys.executable, "-c", _WRAPPER, str(peak_path), str(seed), str(script), *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=work,
    )
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"training run {args} failed:\n{proc.stdout}")
    times = [float(v) for v in re.findall(r"Time cost=([0-9.]+)", proc.stdout)]
    accuracies = [float(v) for v in re.findall(r"Validation-accuracy=([0-9.]+)", proc.stdout)]
    cpu = [float(v) for v in re.findall(r"bench: epoch start, process CPU ([0-9.]+)", proc.stdout)]
    return {"epoch_s": times, "epoch_cpu": [b - a for a, b in zip(cpu, cpu[1:])], "accuracy": accuracies, "rss_mib": int(peak_path.read_text()) / 1024, "wall_s": wall}


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


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as fh:
            return set(next(line for line in fh if line.startswith("flags")).split(":", 1)[1].split())
    except (OSError, StopIteration):
        return set()


def gemm_peaks() -> tuple[float, float, str]:
    """(best rate on all cores, best rate with one thread, OpenBLAS kernel) in GFLOP/s.

    Each is measured in a fresh process, with OpenBLAS's own choice of kernel and with each
    kernel the CPU's flags allow. OpenBLAS falls back to its generic "Prescott" kernel on CPUs
    newer than it knows (seen here: a third of the rate), which would make a poor peak.
    """
    kernels = [""]
    flags = _cpu_flags()
    if {"avx2", "fma"} <= flags:
        kernels.append("Haswell")
    if {"avx512f", "avx512bw", "avx512vl"} <= flags:
        kernels.append("SkylakeX")
    code = "import sys; sys.path.insert(0, sys.argv[1]); import train_speed; print(train_speed.gemm_peak())"
    best: dict[str, tuple[float, str]] = {}
    for threads in ("all", "1"):
        for kernel in kernels:
            env = dict(os.environ)
            for name in ("OPENBLAS_CORETYPE", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
                env.pop(name, None)
            if kernel:
                env["OPENBLAS_CORETYPE"] = kernel
            if threads == "1":
                env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
            out = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent)], env=env,
                                 capture_output=True, text=True, check=True).stdout
            rate, used = float(out.split()[-1]), kernel or "of OpenBLAS's own choice"
            print(f"  numpy GEMM, {threads} thread(s), kernel {used}: {rate:.1f} GFLOP/s")
            if rate > best.get(threads, (0.0, ""))[0]:
                best[threads] = (rate, used)
    return best["all"][0], best["1"][0], best["1"][1]


def baseline_script(rev: str, folder: Path) -> Path:
    """training/mnist.py as it was at git revision `rev`, with the modules beside it it imports."""
    names = subprocess.run(["git", "-C", str(ROOT), "ls-tree", "--name-only", rev, "training/"],
                           capture_output=True, text=True, check=True).stdout.split()
    source = folder / f"training-{rev}"
    source.mkdir(parents=True, exist_ok=True)
    for name in (n for n in names if n.endswith(".py")):
        text = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{name}"],
                              capture_output=True, text=True, check=True).stdout
        (source / Path(name).name).write_text(text)
    return source / "mnist.py"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline", metavar="REV",
                        help="also run training/mnist.py as of this git revision, side by side (before/after)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating before/after rounds (default 3)")
    parser.add_argument("--lenet-epochs", type=int, default=0, metavar="N",
                        help="also train the LeNet CNN for N epochs on full MNIST (slow: ~1 min/epoch)")
    options = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M %Z')}, python {sys.version.split()[0]}, {os.cpu_count()} cores, "
          f"numpy {np.__version__}, load average {Path('/proc/loadavg').read_text().strip()}")
    print(f"MLP 784-128-64-10: {MLP_MACS:,} multiply-adds/sample, ~{FLOP_PER_SAMPLE:,} FLOP/sample "
          f"forward+backward, {FLOP_PER_SAMPLE * TRAIN_SAMPLES / 1e9:.1f} GFLOP per epoch")
    peak, peak1, kernel = gemm_peaks()
    print(f"numpy float32 GEMM 2048^3 peak: {peak:.1f} GFLOP/s ({os.cpu_count()} cores), "
          f"{peak1:.1f} GFLOP/s (1 thread, kernel {kernel})")

    with tempfile.TemporaryDirectory(prefix="hpo-bench-") as tmp:
        tmp_path = Path(tmp)
        tic = time.perf_counter()
        channels = prepare_mnist(tmp_path / "mnist")
        print(f"prepare_mnist (fresh): {time.perf_counter() - tic:.1f} s")
        tic = time.perf_counter()
        prepare_mnist(channels)
        print(f"prepare_mnist (cached): {(time.perf_counter() - tic) * 1000:.1f} ms")

        scripts = [("after", SCRIPT)]
        if options.baseline:
            scripts.insert(0, (f"before ({options.baseline})", baseline_script(options.baseline, tmp_path)))
        print(f"each run as the local engine runs a job: 1 thread; {options.rounds} rounds, before and after "
              "alternating, so both see the same load. s/epoch = the script's own Time cost (training + "
              "validation); CPU = the process's CPU seconds per epoch; medians over epochs 1..n of all rounds")
        results: dict[tuple[str, int], list[dict]] = {}
        for round_ in range(options.rounds):
            for batch in (100, 1000):
                for label, script in scripts:
                    work = tmp_path / f"run-{round_}-{batch}-{len(results)}-{label[:5]}"
                    work.mkdir()
                    args = ["--batch_size", str(batch), "--num_epoch", "4", "--learning_rate", "0.1", "--optimizer", "sgd"]
                    results.setdefault((label, batch), []).append(run_training(channels, work, args, 1, script))
        per_epoch: dict[tuple[str, int], tuple[float, float]] = {}
        for (label, batch), runs in results.items():
            wall = statistics.median(t for r in runs for t in r["epoch_s"][1:])
            cpu = statistics.median(t for r in runs for t in r["epoch_cpu"])
            per_epoch[(label, batch)] = (wall, cpu)
            gflops = FLOP_PER_SAMPLE * TRAIN_SAMPLES / wall / 1e9
            gflops_cpu = FLOP_PER_SAMPLE * TRAIN_SAMPLES / cpu / 1e9
            print(f"{label:<18} batch {batch:>4}: {wall:5.2f} s/epoch = {gflops:5.1f} GFLOP/s = "
                  f"{gflops / peak1 * 100:4.1f}% of the 1-thread GEMM peak ({gflops / peak * 100:4.1f}% of the "
                  f"{os.cpu_count()}-core peak); CPU {cpu:5.2f} s/epoch = {gflops_cpu / peak1 * 100:4.1f}% of the "
                  f"1-thread peak; peak RSS {max(r['rss_mib'] for r in runs):.0f} MiB")
        if options.baseline:
            for batch in (100, 1000):
                (bw, bc), (aw, ac) = per_epoch[(scripts[0][0], batch)], per_epoch[("after", batch)]
                print(f"batch {batch:>4}: before {bw:.3f} s/epoch, after {aw:.3f} s/epoch: {bw / aw:.2f}x faster; "
                      f"CPU {bc:.3f} -> {ac:.3f} s/epoch: {bc / ac:.2f}x less")

        # The thread policy: one job alone, with 1 thread and with 2 (what cores // parallel gave it).
        for round_ in range(options.rounds):
            for threads in (1, 2):
                work = tmp_path / f"threads-{round_}-{threads}"
                work.mkdir()
                args = ["--batch_size", "100", "--num_epoch", "3", "--learning_rate", "0.1", "--optimizer", "sgd"]
                results.setdefault(("threads", threads), []).append(run_training(channels, work, args, threads))
        for threads in (1, 2):
            runs = results[("threads", threads)]
            wall = statistics.median(t for r in runs for t in r["epoch_s"][1:])
            cpu = statistics.median(t for r in runs for t in r["epoch_cpu"])
            print(f"after, one job alone, {threads} thread(s), batch 100: {wall:.2f} s/epoch, CPU {cpu:.2f} s/epoch")

        if options.baseline:
            # Same seed, 3 epochs, full data: the accuracy must match within 0.3 pp.
            accuracies = []
            for label, script in scripts:
                work = tmp_path / f"parity-{len(accuracies)}"
                work.mkdir()
                args = ["--batch_size", "100", "--num_epoch", "3", "--learning_rate", "0.1", "--optimizer", "sgd"]
                result = run_training(channels, work, args, 1, script, seed=1)
                accuracies.append(result["accuracy"])
                print(f"parity, seed 1, 3 epochs, full data, {label}: Validation-accuracy "
                      + " ".join(f"{a:.4f}" for a in result["accuracy"]))
            gap = max(abs(a - b) for a, b in zip(*accuracies)) * 100
            print(f"largest difference {gap:.2f} pp ({'OK' if gap <= 0.3 else 'MORE THAN 0.3 pp'})")

        if options.baseline:
            # A job whose units die: Adam at a high learning rate fills its optimizer state with
            # denormal floats, which the after script flushes to zero. Same seed in both.
            for round_ in range(options.rounds):
                for label, script in scripts:
                    work = tmp_path / f"denormal-{round_}-{label[:5]}"
                    work.mkdir()
                    args = ["--batch_size", "100", "--num_epoch", "4", "--learning_rate", "0.05", "--optimizer", "adam"]
                    results.setdefault(("adam", label), []).append(run_training(channels, work, args, 1, script, seed=1))
            for label, _ in scripts:
                runs = results[("adam", label)]
                wall = statistics.median(t for r in runs for t in r["epoch_s"][1:])
                cpu = statistics.median(t for r in runs for t in r["epoch_cpu"])
                print(f"adam lr 0.05, seed 1, batch 100, {label}: {wall:.2f} s/epoch, CPU {cpu:.2f} s/epoch; "
                      "Validation-accuracy " + " ".join(f"{a:.4f}" for a in runs[0]["accuracy"]))

        work = tmp_path / "reference"
        work.mkdir()
        args = ["--batch_size", "100", "--num_epoch", "10", "--learning_rate", "0.1", "--optimizer", "sgd"]
        reference = run_training(channels, work, args, 1, SCRIPT)
        describe("reference run, after, 1 thread", 100, reference)

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

    print(f"load average at the end {Path('/proc/loadavg').read_text().strip()}")
    final = reference["accuracy"][-1]
    print("reference run (10 epochs, sgd, lr 0.1, batch 100, no momentum): Validation-accuracy per epoch "
          + " ".join(f"{a:.4f}" for a in reference["accuracy"]))
    verdict = "OK" if final >= 0.97 else "BELOW 0.97"
    print(f"final Validation-accuracy {final:.4f} ({verdict})")
    return 0 if final >= 0.97 else 1


if __name__ == "__main__":
    sys.exit(main())
