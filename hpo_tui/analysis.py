"""What explains a search, computed from one polled Snapshot (either backend): the tuned
hyperparameters as axes, the finished jobs with an objective, best-so-far over time,
parameter importance (Optuna's PED-ANOVA on an in-memory study), and the Optuna study
itself, which the Optuna export writes to a JournalStorage file.

Plain data, no textual: the search views draw it, the export writes it. Below the report
and the app, above the backends; imports only hpo_tui.views (and optuna, lazily: it costs
a few hundred milliseconds to import).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from hpo_tui.views import MetricPoint, ParameterRangeView, Snapshot, TrainingJobView

if TYPE_CHECKING:
    import optuna

# PED-ANOVA compares the top-quantile jobs with all of them. With fewer finished jobs
# than this the top group is one or two jobs and the bars are noise, so the view says how
# many more jobs it needs instead.
MIN_IMPORTANCE_JOBS = 8
# The top group is the best 10% of the jobs, and never fewer than 2 jobs.
IMPORTANCE_TOP_FRACTION = 0.1
IMPORTANCE_MIN_TOP_JOBS = 2


@dataclass(frozen=True)
class Axis:
    """A tuned hyperparameter as the views draw it."""

    name: str
    categorical: bool
    log: bool = False
    low: float = 0.0  # numeric axes: the range (widened to every value seen)
    high: float = 1.0
    integer: bool = False
    values: tuple[str, ...] = ()  # categorical axes: the values, in range order

    def number(self, text: str | None) -> float | None:
        """The value of a job's hyperparameter on this axis; None when it has none."""
        if text is None:
            return None
        if self.categorical:
            return float(self.values.index(text)) if text in self.values else None
        try:
            value = float(text)
        except ValueError:
            return None
        if not math.isfinite(value) or (self.log and value <= 0):
            return None
        return value

    def position(self, text: str | None) -> float | None:
        """Where a value sits along the axis, 0..1 (log-scaled axes in log space)."""
        value = self.number(text)
        if value is None:
            return None
        if self.categorical:
            return 0.5 if len(self.values) == 1 else value / (len(self.values) - 1)
        low, high = self.low, self.high
        if self.log:
            value, low, high = math.log10(value), math.log10(low), math.log10(high)
        return 0.5 if high <= low else (value - low) / (high - low)


@dataclass(frozen=True)
class ScoredJob:
    job: TrainingJobView
    value: float  # final objective


def scored_jobs(snap: Snapshot) -> list[ScoredJob]:
    """Finished training jobs with a final objective, in launch order (early-stopped ones
    included, with the objective they stopped at, as SageMaker scores them)."""
    out = []
    for job in sorted(snap.training_jobs, key=lambda j: j.launch_index):
        v = job.final_objective
        if job.is_terminal and job.status != "Failed" and v is not None and math.isfinite(v):
            out.append(ScoredJob(job, v))
    return out


def best_job(snap: Snapshot, scored: list[ScoredJob] | None = None) -> ScoredJob | None:
    scored = scored_jobs(snap) if scored is None else scored
    if not scored:
        return None
    maximize = snap.tuning_job.objective_type != "Minimize"
    return (max if maximize else min)(scored, key=lambda s: s.value)


def axes(snap: Snapshot) -> list[Axis]:
    """One axis per tuned hyperparameter, from the launched ranges when the backend knows
    them, else from the values the jobs ran with."""
    ranges = {r.name: r for r in snap.tuning_job.parameter_ranges}
    names = list(snap.tuning_job.tuned_parameters) or list(ranges)
    for job in snap.training_jobs:
        names += [k for k in job.hyperparameters if k not in names]
    return [_axis(name, ranges.get(name), snap.training_jobs) for name in names]


