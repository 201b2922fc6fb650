"""Side by side: 2-4 training jobs of one tuning job (their curves for every metric, and
which hyperparameters differ), or 2-4 tuning jobs (best so far against jobs and against
wall time, each one's best job and its values, and the warm-start lineage).

Plain data and plain-text tables, no textual: `hpo-tui compare` prints them, the compare
screen draws them. Works on either backend's Snapshot; imports hpo_tui.views and
hpo_tui.analysis (the finished, scored jobs) only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from hpo_tui.analysis import scored_jobs
from hpo_tui.errors import UserError
from hpo_tui.estimate import ended_of
from hpo_tui.sanitize import sanitize
from hpo_tui.views import MetricPoint, Snapshot, TrainingJobView, TuningJobView, is_better

MIN_COMPARED, MAX_COMPARED = 2, 4
DASH = "—"


class CompareError(UserError):
    """Not something that can be compared; str() says why and what to do."""


def check_count(names: Sequence[str], what: str) -> None:
    unique = list(dict.fromkeys(names))
    if len(unique) != len(names):
        raise CompareError(f"{what}: each name once, please ({', '.join(names)})")
    if not MIN_COMPARED <= len(unique) <= MAX_COMPARED:
        raise CompareError(f"compare {MIN_COMPARED} to {MAX_COMPARED} {what}; {len(unique)} given")


@dataclass(frozen=True)
class ValueRow:
    """One hyperparameter (or other field) across the compared jobs."""

    name: str
    values: tuple[str | None, ...]  # one per job, None: the job has none

    @property
    def differs(self) -> bool:
        return len(set(self.values)) > 1


def _value_rows(names: Iterable[str], per_job: Sequence[dict[str, str]]) -> tuple[ValueRow, ...]:
    """Rows of the values each job has; the rows that differ first, each group in the given order."""
    rows = [ValueRow(name, tuple(values.get(name) for values in per_job)) for name in names]
    return tuple([r for r in rows if r.differs] + [r for r in rows if not r.differs])


# -- training jobs of one tuning job -------------------------------------------------------------


@dataclass(frozen=True)
class TrainingJobsComparison:
    tuning_job: TuningJobView
    jobs: tuple[TrainingJobView, ...]
    metrics: tuple[str, ...]  # every metric the spec defines, then any other the logs carried
    # metric -> job name -> (epoch, value) in epoch order; the last value of an epoch wins
    curves: dict[str, dict[str, tuple[tuple[int, float], ...]]]
    hyperparameters: tuple[ValueRow, ...]  # the ones that differ first

    def last(self, metric: str, job: str) -> float | None:
        curve = self.curves.get(metric, {}).get(job, ())
        return curve[-1][1] if curve else None


def compare_training_jobs(snap: Snapshot, names: Sequence[str],
                          points: Iterable[MetricPoint]) -> TrainingJobsComparison:
    """The training jobs named (2-4, of this snapshot's tuning job) with their points."""
    check_count(names, "training jobs")
    by_name = {j.name: j for j in snap.training_jobs}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise CompareError(f"no training job {', '.join(missing)} in tuning job {snap.tuning_job.name}; "
                           f"`hpo-tui status {snap.tuning_job.name}` lists its training jobs")
    jobs = tuple(by_name[n] for n in names)
    curves: dict[str, dict[str, dict[int, float]]] = {}
    wanted = set(names)
    for p in points:
        if p.job in wanted and math.isfinite(p.value):
            curves.setdefault(p.metric, {}).setdefault(p.job, {})[int(p.epoch)] = float(p.value)
    view = snap.tuning_job
    metrics = list(view.metric_names) or [view.objective_name]
    metrics += sorted(m for m in curves if m not in metrics)
    ordered = {m: {j: tuple(sorted(c.items())) for j, c in curves.get(m, {}).items()} for m in metrics}
    hp_names = list(view.tuned_parameters)
    for job in jobs:
        hp_names += [k for k in job.hyperparameters if k not in hp_names]
    rows = _value_rows(hp_names, [j.hyperparameters for j in jobs])
    return TrainingJobsComparison(view, jobs, tuple(metrics), ordered, rows)


# -- tuning jobs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TuningJobSummary:
    view: TuningJobView
    # After each finished job with an objective: (its launch number, from 1; best so far)
    by_index: tuple[tuple[int, float], ...]
    # (seconds from the tuning job's creation to the job's end; best so far), in end order
    by_time: tuple[tuple[float, float], ...]
    best_job: TrainingJobView | None
    scored: int  # finished jobs with an objective (failed ones never count)

    @property
    def best_value(self) -> float | None:
        return self.by_index[-1][1] if self.by_index else None

    @property
    def wall_seconds(self) -> float | None:
        return self.by_time[-1][0] if self.by_time else None

    @property
    def seconds_to_best(self) -> float | None:
        """When the best so far last improved."""
        out = None
        previous = None
        for seconds, best in self.by_time:
            if best != previous:
                out, previous = seconds, best
        return out


def summarise(snap: Snapshot) -> TuningJobSummary:
    view = snap.tuning_job
    scored = scored_jobs(snap)
    maximize = view.objective_type != "Minimize"
    by_index: list[tuple[int, float]] = []
    best: float | None = None
    best_job: TrainingJobView | None = None
    for s in scored:  # launch order
        if is_better(s.value, best, view.objective_type):
            best, best_job = s.value, s.job
        by_index.append((s.job.launch_index + 1, best))  # type: ignore[arg-type]
    origin = view.created_at or min((j.created_at or j.started_at or 0.0 for j in snap.training_jobs),
                                    default=0.0)
    ended = sorted((s for s in scored if s.job.ended_at is not None),
                   key=lambda s: (s.job.ended_at, s.job.launch_index))
    by_time: list[tuple[float, float]] = []
    best = None
    for s in ended:
        if best is None or (s.value > best if maximize else s.value < best):
            best = s.value
        by_time.append((max(0.0, float(s.job.ended_at) - origin), best))  # type: ignore[arg-type]
    return TuningJobSummary(view, tuple(by_index), tuple(by_time), best_job, len(scored))


@dataclass(frozen=True)
class TuningJobsComparison:
    summaries: tuple[TuningJobSummary, ...]
    best_values: tuple[ValueRow, ...]  # each one's best job's hyperparameters
    lineage: tuple[str, ...]  # "child warm-started from parent, ... (type)" lines
    note: str | None  # e.g. the objectives differ, so the bests do not compare

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.view.name for s in self.summaries)


