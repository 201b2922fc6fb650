"""Replay of tabulated training runs through the local engine's own search, on a simulated clock.

A table (bench/make_table.py writes one) holds real training runs of the reference space: per
optimizer, learning rate on a log-spaced grid and training seed, the per-epoch
Validation-accuracy and epoch times of a 50-epoch run. `TableTrainer` answers a training job
from it, in the training script's own output format: the job's training seed picks one of the
table's seeds, values between grid points are interpolated linearly in log(learning_rate),
and a job of n epochs is the first n epochs of a run (the script has no schedule that depends
on num_epoch). `simulate` runs one tuning job: the real SearchStrategy (sampler set-up, median
rule, Hyperband), the real metric extraction, the runner's slot policy (fill every free slot,
the job that finishes first decides the next proposal) and completion criteria, with the
epochs' times from the table instead of processes, so a 9-job tuning job takes milliseconds.
"""

from __future__ import annotations

import bisect
import heapq
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpo_tui.engine import executor
from hpo_tui.engine.executor import training_seed
from hpo_tui.engine.metrics import MetricExtractor
from hpo_tui.engine.search import SearchStrategy, completion_reason
from hpo_tui.engine.store import spec_from_json, spec_to_json
from hpo_tui.spec import TuningSpec


# --------------------------------------------------------------------------------- table


@dataclass(frozen=True)
class Run:
    """One tabulated run: Validation-accuracy and seconds of each epoch it finished."""

    accuracy: tuple[float, ...]
    epoch_seconds: tuple[float, ...]
    startup_seconds: float  # process start to the first epoch (imports, data)
    failure: str | None  # the script's last line when it failed (diverged), else None


@dataclass(frozen=True)
class JobCurve:
    accuracy: tuple[float, ...]
    epoch_seconds: tuple[float, ...]
    startup_seconds: float
    failure: str | None