def _axis(name: str, r: ParameterRangeView | None, jobs: tuple[TrainingJobView, ...]) -> Axis:
    seen = [j.hyperparameters[name] for j in jobs if name in j.hyperparameters]
    numbers = []
    for text in seen:
        try:
            numbers.append(float(text))
        except ValueError:
            numbers = None  # type: ignore[assignment]
            break
    numbers = [n for n in numbers if math.isfinite(n)] if numbers is not None else None
    if (r is not None and r.kind == "categorical") or (r is None and numbers is None):
        values = list(r.values) if r is not None else []
        values += [v for v in dict.fromkeys(seen) if v not in values]
        return Axis(name, True, values=tuple(values))
    low = r.min if r is not None and r.min is not None else min(numbers or [0.0])
    high = r.max if r is not None and r.max is not None else max(numbers or [1.0])
    if numbers:
        low, high = min([low] + numbers), max([high] + numbers)
    log = r is not None and r.is_log and low > 0
    integer = r.kind == "integer" if r is not None else bool(numbers) and all(n.is_integer() for n in numbers)
    return Axis(name, False, log=log, low=float(low), high=float(high), integer=integer)


# -- objective over time ----------------------------------------------------------------------


@dataclass(frozen=True)
class TimePoint:
    seconds: float  # since the tuning job was created (or its first job started)
    value: float
    best_so_far: float
    job: str
    improved: bool  # this job set a new best


def objective_over_time(snap: Snapshot) -> list[TimePoint]:
    """Each finished job's objective at the time it ended, and the best so far then."""
    scored = [s for s in scored_jobs(snap) if s.job.ended_at is not None]
    scored.sort(key=lambda s: (s.job.ended_at, s.job.launch_index))
    starts = [snap.tuning_job.created_at] + [j.created_at or j.started_at for j in snap.training_jobs]
    known = [t for t in starts if t is not None]
    origin = min(known) if known else (scored[0].job.ended_at if scored else 0.0)
    maximize = snap.tuning_job.objective_type != "Minimize"
    out: list[TimePoint] = []
    best: float | None = None
    for s in scored:
        improved = best is None or (s.value > best if maximize else s.value < best)
        if improved:
            best = s.value
        assert best is not None
        out.append(TimePoint(float(s.job.ended_at) - origin, s.value, best, s.job.name, improved))
    return out


# -- the Optuna study ---------------------------------------------------------------------


