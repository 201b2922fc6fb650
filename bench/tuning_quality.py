"""Tuning quality: how good and how fast each local search strategy is on the reference
search space, with real MXNet training jobs run by the local engine.

Strategies: Random, Bayesian, Bayesian + early stopping Auto, Hyperband; each with
--seeds seeds (random_seed = 1..N), 9 jobs, 3 in parallel, one tuning job at a time.
The reference space: optimizer sgd/Adam, learning_rate 0.01-0.2, num_epoch 10-50,
batch_size 100, full MNIST (60,000 training images), objective Validation-accuracy.

Per tuning job it records:
- best: the best Validation-accuracy after its 9 jobs;
- wall: launch to the tuning job's end;
- to-within: launch to the end of the first job within 0.2 pp of that run's final best;
- epochs: epochs trained in all (every job, stopped ones up to where they stopped).
Then per strategy the mean and the spread (min-max, standard deviation) over seeds, and
the issue's two goals: Bayesian's mean best >= Random's; Hyperband or Auto early
stopping reaching Bayesian's mean best within 0.2 pp in <= 0.5x Bayesian's mean wall time.

With --table it replays instead of training (bench/table_quality.py): each strategy x
{9 jobs / 3 parallel, 30 / 3, 100 / 10} x 200 seeds from the tabulated space
(bench/make_table.py), through the engine's own search on a simulated clock, in minutes.
This real-training mode stays as the check that the table tells the truth.

Usage:
  .venv/bin/python bench/tuning_quality.py --table    # the replay; --table --help for options
  .venv/bin/python bench/tuning_quality.py            # the full run: over an hour on 2 cores
  .venv/bin/python bench/tuning_quality.py --quick    # QUICK: 6,000 images, num_epoch 1-5
  .venv/bin/python bench/tuning_quality.py --samples 3000 --epochs 1-2 --seeds 1  # smoke
Any of --quick/--samples/--epochs makes it a reduced run, and the output says so. Uses a
temporary HPO_TUI_HOME. Prints a Markdown table for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HPO_TUI_HOME", tempfile.mkdtemp(prefix="hpo-bench-quality-"))

from hpo_tui.backends.local import LocalBackend  # noqa: E402
from hpo_tui.data import prepare_mnist  # noqa: E402
from hpo_tui.views import Snapshot  # noqa: E402
from hpo_tui.spec import (  # noqa: E402
    CategoricalParameter,
    Channels,
    ContinuousParameter,
    Estimator,
    IntegerParameter,
    TuningSpec,
)

WITHIN = 0.002  # 0.2 percentage points of accuracy
STRATEGIES = {
    # label: (strategy, early_stopping)
    "Random": ("Random", "Off"),
    "Bayesian": ("Bayesian", "Off"),
    "Bayesian+Auto": ("Bayesian", "Auto"),
    "Hyperband": ("Hyperband", "Off"),
}
FULL_EPOCHS = (10, 50)
QUICK_SAMPLES, QUICK_EPOCHS = 6000, (1, 5)


@dataclass
class Run:
    label: str
    seed: int
    best: float | None
    wall: float
    to_within: float | None  # seconds to a job within WITHIN of this run's best
    epochs: int
    jobs: int
    status: str
    times: list[tuple[float, float]]  # (seconds since launch, objective) of each finished job
    # Each training job: its hyperparameters, status, final objective and epochs trained.
    trained_jobs: list[dict] = field(default_factory=list)


def spec_for(label: str, seed: int, samples: int | None, epochs: tuple[int, int],
             channels: Channels) -> TuningSpec:
    strategy, early = STRATEGIES[label]
    hps: dict[str, object] = {"batch_size": 100}
    if samples:
        hps["max_train_samples"] = samples
    return TuningSpec(
        estimator=Estimator(hyperparameters=hps, base_job_name="quality"),
        ranges={"optimizer": CategoricalParameter(["sgd", "Adam"]),
                "learning_rate": ContinuousParameter(0.01, 0.2),
                "num_epoch": IntegerParameter(*epochs)},
        strategy=strategy, early_stopping=early, random_seed=seed,
        max_jobs=9, max_parallel_jobs=3, channels=channels,
    )


def run_one(backend: LocalBackend, label: str, seed: int, samples: int | None,
            epochs: tuple[int, int], channels: Channels) -> Run:
    spec = spec_for(label, seed, samples, epochs, channels)
    t0 = time.time()
    name = backend.launch(spec)
    while True:
        snap: Snapshot = backend.poll(name)
        if snap.tuning_job.is_terminal and all(j.is_terminal for j in snap.training_jobs):
            break
        time.sleep(1.0)
    wall = time.time() - t0
    finished = sorted(
        ((j.ended_at - t0, j.final_objective) for j in snap.training_jobs
         if j.ended_at is not None and j.final_objective is not None and j.status != "Failed"),
    )
    best = max((v for _, v in finished), default=None)
    to_within = None
    if best is not None:
        to_within = next(t for t, v in finished if v >= best - WITHIN)
    trained = sum((j.last_epoch + 1) if j.last_epoch is not None else 0 for j in snap.training_jobs)
    jobs = [{"hyperparameters": j.hyperparameters, "status": j.status,
             "final_objective": j.final_objective,
             "epochs": (j.last_epoch + 1) if j.last_epoch is not None else 0}
            for j in sorted(snap.training_jobs, key=lambda j: j.launch_index)]
    return Run(label, seed, best, wall, to_within, trained, len(snap.training_jobs),
               snap.tuning_job.status, finished, jobs)


def recorded(path: Path) -> dict[tuple[str, int], Run]:
    """The tuning jobs a stopped --record run already finished, by (strategy, seed)."""
    runs: dict[tuple[str, int], Run] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            row = json.loads(line)
            run = Run(**{k: v for k, v in row.items() if k in Run.__dataclass_fields__})
            run.times = [tuple(t) for t in run.times]
            runs[(run.label, run.seed)] = run
    return runs


def record(path: Path, run: Run, samples: int | None, epochs: tuple[int, int]) -> None:
    row = asdict(run) | {"samples": samples, "epoch_range": list(epochs),
                         "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                         "load": [round(x, 2) for x in os.getloadavg()]}
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write(json.dumps(row) + "\n")


def spread(values: list[float], fmt: str) -> str:
    if not values:
        return "n/a"
    mean = statistics.mean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{fmt.format(mean)} ± {fmt.format(sd)} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def reach_time(run: Run, target: float) -> float | None:
    return next((t for t, v in run.times if v >= target), None)


def main() -> int:
    if "--table" in sys.argv[1:]:
        import table_quality  # bench/table_quality.py, next to this script

        return table_quality.main([a for a in sys.argv[1:] if a != "--table"])
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help=f"QUICK mode: {QUICK_SAMPLES} training images, num_epoch {QUICK_EPOCHS[0]}-{QUICK_EPOCHS[1]}")
    parser.add_argument("--samples", type=int, help="training images per job (default: all 60,000)")
    parser.add_argument("--epochs", help="num_epoch range LOW-HIGH (default 10-50)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per strategy (default 3)")
    parser.add_argument("--strategies", default=",".join(STRATEGIES),
                        help=f"comma-separated subset of {', '.join(STRATEGIES)}")
    parser.add_argument("--record", type=Path,
                        help="append each tuning job (its jobs' hyperparameters and results) to this "
                             "JSON-lines file, and skip the (strategy, seed) pairs already in it, so a "
                             "stopped run resumes; `--table --real FILE` compares it with the table")
    args = parser.parse_args()

    samples: int | None = None
    epochs = FULL_EPOCHS
    if args.quick:
        samples, epochs = QUICK_SAMPLES, QUICK_EPOCHS
    if args.samples:
        samples = args.samples
    if args.epochs:
        low, _, high = args.epochs.partition("-")
        epochs = (int(low), int(high or low))
    labels = [s.strip() for s in args.strategies.split(",") if s.strip()]
    unknown = [s for s in labels if s not in STRATEGIES]
    if unknown:
        parser.error(f"--strategies: unknown {unknown}; choose from {', '.join(STRATEGIES)}")
    full = samples is None and epochs == FULL_EPOCHS and args.seeds >= 3 and labels == list(STRATEGIES)
    mode = "FULL (all 60,000 images)" if samples is None else f"REDUCED ({samples} images)"
    if args.quick:
        mode = f"QUICK ({samples} images)"
    mode += f", num_epoch {epochs[0]}-{epochs[1]}, {args.seeds} seed(s)"
    if not full:
        mode += " -- a development run, not the figure that counts"

    root = prepare_mnist()
    channels = Channels(train=str(root / "train"), test=str(root / "test"))
    load = os.getloadavg()
    print(f"# tuning quality, {mode}")
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, "
          f"{platform.machine()}, Python {platform.python_version()}, "
          f"load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print("9 jobs, 3 in parallel; optimizer sgd/Adam, learning_rate 0.01-0.2; batch_size 100")
    runs: list[Run] = []
    t_start = time.time()
    done = recorded(args.record) if args.record else {}
    for seed in range(1, args.seeds + 1):
        for label in labels:  # interleaved, so load changes hit every strategy alike
            if (label, seed) in done:
                runs.append(done[(label, seed)])
                continue
            # A fresh backend (and store connection) per tuning job: a read-only connection
            # kept across one runner's exit and the next launch has read "file is not a
            # database" here once.
            backend = LocalBackend()
            try:
                run = run_one(backend, label, seed, samples, epochs, channels)
            finally:
                backend.close()
            runs.append(run)
            if args.record:
                record(args.record, run, samples, epochs)
            best = "n/a" if run.best is None else f"{run.best:.4f}"
            print(f"  {label:<14} seed {seed}: best {best}  wall {run.wall:6.1f} s  "
                  f"to within 0.2 pp {run.to_within or float('nan'):6.1f} s  epochs {run.epochs:4d}  "
                  f"({run.status}, {run.jobs} jobs)", flush=True)
    total = time.time() - t_start
    load_end = os.getloadavg()

    print()
    print("| strategy | best Validation-accuracy after 9 jobs | wall time (s) | "
          "time to within 0.2 pp of own best (s) | epochs trained |")
    print("|---|---|---|---|---|")
    by: dict[str, list[Run]] = {label: [r for r in runs if r.label == label] for label in labels}
    for label, rs in by.items():
        print(f"| {label} | {spread([r.best for r in rs if r.best is not None], '{:.4f}')} | "
              f"{spread([r.wall for r in rs], '{:.0f}')} | "
              f"{spread([r.to_within for r in rs if r.to_within is not None], '{:.0f}')} | "
              f"{spread([float(r.epochs) for r in rs], '{:.0f}')} |")
    print()
    print(f"mean ± standard deviation (min-max) over {args.seeds} seed(s); total {total / 60:.1f} min; "
          f"load average at the end {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}")

    def mean_best(label: str) -> float | None:
        values = [r.best for r in by.get(label, []) if r.best is not None]
        return statistics.mean(values) if values else None

    bayes, rand = mean_best("Bayesian"), mean_best("Random")
    if bayes is not None and rand is not None:
        verdict = "met" if bayes >= rand else f"missed by {(rand - bayes) * 100:.2f} pp"
        print(f"goal 1, Bayesian mean best >= Random's: {bayes:.4f} vs {rand:.4f}: {verdict}")
    if bayes is not None and by.get("Bayesian"):
        bayes_wall = statistics.mean(r.wall for r in by["Bayesian"])
        target = bayes - WITHIN
        for label in ("Hyperband", "Bayesian+Auto"):
            rs = by.get(label)
            if not rs:
                continue
            times = [reach_time(r, target) for r in rs]
            reached = [t for t in times if t is not None]
            ratio = statistics.mean(reached) / bayes_wall if reached else None
            met = len(reached) == len(rs) and ratio is not None and ratio <= 0.5
            said = (f"reached in {len(reached)}/{len(rs)} runs, mean {statistics.mean(reached):.0f} s = "
                    f"{ratio:.2f}x Bayesian's mean wall time {bayes_wall:.0f} s" if reached
                    else f"never reached in {len(rs)} runs")
            print(f"goal 2, {label} within 0.2 pp of Bayesian's mean best ({target:.4f}) in <= 0.5x "
                  f"Bayesian's wall time: {said}: {'met' if met else 'missed'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
