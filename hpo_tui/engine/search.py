"""Search strategies of the local engine (Bayesian, Random, Grid, Hyperband) on Optuna's
ask/tell API, plus SageMaker's early-stopping median rule and completion criteria.
"""

from __future__ import annotations

import math
import statistics
import warnings
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import TrialState

from hpo_tui.engine.samplers import TPESetup, make_sampler
from hpo_tui.errors import UserError
from hpo_tui.spec import (  # noqa: F401 -- max_epochs is part of this module's API
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    TuningSpec,
    as_epochs,
    grid_combinations,
    hyperband_resources,
    max_epochs,
    resolved_max_jobs,
    scaling_issues,
)

# The runner logs its own progress; Optuna's per-trial INFO lines would only be noise.
optuna.logging.set_verbosity(optuna.logging.WARNING)

# The median rule compares a running job against the jobs that finished before it. With
# fewer than this many finished jobs at an epoch the median says little, so no job is
# stopped there. Three keeps the rule useful for small tuning jobs (max_jobs around 9)
# while never stopping a job on the word of one or two others.
MEDIAN_RULE_MIN_JOBS = 3

# A job "improves" the best objective when it beats it by at least this fraction of |best|.
IMPROVEMENT_FRACTION = 0.01

HYPERBAND_REDUCTION_FACTOR = 3

_STUDY_NAME = "hpo-tui"  # fixed, so Hyperband's bracket of trial N is the same every run


