"""Tuning quality on the tabulated reference space: `bench/tuning_quality.py --table`.

Each tuning job is replayed from the table bench/make_table.py wrote (hpo_tui.engine.replay):
the engine's own search (SearchStrategy: the sampler set-up, the median rule for Auto,
Hyperband), its slot policy and completion rules, on a simulated clock in seconds (the
table's epoch and start-up times, as a run alone on one core takes them). Per strategy and
budget (max_jobs / max_parallel_jobs) it runs random_seed = 1..N and prints:

- regret: the space's best (the best mean-over-seeds Validation-accuracy any job of the space
  can reach: both optimizers, every tabulated learning rate, num_epoch 10-50) less the value
  of the job the tuning job picked (its incumbent: the job with the best objective it saw),
  in percentage points, mean with a bootstrap 95% interval. A job's value is the table's
  mean over training seeds for its hyperparameters and epochs, not the one seed it drew: a
  lucky seed does not make a configuration better, and regret cannot go below 0;
- the paired difference of regret against Random on the same seeds, with its interval
  (below 0: better than Random);
- the observed regret: the space's best less the best objective seen (seed noise included;
  below 0 when a job drew a lucky seed), for comparison;
- the simulated time until the incumbent was within 0.2 pp of the space's best: the mean
  over runs, a run that never got there counting its whole time (so a lower bound), and how
  many got there;
- the simulated time of the whole tuning job and the epochs trained.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np

from hpo_tui.engine.replay import Replay, Table, simulate
from hpo_tui.engine.samplers import TPESetup, make_sampler
from hpo_tui.engine.search import SearchStrategy, tpe_startup_trials
from hpo_tui.engine.store import spec_from_json, spec_to_json
from hpo_tui.spec import (
    CategoricalParameter,
    ContinuousParameter,
    Estimator,
    IntegerParameter,
    TuningSpec,
)

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "bench" / "data" / "mnist_table.jsonl"
WITHIN = 0.002  # 0.2 percentage points of accuracy
EPOCHS = (10, 50)
STRATEGIES = {
    # label: (strategy, early_stopping)
    "Random": ("Random", "Off"),
    "Bayesian": ("Bayesian", "Off"),
    "Bayesian+Auto": ("Bayesian", "Auto"),
    "Hyperband": ("Hyperband", "Off"),
}
BUDGETS = ((9, 3), (30, 3), (100, 10))


def reference_spec(label: str, seed: int, max_jobs: int, parallel: int) -> TuningSpec:
    """The reference spec of bench/tuning_quality.py, with parallel slots as on SageMaker
    (the local concurrency is set to max_parallel_jobs, not this machine's core count)."""
    strategy, early = STRATEGIES[label]
    spec = TuningSpec(
        estimator=Estimator(hyperparameters={"batch_size": 100}, base_job_name="quality"),
        ranges={"optimizer": CategoricalParameter(["sgd", "Adam"]),
                "learning_rate": ContinuousParameter(0.01, 0.2),
                "num_epoch": IntegerParameter(*EPOCHS)},
        strategy=strategy, early_stopping=early, random_seed=seed,
        max_jobs=max_jobs, max_parallel_jobs=parallel,
    )
    spec.local.concurrency = parallel
    return spec


@dataclass
class Outcome:
    regret: float  # percentage points, of the incumbent's value (mean over training seeds)
    to_within: float  # simulated seconds (the whole run's when never within)
    reached: bool
    total: float
    epochs: int
    observed: float = 0.0  # percentage points: the space's best less the best objective seen


def replay_one(table: Table, best: float, label: str, seed: int, max_jobs: int, parallel: int,
               strategy_hook: Callable[[SearchStrategy], None] | None = None) -> Outcome:
    spec = spec_from_json(spec_to_json(reference_spec(label, seed, max_jobs, parallel)))  # as the runner reads it
    search = SearchStrategy(spec)
    if strategy_hook is not None:
        strategy_hook(search)
    run: Replay = simulate(spec, table, search)
    found = run.best()
    # The incumbent over simulated time: the job with the best objective seen so far, valued
    # at the table's mean over training seeds for its hyperparameters and epochs.
    incumbent, value, reach = None, 0.0, None
    for job in sorted((j for j in run.jobs if j.status != "Failed" and j.final is not None),
                      key=lambda j: j.ended):
        if incumbent is None or job.final > incumbent.final:  # type: ignore[operator]
            incumbent = job
            value = job_value(table, job.hyperparameters, job.epochs)
        if reach is None and value >= best - WITHIN:
            reach = job.ended
    observed = (best - (found if found is not None else 0.0)) * 100
    return Outcome((best - value) * 100, reach if reach is not None else run.ended, reach is not None,
                   run.ended, run.epochs, observed)


@lru_cache(maxsize=None)
def _value(table_id: int, optimizer: str, lr: float, epochs: int) -> float:
    value = predicted(_TABLES[table_id], optimizer, lr, epochs)
    return 0.0 if value is None else value  # it diverged at a tabulated seed: no model to pick


_TABLES: dict[int, Table] = {}


def job_value(table: Table, hyperparameters: dict[str, str], epochs: int) -> float:
    """What a job is worth: the table's mean over training seeds of the final
    Validation-accuracy for its optimizer, learning rate and epochs trained."""
    _TABLES[id(table)] = table
    return _value(id(table), hyperparameters["optimizer"], float(hyperparameters["learning_rate"]), epochs)


def bootstrap_ci(values: list[float], resamples: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """(mean, low, high): the mean and its percentile bootstrap 95% interval."""
    data = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, len(data), size=(resamples, len(data)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(data.mean()), float(low), float(high)


def fmt_ci(triple: tuple[float, float, float], digits: int = 3) -> str:
    mean, low, high = triple
    return f"{mean:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}]"


def git_commit() -> str:
    try:
        return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run_table(table_path: Path, seeds: int, budgets: list[tuple[int, int]], labels: list[str]) -> int:
    table = Table.load(table_path)
    best = table.space_best(*EPOCHS)
    load = os.getloadavg()
    print(f"# tuning quality on the table ({len(table.runs)} tabulated runs, {table_path.name}), "
          f"{seeds} seeds per strategy and budget")
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit {git_commit()}, "
          f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"space's best (mean over training seeds): {best:.4f}; within 0.2 pp: >= {best - WITHIN:.4f}; "
          f"regret values the picked job at its mean over training seeds")
    started = time.time()
    summary: dict[tuple[int, int], dict[str, list[Outcome]]] = {}
    for max_jobs, parallel in budgets:
        outcomes = {label: [replay_one(table, best, label, s, max_jobs, parallel) for s in range(1, seeds + 1)]
                    for label in labels}
        summary[(max_jobs, parallel)] = outcomes
        print()
        print(f"## {max_jobs} jobs, {parallel} in parallel")
        print("| strategy | regret (pp) | regret − Random's, paired (pp) | observed regret (pp) "
              "| time to within 0.2 pp (s) | got within | whole run (s) | epochs |")
        print("|---|---|---|---|---|---|---|---|")
        for label, runs in outcomes.items():
            regret = bootstrap_ci([o.regret for o in runs])
            paired = "—"
            if label != "Random" and "Random" in outcomes:
                paired = fmt_ci(bootstrap_ci([o.regret - r.regret for o, r in zip(runs, outcomes["Random"])]))
            print(f"| {label} | {fmt_ci(regret)} | {paired} | {fmt_ci(bootstrap_ci([o.observed for o in runs]))} | "
                  f"{statistics.mean(o.to_within for o in runs):.0f} | "
                  f"{sum(o.reached for o in runs)}/{len(runs)} | {statistics.mean(o.total for o in runs):.0f} | "
                  f"{statistics.mean(o.epochs for o in runs):.0f} |")
        goals(outcomes)
    print()
    print(f"replayed in {time.time() - started:.1f} s")
    return 0


def goals(outcomes: dict[str, list[Outcome]]) -> None:
    """The issue's goals for one budget, with by how much they are met or missed."""
    if "Bayesian" in outcomes and "Random" in outcomes:
        _, low, high = bootstrap_ci([b.regret - r.regret for b, r in zip(outcomes["Bayesian"], outcomes["Random"])])
        verdict = "met" if high < 0 else f"missed (interval's upper end {high:+.3f} pp)"
        print(f"goal: Bayesian's regret below Random's, paired 95% interval below 0: {verdict}")
    if "Bayesian" not in outcomes:
        return
    bayes = outcomes["Bayesian"]
    bayes_reach = statistics.mean(o.to_within for o in bayes)
    bayes_total = statistics.mean(o.total for o in bayes)
    bayes_reached = sum(o.reached for o in bayes)
    for label in ("Hyperband", "Bayesian+Auto"):
        if label not in outcomes:
            continue
        runs = outcomes[label]
        reach = statistics.mean(o.to_within for o in runs)
        # A run that never got within counts its whole time (a lower bound), so the verdict
        # also says when it got within in fewer runs than Bayesian did.
        reached = sum(o.reached for o in runs)
        ratio = reach / bayes_total
        verdict = "missed" if ratio > 0.5 or not reached else "met"
        if verdict == "met" and reached < bayes_reached:
            verdict = f"met on the mean, but it got within in {bayes_reached - reached} fewer runs than Bayesian"
        print(f"goal: {label} within 0.2 pp of the space's best in <= 0.5x Bayesian's simulated time: "
              f"{reach:.0f} s = {ratio:.2f}x Bayesian's whole run ({bayes_total:.0f} s), "
              f"{reach / bayes_reach:.2f}x Bayesian's own time to get within ({bayes_reach:.0f} s); "
              f"got within in {reached}/{len(runs)} runs, Bayesian in {bayes_reached}/{len(bayes)}: {verdict}")


def variant(text: str) -> Callable[[SearchStrategy], None]:
    """A hook that swaps the Bayesian sampler for the TPESetup written as `k=v;k=v` (fields of
    TPESetup; startup defaults to the product's rule), for trying set-ups side by side."""
    words = {"True": True, "False": False, "None": None}
    fields: dict[str, object] = {}
    for item in filter(None, text.split(";")):
        name, _, value = (part.strip() for part in item.partition("="))
        fields[name] = words[value] if value in words else float(value) if "." in value else int(value)

    def hook(search: SearchStrategy) -> None:
        spec = search.spec
        setup = TPESetup(**{"startup": tpe_startup_trials(spec.max_jobs or 1),
                            "constant_liar": (spec.max_parallel_jobs or 1) > 1, **fields})  # type: ignore[arg-type]
        search.study.sampler = make_sampler(setup, spec.random_seed)

    return hook


def compare_variants(table_path: Path, seeds: int, budgets: list[tuple[int, int]], variants: list[str],
                     label: str = "Bayesian") -> int:
    """Each variant of the Bayesian sampler against Random (and the product's set-up), paired."""
    table = Table.load(table_path)
    best = table.space_best(*EPOCHS)
    for max_jobs, parallel in budgets:
        rand = [replay_one(table, best, "Random", s, max_jobs, parallel) for s in range(1, seeds + 1)]
        print(f"## {label} variants, {max_jobs}/{parallel}, {seeds} seeds; Random's regret "
              f"{fmt_ci(bootstrap_ci([o.regret for o in rand]))} pp", flush=True)
        product: list[Outcome] = []
        for text in ["(product)", *variants]:
            hook = None if text == "(product)" else variant(text)
            runs = [replay_one(table, best, label, s, max_jobs, parallel, hook) for s in range(1, seeds + 1)]
            product = product or runs
            paired = bootstrap_ci([o.regret - r.regret for o, r in zip(runs, rand)])
            own = bootstrap_ci([o.regret - p.regret for o, p in zip(runs, product)])
            print(f"  {text:<52} regret {fmt_ci(bootstrap_ci([o.regret for o in runs]))}  vs Random "
                  f"{fmt_ci(paired)}  vs product {fmt_ci(own)}  within {sum(o.reached for o in runs)}/{seeds}",
                  flush=True)
    return 0


def predicted(table: Table, optimizer: str, lr: float, epochs: int) -> float | None:
    """The table's prediction of a job's final Validation-accuracy: the mean over the seeds
    tabulated at both neighbouring rates of the interpolated run (None when it diverges)."""
    lo, hi, _ = table.neighbours(optimizer, lr)
    count = len(set(table.seeds(optimizer.lower(), lo)) & set(table.seeds(optimizer.lower(), hi)))
    values = []
    for i in range(count):
        curve = table.curve(optimizer, lr, i)
        if len(curve.accuracy) < epochs:
            return None
        values.append(curve.accuracy[epochs - 1])
    return sum(values) / len(values) if values else None


def heldout_report(table_path: Path, heldout_path: Path) -> int:
    """Mean absolute error of the table's prediction of real runs it does not hold."""
    import json

    table = Table.load(table_path)
    errors = []
    print(f"# held-out check: {heldout_path.name} against {table_path.name} ({len(table.runs)} tabulated runs)")
    print("| optimizer | learning_rate | num_epoch | seed | real | table | error (pp) |")
    print("|---|---|---|---|---|---|---|")
    for line in heldout_path.read_text().splitlines():
        try:
            r = json.loads(line)
        except ValueError:
            continue
        n = int(r["num_epoch"])
        real = r["validation_accuracy"][n - 1] if len(r["validation_accuracy"]) >= n else None
        guess = predicted(table, r["optimizer"], float(r["learning_rate"]), n)
        error = abs(real - guess) * 100 if real is not None and guess is not None else None
        if error is not None:
            errors.append(error)
        print(f"| {r['optimizer']} | {r['learning_rate']} | {n} | {r['seed']} | {real if real is None else round(real, 4)} | "
              f"{'diverged' if guess is None else f'{guess:.4f}'} | {'—' if error is None else f'{error:.3f}'} |")
    if errors:
        print(f"mean absolute error {statistics.mean(errors):.3f} pp, largest {max(errors):.3f} pp, "
              f"over {len(errors)} runs")
    return 0


def real_report(table_path: Path, real_path: Path) -> int:
    """The real tuning jobs of `bench/tuning_quality.py --record FILE` against the table: for
    each, the table's prediction of the best objective of the very jobs it trained (each job
    predicted from its hyperparameters and the epochs it trained), and the error."""
    import json

    table = Table.load(table_path)
    errors: list[float] = []
    print(f"# real tuning jobs: {real_path.name} against {table_path.name} ({len(table.runs)} tabulated runs)")
    print("| strategy | seed | jobs | real best | table's best of the same jobs | error (pp) | "
          "real best job | its table value |")
    print("|---|---|---|---|---|---|---|---|")
    for line in real_path.read_text().splitlines():
        try:
            r = json.loads(line)
        except ValueError:
            continue
        jobs = [j for j in r.get("trained_jobs", []) if j["status"] != "Failed" and j["final_objective"] is not None]
        if not jobs:
            continue
        top = max(jobs, key=lambda j: j["final_objective"])
        values = [job_value(table, j["hyperparameters"], int(j["epochs"])) for j in jobs]
        error = abs(top["final_objective"] - max(values)) * 100
        errors.append(error)
        hp = top["hyperparameters"]
        print(f"| {r['label']} | {r['seed']} | {len(r['trained_jobs'])} | {top['final_objective']:.4f} | "
              f"{max(values):.4f} | {error:.3f} | {hp['optimizer']} lr {float(hp['learning_rate']):.4g}, "
              f"{top['epochs']} epochs | {job_value(table, hp, int(top['epochs'])):.4f} |")
    if errors:
        print(f"mean absolute error of the best {statistics.mean(errors):.3f} pp, largest {max(errors):.3f} pp, "
              f"over {len(errors)} tuning jobs")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table-file", type=Path, default=TABLE)
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--budgets", default=",".join(f"{j}/{p}" for j, p in BUDGETS),
                        help="max_jobs/max_parallel_jobs pairs, comma-separated (default 9/3,30/3,100/10)")
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--variants", help="compare Bayesian sampler set-ups instead, separated by '|', "
                        "each 'field=value;...' of TPESetup, e.g. 'space_filling=True;startup=4'")
    parser.add_argument("--heldout", type=Path, nargs="?", const=ROOT / "bench" / "data" / "mnist_heldout.jsonl",
                        help="report the table's error on the held-out runs (bench/make_table.py --heldout)")
    parser.add_argument("--real", type=Path, help="compare the real tuning jobs recorded by "
                        "bench/tuning_quality.py --record FILE with the table's prediction")
    parser.add_argument("--variant-of", default="Bayesian", help="the strategy whose sampler --variants swaps")
    args = parser.parse_args(argv)
    budgets = [tuple(int(x) for x in b.split("/")) for b in args.budgets.split(",") if b.strip()]
    labels = [s.strip() for s in args.strategies.split(",") if s.strip()]
    unknown = [s for s in labels if s not in STRATEGIES]
    if unknown:
        parser.error(f"--strategies: unknown {unknown}; choose from {', '.join(STRATEGIES)}")
    if args.real:
        return real_report(args.table_file, args.real)
    if args.heldout:
        return heldout_report(args.table_file, args.heldout)
    if args.variants:
        return compare_variants(args.table_file, args.seeds, budgets,  # type: ignore[arg-type]
                                [v.strip() for v in args.variants.split("|")], args.variant_of)
    return run_table(args.table_file, args.seeds, budgets, labels)  # type: ignore[arg-type]