def compare_tuning_jobs(snaps: Sequence[Snapshot]) -> TuningJobsComparison:
    check_count([s.tuning_job.name for s in snaps], "tuning jobs")
    summaries = tuple(summarise(s) for s in snaps)
    names: list[str] = []
    for s in summaries:
        names += [n for n in s.view.tuned_parameters if n not in names]
        if s.best_job is not None:
            names += [n for n in s.best_job.hyperparameters if n not in names]
    best_values = _value_rows(names, [s.best_job.hyperparameters if s.best_job else {} for s in summaries])
    compared = {s.view.name for s in summaries}
    lineage = []
    for s in summaries:
        if s.view.warm_start_parents:
            parents = ", ".join(p + ("" if p in compared else " (not compared)") for p in s.view.warm_start_parents)
            lineage.append(f"{s.view.name} warm-started from {parents} ({s.view.warm_start_type or 'warm start'})")
    objectives = {(s.view.objective_name, s.view.objective_type) for s in summaries if s.view.objective_name}
    note = None
    if len(objectives) > 1:
        note = "the objectives differ (" + "; ".join(f"{n} {t}" for n, t in sorted(objectives)) + \
            "): their bests are not comparable"
    return TuningJobsComparison(summaries, best_values, tuple(lineage), note)


# -- plain-text tables (hpo-tui compare) -------------------------------------------------------------