def tpe_startup_trials(max_jobs: int) -> int:
    """How many random trials TPE draws before it models the results.

    Optuna's default (10) would make every job of a 9-job tuning job random. A third of
    the budget, at least 2 (TPE needs a few points to split into good and bad) and at
    most Optuna's 10: 9 jobs -> 3 random then 6 modelled, 30 or more jobs -> 10.
    """
    return max(2, min(10, max_jobs // 3))


def make_tpe_sampler(spec: TuningSpec, seed: int | None) -> optuna.samplers.TPESampler:
    """The local Bayesian sampler (also Hyperband's): TPE with the startup rule above,
    modelling the hyperparameters jointly (multivariate), and, when jobs run in parallel,
    treating running trials as if they had the worst value seen so far (constant liar)
    so jobs that start together are not proposed nearly the same hyperparameters.

    Its start-up trials are space-filling (samplers.SmallBudgetTPE): a Latin hypercube over
    the start-up jobs and the parallel jobs asked before they finish, so every categorical
    value and every part of each range is tried before TPE models the results.

    max_jobs is SageMaker's MaxNumberOfTrainingJobs as resolved for the spec (a spec
    without it runs 1 job, so 2 startup trials). The same rule holds after a resume,
    where the restored jobs count as trials already run.
    """
    parallel = max(1, spec.max_parallel_jobs or 1)
    startup = tpe_startup_trials(resolved_max_jobs(spec))
    return make_sampler(TPESetup(startup=startup, constant_liar=parallel > 1, space_filling=True,
                                 design=startup + parallel - 1), seed)


class SearchSpaceError(UserError):
    """A range the search strategy cannot sample from; names the field and the fix."""


@dataclass
class Trial:
    number: int
    hyperparameters: dict[str, str]  # tuned only, values exactly as passed on the command line


@dataclass
class FinishedTrial:
    hyperparameters: dict[str, str]
    value: float | None
    state: str  # "complete", "pruned" or "failed"
    curve: list[tuple[int, float]] = field(default_factory=list)  # (epoch, objective value)


# ---------------------------------------------------------------------------------------
# Search space: spec ranges <-> Optuna distributions <-> command-line strings


@dataclass(frozen=True)
class _Dimension:
    name: str
    parameter: Any  # IntegerParameter | ContinuousParameter | CategoricalParameter
    distribution: BaseDistribution
    reverse_log: bool = False

    def to_string(self, internal: Any) -> str:
        p = self.parameter
        if isinstance(p, CategoricalParameter):
            return str(internal)
        if isinstance(p, IntegerParameter):
            return str(int(internal))
        value = float(internal)
        if self.reverse_log:
            # internal = log(1 - x), sampled uniformly, so x crowds towards 1.
            value = -math.expm1(value)
        value = min(max(value, float(p.min)), float(p.max))
        return repr(value)

    def to_internal(self, text: str) -> Any:
        """The Optuna value for a command-line string; ValueError if it is not in the range."""
        p = self.parameter
        if isinstance(p, CategoricalParameter):
            if text not in p.values:
                raise ValueError(f"{text!r} is not one of {p.values}")
            return text
        if isinstance(p, IntegerParameter):
            number = float(text)
            if not number.is_integer():
                raise ValueError(f"{text!r} is not an integer")
            value: Any = int(number)
        else:
            value = float(text)
            if not math.isfinite(value):
                raise ValueError(f"{text!r} is not a finite number")
        if not (p.min <= value <= p.max):
            raise ValueError(f"{text!r} is outside [{p.min}, {p.max}]")
        if self.reverse_log:
            dist = self.distribution
            assert isinstance(dist, FloatDistribution)
            # Round-off of log1p(-x) may step an ulp outside the bounds at the ends.
            value = min(max(math.log1p(-value), dist.low), dist.high)
        return value


def _dimension(name: str, p: Any) -> _Dimension:
    """The Optuna distribution of one range of a validated spec. Its scaling is read by the
    spec's own rules (spec.scaling_issues): a range they refuse is refused here with the
    same message, for callers that build a search from a spec they did not validate."""
    if isinstance(p, CategoricalParameter):
        return _Dimension(name, p, CategoricalDistribution([str(v) for v in p.values]))
    if not isinstance(p, (IntegerParameter, ContinuousParameter)):
        raise SearchSpaceError(f"ranges.{name}: unknown range type {type(p).__name__}.")
    issues = scaling_issues(f"ranges.{name}", p)
    if issues:
        raise SearchSpaceError(str(issues[0]))
    if isinstance(p, IntegerParameter):
        return _Dimension(name, p, IntDistribution(int(p.min), int(p.max), log=p.scaling == "Logarithmic"))
    low, high = float(p.min), float(p.max)
    if p.scaling == "Logarithmic":
        return _Dimension(name, p, FloatDistribution(low, high, log=True))
    if p.scaling == "ReverseLogarithmic":
        # Optuna samples u = log(1 - x) uniformly; x = 1 - exp(u).
        return _Dimension(name, p, FloatDistribution(math.log1p(-high), math.log1p(-low)), reverse_log=True)
    # Auto and Linear: Optuna has no "Auto", and linear is what SageMaker's Auto starts from.
    return _Dimension(name, p, FloatDistribution(low, high))


def _grid_combinations(spec: TuningSpec) -> list[tuple[str, ...]]:
    # The spec's own enumeration, so the runner's job count (resolved_max_jobs) and the
    # combinations asked here always agree.
    return [tuple(combo[name] for name in spec.ranges) for combo in grid_combinations(spec)]


# ---------------------------------------------------------------------------------------
# Epoch counts


# ---------------------------------------------------------------------------------------
# The strategy


def _worse(a: float, b: float, maximize: bool) -> bool:
    return a < b if maximize else a > b


class SearchStrategy:
    """One tuning job's search: ask for hyperparameters, report epochs, tell results.

    Trial numbers are Optuna's; they identify a trial between ask, report and tell.
    """

    def __init__(self, spec: TuningSpec) -> None:
        self.spec = spec
        self.strategy = spec.strategy
        self.maximize = spec.objective.type != "Minimize"
        self.early_stopping = spec.early_stopping == "Auto"
        self._dims = [_dimension(name, p) for name, p in spec.ranges.items()]
        self._distributions = {d.name: d.distribution for d in self._dims}
        self.max_epochs = max_epochs(spec)

        pruner: optuna.pruners.BasePruner = optuna.pruners.NopPruner()
        if self.strategy == "Hyperband":
            # The same MinResource / MaxResource the SageMaker request carries.
            min_resource, max_resource = hyperband_resources(spec) or (1, 1)
            pruner = optuna.pruners.HyperbandPruner(
                min_resource=min_resource,
                max_resource=max(min_resource, max_resource),
                reduction_factor=HYPERBAND_REDUCTION_FACTOR,
            )
        self.study = optuna.create_study(
            study_name=_STUDY_NAME,
            direction="maximize" if self.maximize else "minimize",
            sampler=self._make_sampler(spec.random_seed),
            pruner=pruner,
        )

        self._grid: list[tuple[str, ...]] = (
            _grid_combinations(spec) if self.strategy == "Grid" else []
        )
        self._grid_taken: set[tuple[str, ...]] = set()  # asked now or finished before a resume
        self._grid_next = 0  # everything before this index is taken
        self._running: dict[int, optuna.Trial] = {}
        self._curves: dict[int, dict[int, float]] = {}  # running trial -> epoch -> value
        self._job_epochs: dict[int, int | None] = {}
        # Curves of finished jobs (any state), in finish order, for the median rule.
        self._finished_curves: list[dict[int, float]] = []

    def _make_sampler(self, seed: int | None) -> optuna.samplers.BaseSampler:
        if self.strategy in ("Random", "Grid"):
            # Grid trials are enqueued one by one; its sampler never picks a value.
            return optuna.samplers.RandomSampler(seed=seed)
        # Bayesian, and Hyperband: Optuna recommends TPE with its HyperbandPruner.
        return make_tpe_sampler(self.spec, seed)

    # -- ask -----------------------------------------------------------------------------

    def ask(self) -> Trial | None:
        """The next trial's hyperparameters; None when the search space is exhausted (Grid)."""
        if self.strategy == "Grid":
            grid, taken = self._grid, self._grid_taken
            while self._grid_next < len(grid) and grid[self._grid_next] in taken:
                self._grid_next += 1
            if self._grid_next == len(self._grid):
                return None
            combo = self._grid[self._grid_next]
            self._grid_taken.add(combo)
            self.study.enqueue_trial(
                {d.name: d.to_internal(v) for d, v in zip(self._dims, combo)}
            )
        trial = self._ask_optuna()
        return Trial(trial.number, self._strings(trial.params))

    def _ask_optuna(self) -> optuna.Trial:
        with warnings.catch_warnings():
            # Enqueued values sit on grid points Optuna did not choose; that is the point.
            warnings.simplefilter("ignore")
            trial = self.study.ask(self._distributions)
        self._running[trial.number] = trial
        self._curves[trial.number] = {}
        self._job_epochs[trial.number] = self._epochs_of(trial.params)
        return trial

    def _strings(self, params: dict[str, Any]) -> dict[str, str]:
        return {d.name: d.to_string(params[d.name]) for d in self._dims}

    def _epochs_of(self, params: dict[str, Any]) -> int | None:
        for d in self._dims:
            if d.name == "num_epoch":
                return as_epochs(d.to_string(params[d.name]))
        return as_epochs(self.spec.estimator.hyperparameters.get("num_epoch"))

    # -- report --------------------------------------------------------------------------

    def report(self, number: int, epoch: int, value: float) -> bool:
        """Record the objective after epoch `epoch` (0-based); True = stop this job now."""
        trial = self._running.get(number)
        if trial is None or value is None or not math.isfinite(value):
            return False
        curve = self._curves[number]
        is_new_epoch = epoch not in curve
        curve[epoch] = value
        if not is_new_epoch or (curve and max(curve) > epoch):
            # A repeated or late line for an epoch already judged: judge only once.
            return False
        # Optuna's resource = epochs done, so epoch k is step k + 1 (max step = max_epochs).
        trial.report(value, epoch + 1)
        stop = False
        if self.strategy == "Hyperband":
            stop = trial.should_prune()
        elif self.early_stopping:
            stop = self._median_rule_stops(curve, epoch)
        last = self._job_epochs.get(number)
        if last is not None and epoch + 1 >= last:
            # The job is finishing anyway; "Stopped" would misreport a full run.
            return False
        return stop

    def _median_rule_stops(self, curve: dict[int, float], epoch: int) -> bool:
        """SageMaker's rule: stop at epoch k when the job's best so far is worse than the
        median of the running averages (epochs 0..k) of finished jobs that reached k."""
        own = [v for e, v in curve.items() if e <= epoch]
        best = max(own) if self.maximize else min(own)
        averages = []
        for done in self._finished_curves:
            if not done or max(done) < epoch:
                continue
            upto = [v for e, v in done.items() if e <= epoch]
            averages.append(sum(upto) / len(upto))
        if len(averages) < MEDIAN_RULE_MIN_JOBS:
            return False
        return _worse(best, statistics.median(averages), self.maximize)

    # -- tell ----------------------------------------------------------------------------

    def tell(self, number: int, value: float | None, state: str) -> None:
        """Finish a trial: "complete" (with its final objective), "pruned" or "failed".

        Telling a trial twice, or one this strategy does not know, does nothing.
        """
        trial = self._running.pop(number, None)
        if trial is None:
            return
        curve = self._curves.pop(number, {})
        self._job_epochs.pop(number, None)
        self._finished_curves.append(curve)
        self._tell_optuna(trial, value, state)

    def _tell_optuna(self, trial: optuna.Trial, value: float | None, state: str) -> None:
        if value is not None and not math.isfinite(value):
            value = None
        if state == "complete" and value is not None:
            self.study.tell(trial, value)
        elif state in ("pruned", "stopped"):
            # Optuna stores the last intermediate value as a pruned trial's value.
            self.study.tell(trial, state=TrialState.PRUNED)
        else:
            self.study.tell(trial, state=TrialState.FAIL)

    # -- restore -------------------------------------------------------------------------

    def restore(self, history: list[FinishedTrial], *, parents: bool = False) -> None:
        """Replay finished jobs (e.g. of a resumed tuning job) so the search continues
        where it left off: Optuna's history, Hyperband's rungs, the median rule's curves,
        and the Grid combinations already done.

        parents=True: the jobs of warm start parents, told to the study before its first ask;
        they take no Grid combination (the seeded sequences move on past them, as on resume)."""
        for done in history:
            curve: dict[int, float] = {}
            for epoch, v in done.curve:  # the last value of an epoch wins, as in report()
                if v is not None and math.isfinite(v):
                    curve[int(epoch)] = float(v)
            curve = dict(sorted(curve.items()))
            try:
                params = {
                    d.name: d.to_internal(done.hyperparameters[d.name]) for d in self._dims
                }
            except (KeyError, ValueError):
                # Outside this spec's search space: it still counts for the median rule.
                self._finished_curves.append(curve)
                continue
            if self.strategy == "Grid" and not parents:
                self._grid_taken.add(tuple(done.hyperparameters[d.name] for d in self._dims))
            self.study.enqueue_trial(params)
            trial = self._ask_optuna()
            for epoch, v in sorted(curve.items()):
                trial.report(v, epoch + 1)
                if self.strategy == "Hyperband":
                    trial.should_prune()  # records the rungs this job reached
            self._running.pop(trial.number)
            self._curves.pop(trial.number)
            self._job_epochs.pop(trial.number)
            self._finished_curves.append(curve)
            self._tell_optuna(trial, done.value, done.state)
            if self.strategy == "Random":
                # Draw (and drop) what this trial drew the first time, so the seeded
                # sequence goes on where it stopped instead of repeating from its start.
                frozen = self.study.trials[trial.number]
                for d in self._dims:
                    self.study.sampler.sample_independent(
                        self.study, frozen, d.name, d.distribution
                    )
        seed = self.spec.random_seed
        if history and seed is not None and self.strategy in ("Bayesian", "Hyperband"):
            # TPE's state cannot be replayed draw by draw; a seed derived from the history
            # length keeps a resumed run repeatable without re-drawing its first trials.
            self.study.sampler = self._make_sampler((seed + 1_000_003 * len(history)) % 2**32)


# ---------------------------------------------------------------------------------------
# Completion criteria


def completion_reason(
    spec: TuningSpec, objectives_in_finish_order: list[float | None]
) -> str | None:
    """Why the tuning job should complete now, by its completion criteria; None = go on.

    objectives_in_finish_order: each finished training job's final objective (None when
    it has none), in the order the jobs finished.
    """
    maximize = spec.objective.type != "Minimize"
    values = [
        v if v is not None and math.isfinite(v) else None for v in objectives_in_finish_order
    ]
    target = spec.completion.target_objective_value
    if target is not None:
        for v in values:
            if v is not None and (v >= target if maximize else v <= target):
                return "target objective value reached"
    patience = spec.completion.max_jobs_not_improving
    if patience:
        best: float | None = None
        streak = 0  # jobs since the last improvement of at least 1%
        for v in values:
            if v is None:
                if best is not None:
                    streak += 1
                continue
            if best is None:
                best, streak = v, 0
                continue
            margin = IMPROVEMENT_FRACTION * abs(best)
            gain = v - best if maximize else best - v
            if gain >= margin and gain > 0:
                streak = 0
            else:
                streak += 1
            if not _worse(v, best, maximize):
                best = v
        if best is not None and streak >= patience:
            return f"{patience} jobs did not improve the best by 1%"
    return None