class Table:
    """Tabulated runs by (optimizer, learning rate, seed)."""

    def __init__(self, runs: dict[tuple[str, float, int], Run], header: dict | None = None) -> None:
        if not runs:
            raise ValueError("the table holds no runs")
        self.runs = runs
        self.header = header or {}
        self.rates: dict[str, list[float]] = {}
        for opt, lr, _ in runs:
            self.rates.setdefault(opt, [])
            if lr not in self.rates[opt]:
                self.rates[opt].append(lr)
        for rates in self.rates.values():
            rates.sort()

    @classmethod
    def load(cls, path: Path) -> "Table":
        header, runs = None, {}
        for line in Path(path).read_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a torn last line of an interrupted write
            if "grid" in record:
                header = header or record
                continue
            if "validation_accuracy" not in record:
                continue
            acc = tuple(float(v) for v in record["validation_accuracy"])
            wall = float(record.get("wall_seconds") or 0.0)
            # Runs shared the machine: their wall times are scaled by the run's CPU share
            # (its CPU seconds over its wall seconds), which is the time a run alone on a
            # core takes (the jobs are single-threaded).
            share = min(1.0, float(record.get("cpu_seconds") or wall) / wall) if wall > 0 else 1.0
            secs = tuple(share * float(v) for v in record["epoch_seconds"][: len(acc)])
            startup = max(0.0, share * wall - sum(secs))
            failure = record.get("failure") if record.get("exit_code", 0) != 0 else None
            key = (str(record["optimizer"]).lower(), float(record["learning_rate"]), int(record["seed"]))
            runs[key] = Run(acc, secs, startup, failure)
        return cls(runs, header)

    def seeds(self, optimizer: str, lr: float) -> list[int]:
        return sorted(s for (o, r, s) in self.runs if o == optimizer and r == lr)

    def neighbours(self, optimizer: str, lr: float) -> tuple[float, float, float]:
        """(lower grid rate, upper grid rate, weight of the upper one in log(lr))."""
        rates = self.rates.get(optimizer.lower())
        if not rates:
            raise KeyError(f"the table has no runs of optimizer {optimizer!r}")
        lr = min(max(float(lr), rates[0]), rates[-1])
        i = bisect.bisect_left(rates, lr)
        if i < len(rates) and rates[i] == lr or len(rates) == 1:
            return (rates[min(i, len(rates) - 1)],) * 2 + (0.0,)
        lo, hi = rates[i - 1], rates[i]
        return lo, hi, (math.log(lr) - math.log(lo)) / (math.log(hi) - math.log(lo))

    def curve(self, optimizer: str, lr: float, seed: int) -> JobCurve:
        """The run a job of these hyperparameters and training seed replays (all 50 epochs).

        The seed picks one of the seeds tabulated at both neighbouring grid rates. Accuracy
        and epoch times are interpolated in log(lr); where one neighbour has no value (it
        diverged earlier), the nearer neighbour's run decides, and so does its failure."""
        opt = optimizer.lower()
        lo, hi, w = self.neighbours(opt, lr)
        common = sorted(set(self.seeds(opt, lo)) & set(self.seeds(opt, hi)))
        if not common:
            raise KeyError(f"no training seed tabulated at both {lo} and {hi} for {opt}")
        s = common[seed % len(common)]
        a, b = self.runs[(opt, lo, s)], self.runs[(opt, hi, s)]
        near = a if w <= 0.5 else b
        acc, secs = [], []
        for k in range(len(near.accuracy)):
            if k < len(a.accuracy) and k < len(b.accuracy):
                acc.append((1 - w) * a.accuracy[k] + w * b.accuracy[k])
                secs.append((1 - w) * a.epoch_seconds[k] + w * b.epoch_seconds[k])
            else:
                acc.append(near.accuracy[k])
                secs.append(near.epoch_seconds[k])
        startup = (1 - w) * a.startup_seconds + w * b.startup_seconds
        return JobCurve(tuple(acc), tuple(secs), startup, near.failure)

    def space_best(self, min_epochs: int, max_epochs: int) -> float:
        """The best Validation-accuracy a job of the space can expect: over grid rates, both
        optimizers and num_epoch in [min_epochs, max_epochs], the mean over the tabulated
        seeds of the final epoch's accuracy (a run that diverged before it has none)."""
        best = -math.inf
        for opt, rates in self.rates.items():
            for lr in rates:
                runs = [self.runs[(opt, lr, s)] for s in self.seeds(opt, lr)]
                for n in range(min_epochs, max_epochs + 1):
                    # A run that diverged after n epochs still has a job of n epochs' value.
                    if runs and all(len(r.accuracy) >= n for r in runs):
                        best = max(best, sum(r.accuracy[n - 1] for r in runs) / len(runs))
        return best


# ------------------------------------------------------------------------------- trainer