def fmt_number(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return DASH
    return f"{value:.4f}" if abs(value) < 1000 else f"{value:.4g}"


def fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return DASH
    if seconds < 60:
        return f"{seconds:.1f}s"
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s" if m else f"{s}s"


def fmt_value(text: str | None) -> str:
    """A hyperparameter value as shown: floats to 6 significant digits (values travel as strings)."""
    if text is None:
        return DASH
    try:
        number = float(text)
    except ValueError:
        return text
    return text if number.is_integer() or not math.isfinite(number) else f"{number:.6g}"


def _clean(text: Any) -> str:
    """Untrusted text (names, values from logs or AWS) on one line, without control sequences."""
    return " ".join(sanitize(str(text)).split())


def table(header: Sequence[str], rows: Sequence[Sequence[str]], *, marks: Sequence[bool] = ()) -> str:
    """A left-aligned text table; rows whose mark is true start with '*'."""
    cells = [[_clean(c) for c in header]] + [[_clean(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lead = [" "] + ["*" if (marks[i] if i < len(marks) else False) else " " for i in range(len(rows))]
    return "\n".join((lead[n] + " " + "  ".join(c.ljust(w) for c, w in zip(r, widths))).rstrip()
                     for n, r in enumerate(cells))


def short_name(name: str, prefix: str) -> str:
    return name[len(prefix) + 1:] if name.startswith(prefix + "-") and len(name) > len(prefix) + 1 else name


def render_training_jobs(c: TrainingJobsComparison) -> str:
    t = c.tuning_job
    labels = [short_name(j.name, t.name) for j in c.jobs]
    out = [f"Training jobs of tuning job {_clean(t.name)} ({t.backend}), objective {_clean(t.objective_name)} "
           f"({t.objective_type})", ""]
    rows = [["status"] + [j.status for j in c.jobs],
            ["final objective"] + [fmt_number(j.final_objective) for j in c.jobs]]
    rows += [[f"last {m}"] + [fmt_number(c.last(m, j.name)) for j in c.jobs] for m in c.metrics]
    out.append(table(["training job"] + labels, rows))
    out += ["", "Hyperparameters (* differs)"]
    out.append(table(["hyperparameter"] + labels,
                     [[r.name] + [fmt_value(v) for v in r.values] for r in c.hyperparameters],
                     marks=[r.differs for r in c.hyperparameters]))
    for metric in c.metrics:
        curves = c.curves.get(metric, {})
        epochs = sorted({e for curve in curves.values() for e, _ in curve})
        out += ["", f"{_clean(metric)} per epoch"]
        if not epochs:
            out.append("  no value in the logs yet")
            continue
        values = {j: dict(curve) for j, curve in curves.items()}
        out.append(table(["epoch"] + labels, [[str(e)] + [fmt_number(values.get(j.name, {}).get(e)) for j in c.jobs]
                                               for e in epochs]))
    return "\n".join(out)


def render_tuning_jobs(c: TuningJobsComparison) -> str:
    names = list(c.names)
    s = c.summaries
    rows = [
        ["backend"] + [x.view.backend for x in s],
        ["status"] + [x.view.status for x in s],
        ["strategy"] + [x.view.strategy for x in s],
        ["objective"] + [f"{x.view.objective_name} ({x.view.objective_type})" for x in s],
        ["finished / max jobs"] + [f"{ended_of(x.view)}/{x.view.max_jobs}" for x in s],  # as `jobs` counts
        ["scored jobs"] + [str(x.scored) for x in s],
        ["best objective"] + [fmt_number(x.best_value) for x in s],
        ["best training job"] + [x.best_job.name if x.best_job else DASH for x in s],
        ["best found at job"] + [str(x.best_job.launch_index + 1) if x.best_job else DASH for x in s],
        ["best found after"] + [fmt_seconds(x.seconds_to_best) for x in s],
        ["wall time"] + [fmt_seconds(x.wall_seconds) for x in s],
        ["warm start from"] + [", ".join(x.view.warm_start_parents) or DASH for x in s],
    ]
    out = [table(["tuning job"] + names, rows)]
    if c.note:
        out += ["", f"Note: {c.note}"]
    out += ["", "Best training job's hyperparameters (* differs)"]
    out.append(table(["hyperparameter"] + names,
                     [[r.name] + [fmt_value(v) for v in r.values] for r in c.best_values],
                     marks=[r.differs for r in c.best_values]))
    out += ["", "Best so far after N finished jobs (launch number)"]
    out.append(_steps("jobs", [x.by_index for x in s], names, str))
    out += ["", "Best so far against wall time since each tuning job started"]
    out.append(_steps("time", [x.by_time for x in s], names, fmt_seconds))
    out += ["", "Warm-start lineage"]
    out += [f"  {_clean(line)}" for line in c.lineage] or ["  none of these tuning jobs warm-started"]
    return "\n".join(out)


def _steps(label: str, series: Sequence[Sequence[tuple[float, float]]], names: Sequence[str], show) -> str:
    """Best so far of each series at every x where one of them improved (and at its last x)."""
    xs = set()
    for points in series:
        previous = None
        for x, best in points:
            if best != previous:
                xs.add(x)
                previous = best
        if points:
            xs.add(points[-1][0])
    if not xs:
        return "  no finished job with an objective yet"

    def at(points: Sequence[tuple[float, float]], x: float) -> str:
        value = None
        for px, best in points:
            if px > x:
                break
            value = best
        return fmt_number(value)

    return table([label] + list(names), [[show(x)] + [at(p, x) for p in series] for x in sorted(xs)])


# -- reading what is compared from a backend (thread workers and the CLI) ------------------------------


def load_training_jobs(backend: Any, tuning_job: str, names: Sequence[str]) -> TrainingJobsComparison:
    """Poll the tuning job (rows) and read every point of the named training jobs."""
    from hpo_tui.backends.base import poll_rows

    check_count(names, "training jobs")
    snap = poll_rows(backend, tuning_job)
    curves = getattr(backend, "curves", None)
    points = curves(tuning_job, list(names)) if curves is not None else backend.poll(tuning_job).new_points
    return compare_training_jobs(snap, names, points)


def load_tuning_jobs(backend: Any, names: Sequence[str]) -> TuningJobsComparison:
    """Poll each tuning job (rows only: the bests need no curve)."""
    from hpo_tui.backends.base import poll_rows

    check_count(names, "tuning jobs")
    return compare_tuning_jobs([poll_rows(backend, name) for name in names])


def tuning_job_candidates(training_job: str) -> list[str]:
    """The tuning jobs a training job may belong to, from its name: the local engine names its
    training jobs TUNING-NNN, SageMaker TUNING-NNN-SUFFIX (the caller checks which exists)."""
    out = []
    parts = training_job.rsplit("-", 2)
    if len(parts) == 3 and parts[1].isdigit():
        out.append(parts[0])
    head, _, tail = training_job.rpartition("-")
    if head and tail.isdigit():
        out.append(head)
    return out