def distributions(snap: Snapshot) -> dict[str, Any]:
    """Optuna distributions of the tuned hyperparameters (every value seen fits in them)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    ranges = {r.name: r for r in snap.tuning_job.parameter_ranges}
    out: dict[str, Any] = {}
    for axis in axes(snap):
        r = ranges.get(axis.name)
        if axis.categorical:
            out[axis.name] = CategoricalDistribution(list(axis.values) or [""])
        elif r is not None and axis.integer and float(axis.low).is_integer() \
                and float(axis.high).is_integer():
            out[axis.name] = IntDistribution(int(axis.low), int(axis.high), log=axis.log)
        else:
            out[axis.name] = FloatDistribution(axis.low, axis.high, log=axis.log)
    return out


def _param(dist: Any, text: str) -> Any:
    from optuna.distributions import CategoricalDistribution, IntDistribution

    if isinstance(dist, CategoricalDistribution):
        return text
    value = float(text)
    if isinstance(dist, IntDistribution):
        if not value.is_integer():
            raise ValueError(text)
        return int(value)
    return value


def intermediate_values(points: tuple[MetricPoint, ...] | list[MetricPoint], objective: str
                        ) -> dict[str, dict[int, float]]:
    """Per job, the objective after each epoch, keyed by epochs done (the log's 0-based
    Epoch[k] is step k + 1, as the local engine reports it to Optuna); the last line of an
    epoch wins."""
    out: dict[str, dict[int, float]] = {}
    for p in points:
        if p.metric == objective and math.isfinite(p.value):
            out.setdefault(p.job, {})[int(p.epoch) + 1] = float(p.value)
    return out


def _when(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, tz=timezone.utc).replace(tzinfo=None)


def frozen_trials(snap: Snapshot, points: tuple[MetricPoint, ...] | list[MetricPoint] = (),
                  *, finished_only: bool = False) -> list["optuna.trial.FrozenTrial"]:
    """One Optuna trial per training job, in launch order: Completed -> COMPLETE with the
    final objective, Stopped -> PRUNED (with the objective it stopped at, as Optuna keeps a
    pruned trial's last intermediate value), Failed (or no objective) -> FAIL, running -> RUNNING.
    Each keeps the training job's name, status and tuned values as strings in user_attrs."""
    from optuna.trial import FrozenTrial, TrialState

    dists = distributions(snap)
    curves = intermediate_values(points, snap.tuning_job.objective_name)
    trials = []
    for number, job in enumerate(sorted(snap.training_jobs, key=lambda j: j.launch_index)):
        if finished_only and not job.is_terminal:
            continue
        params, trial_dists = {}, {}
        for name, dist in dists.items():
            text = job.hyperparameters.get(name)
            if text is None:
                continue
            try:
                params[name] = _param(dist, text)
            except ValueError:
                continue
            trial_dists[name] = dist
        value = job.final_objective
        if value is not None and not math.isfinite(value):
            value = None
        if not job.is_terminal:
            state, value = TrialState.RUNNING, None
        elif job.status == "Completed" and value is not None:
            state = TrialState.COMPLETE
        elif job.status == "Stopped":
            state = TrialState.PRUNED
        else:
            state, value = TrialState.FAIL, None
        attrs: dict[str, Any] = {"training_job": job.name, "status": job.status,
                                 "hyperparameters": dict(job.hyperparameters)}
        if job.failure_reason:
            attrs["failure_reason"] = job.failure_reason
        start = _when(job.started_at or job.created_at)
        end = _when(job.ended_at) if job.is_terminal else None
        if job.is_terminal and end is None:
            end = start
        trials.append(FrozenTrial(
            number=number, state=state, value=value, values=None,
            datetime_start=start, datetime_complete=end, params=params,
            distributions=trial_dists, user_attrs=attrs, system_attrs={},
            intermediate_values=dict(sorted(curves.get(job.name, {}).items())),
            trial_id=number,
        ))
    return trials


def build_study(snap: Snapshot, points: tuple[MetricPoint, ...] | list[MetricPoint] = (),
                storage: Any = None, *, finished_only: bool = False) -> "optuna.Study":
    """An Optuna study of the tuning job (in memory unless a storage is given)."""
    import warnings

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "A new study created" line
    t = snap.tuning_job
    study = optuna.create_study(
        storage=storage, study_name=t.name,
        direction="minimize" if t.objective_type == "Minimize" else "maximize",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names([t.objective_name])
    for key, value in (("backend", t.backend), ("strategy", t.strategy),
                       ("objective", t.objective_name), ("max_jobs", t.max_jobs),
                       ("max_parallel_jobs", t.max_parallel_jobs)):
        study.set_user_attr(key, value)
    for trial in frozen_trials(snap, points, finished_only=finished_only):
        study.add_trial(trial)
    return study


# -- importance --------------------------------------------------------------------------


@dataclass(frozen=True)
class Importance:
    values: dict[str, float]  # hyperparameter -> importance, most important first; {} if too few
    jobs: int  # finished jobs with an objective
    needed: int  # more such jobs needed before importance is computed (0: computed)
    top_jobs: int = 0  # size of the top group the importances explain


def importance(snap: Snapshot) -> Importance:
    """PED-ANOVA importance of each tuned hyperparameter for reaching the top jobs."""
    scored = scored_jobs(snap)
    completed = [s for s in scored if s.job.status == "Completed"]
    n = len(completed)
    if n < MIN_IMPORTANCE_JOBS:
        return Importance({}, n, MIN_IMPORTANCE_JOBS - n)
    import warnings

    import optuna
    from optuna.importance import PedAnovaImportanceEvaluator

    study = build_study(snap, finished_only=True)
    top = max(IMPORTANCE_MIN_TOP_JOBS, math.ceil(IMPORTANCE_TOP_FRACTION * n))
    quantile = min(0.5, top / n)
    evaluator = PedAnovaImportanceEvaluator(target_quantile=quantile, region_quantile=1.0)
    names = [a.name for a in axes(snap)]
    params = [p for p in names if any(p in t.params for t in study.trials)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = optuna.importance.get_param_importances(
            study, evaluator=evaluator, params=params, normalize=True)
    ordered = dict(sorted(values.items(), key=lambda kv: -kv[1]))
    return Importance(ordered, n, 0, math.ceil(quantile * n))