class TableTrainer:
    """A training job answered from the table, printed as training/mnist.py prints it."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def output(self, hyperparameters: dict[str, str], seed: int) -> tuple[list[tuple[float, str]], int]:
        """([(seconds since the job started, line)], exit code) of one job."""
        epochs = int(float(hyperparameters.get("num_epoch", 10)))
        curve = self.table.curve(hyperparameters.get("optimizer", "sgd"),
                                 float(hyperparameters.get("learning_rate", 0.1)), seed)
        lines: list[tuple[float, str]] = []
        t = curve.startup_seconds
        for k in range(min(epochs, len(curve.accuracy))):
            t += curve.epoch_seconds[k]
            lines.append((t, "Epoch[{}] Time cost={:.3f}".format(k, curve.epoch_seconds[k])))
            lines.append((t, "Epoch[{}] Validation-accuracy={:.6f}".format(k, curve.accuracy[k])))
        if curve.failure is not None and epochs > len(curve.accuracy):
            # The script stops within the epoch that diverged: charge it one more epoch's time.
            t += curve.epoch_seconds[-1] if curve.epoch_seconds else 0.0
            lines.append((t, curve.failure))
            return lines, 1
        return lines, 0


# ------------------------------------------------------------------------------ simulate


@dataclass
class JobResult:
    index: int
    hyperparameters: dict[str, str]
    started: float
    ended: float
    status: str  # Completed, Stopped or Failed
    final: float | None  # the last objective value it printed
    epochs: int  # epochs trained (finished)


@dataclass
class Replay:
    jobs: list[JobResult] = field(default_factory=list)
    completion_reason: str | None = None

    @property
    def ended(self) -> float:
        return max((j.ended for j in self.jobs), default=0.0)

    def best(self) -> float | None:
        values = [j.final for j in self.jobs if j.status != "Failed" and j.final is not None]
        return max(values, default=None)

    def time_to(self, target: float) -> float | None:
        """Simulated seconds until the first job with an objective >= target ended."""
        hits = [j.ended for j in self.jobs if j.status != "Failed" and j.final is not None and j.final >= target]
        return min(hits, default=None)

    @property
    def epochs(self) -> int:
        return sum(j.epochs for j in self.jobs)


@dataclass
class _Running:
    index: int
    number: int
    hyperparameters: dict[str, str]
    started: float
    exit_code: int
    extractor: MetricExtractor
    final: float | None = None
    last_epoch: int | None = None
    pending: int = 0  # lines still to come


def simulate(spec: TuningSpec, table: Table, strategy: SearchStrategy | None = None) -> Replay:
    """Run one tuning job of `spec` against the table on a simulated clock (seconds).

    The spec's random_seed seeds the search and, per job, the training seed, as the local
    engine does; without one every job replays the table's first seed. The spec goes through
    the store's JSON first, as the runner reads it (its ranges in name order, which sets the
    order of the sampler's draws)."""
    spec = spec_from_json(spec_to_json(spec))
    search = strategy or SearchStrategy(spec)
    trainer = TableTrainer(table)
    slots = executor.job_slots(spec.max_parallel_jobs, spec.local.concurrency)
    max_jobs = spec.max_jobs
    static = {k: str(v) for k, v in spec.estimator.hyperparameters.items()}
    definitions = [(m.name, m.regex) for m in spec.metric_definitions]
    objective = spec.objective.name
    events: list[tuple[float, int, int, str]] = []  # (time, order, job index, line or "")
    running: dict[int, _Running] = {}
    result = Replay()
    finished: list[float | None] = []
    order = 0
    now = 0.0
    exhausted = ending = False

    def start(trial: Any) -> None:
        nonlocal order
        index = len(result.jobs) + len(running)
        hps = dict(static)
        hps.update(trial.hyperparameters)
        seed = training_seed(spec.random_seed, index) if spec.random_seed is not None else 0
        lines, code = trainer.output(hps, seed)
        job = _Running(index, trial.number, trial.hyperparameters, now, code,
                       MetricExtractor(definitions), pending=len(lines) + 1)
        running[index] = job
        for t, line in lines:
            heapq.heappush(events, (now + t, order, index, line))
            order += 1
        end = now + (lines[-1][0] if lines else 0.0)
        heapq.heappush(events, (end, order, index, ""))  # the process exits
        order += 1

    def finish(job: _Running, status: str) -> None:
        nonlocal ending
        del running[job.index]
        epochs = 0 if job.last_epoch is None else job.last_epoch + 1
        result.jobs.append(JobResult(job.index, job.hyperparameters, job.started, now, status, job.final, epochs))
        state = {"Completed": "complete", "Stopped": "pruned"}.get(status, "failed")
        if status == "Completed" and job.final is None:
            state = "failed"
        search.tell(job.number, job.final, state)
        finished.append(job.final if status != "Failed" else None)
        if not ending:
            reason = completion_reason(spec, finished)
            if reason:
                ending, result.completion_reason = True, reason

    while True:
        while not ending and not exhausted and len(running) < slots and (
            max_jobs is None or len(result.jobs) + len(running) < max_jobs
        ):
            trial = search.ask()
            if trial is None:
                exhausted = True
                break
            start(trial)
        if ending:
            # A completion criterion was met: the runner stops every running job.
            for job in list(running.values()):
                finish(job, "Stopped")
        if not running:
            break
        now, _, index, line = heapq.heappop(events)
        job = running.get(index)
        if job is None:
            continue  # stopped earlier: the rest of its output never comes
        if not line:
            finish(job, "Completed" if job.exit_code == 0 else "Failed")
            continue
        stop = False
        for p in job.extractor.feed(line):
            if job.last_epoch is None or p.epoch > job.last_epoch:
                job.last_epoch = p.epoch
            if p.metric != objective:
                continue
            job.final = p.value
            if search.report(job.number, p.epoch, p.value):
                stop = True
        if stop:
            finish(job, "Stopped")
    return result
