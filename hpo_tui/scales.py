"""Scales that survive a diverged job: the range every chart and sparkline draws on, from
the values that matter, kept within the metric's known bounds, and which jobs diverged.

One Adam job collapsing to 0.10 used to stretch every shared scale to 0.10-0.98, so the
healthy jobs all drew as a full block. Here the range comes from the finished (or, while
nothing has finished, the scored) jobs that did not diverge; a value outside it is clamped
to the edge and said to be (Placed.below / above) so a drawing can mark it.

Headless (no textual): the dashboard's table and charts and the search views use it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from statistics import median
from typing import Iterable, Mapping, Sequence

from hpo_tui.views import Snapshot, TrainingJobView

# Metric names that are fractions in [0, 1] (when every value seen is too).
_FRACTION_WORDS = re.compile(r"(accuracy|acc|auc|f1|precision|recall|iou|dice|fraction|ratio|rate)(\b|_|-|$)",
                             re.IGNORECASE)
# Metric names that are never negative (losses and errors).
_NON_NEGATIVE_WORDS = re.compile(r"(loss|error|err|mse|mae|rmse|perplexity|nll)(\b|_|-|$)", re.IGNORECASE)
# A job diverged when it is this much worse than the median of its peers (at least), in
# robust spreads (MAD x 1.4826)...
DIVERGED_SPREADS = 6.0
# ...and, on a bounded metric, when it lost this fraction of the way from the median to the
# worst bound (an accuracy of 0.10 against a median of 0.95); unbounded, when it is this
# many times the median's size worse (a loss of 2.3 against a median of 0.15).
DIVERGED_FRACTION_OF_ROOM = 0.5
DIVERGED_TIMES_MEDIAN = 4.0
MIN_PEERS = 3  # fewer jobs with a value: nobody is called diverged
# The zoomed scale spans the best quarter of the jobs that matter (at least this many).
ZOOM_FRACTION = 0.25
ZOOM_MIN_JOBS = 3


Bounds = tuple[float | None, float | None]


def metric_bounds(name: str, values: Iterable[float] = (), declared: Bounds | None = None) -> Bounds:
    """The values a metric can take: what the spec declared, else inferred from its name and
    the values seen ([0, 1] for an accuracy whose values all lie there; [0, ...) for a loss).
    (None, None): nothing is known."""
    if declared is not None and (declared[0] is not None or declared[1] is not None):
        return declared
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if _FRACTION_WORDS.search(name) and all(0.0 <= v <= 1.0 for v in finite):
        return (0.0, 1.0)
    if _NON_NEGATIVE_WORDS.search(name) and all(v >= 0.0 for v in finite):
        return (0.0, None)
    return (None, None)


@dataclass(frozen=True)
class Scale:
    """A value range low..high for drawing; `zoomed` when it spans the top jobs only."""

    low: float
    high: float
    zoomed: bool = False

    @property
    def span(self) -> float:
        return self.high - self.low

    def where(self, value: float) -> int:
        """-1 below the range (or NaN), 1 above it, 0 inside."""
        if not math.isfinite(value):
            return 1 if value == math.inf else -1
        return -1 if value < self.low else 1 if value > self.high else 0

    def clamp(self, value: float) -> float:
        """The value moved to the nearest edge when outside (NaN goes to the bottom)."""
        if math.isnan(value):
            return self.low
        return min(self.high, max(self.low, value))

    def fraction(self, value: float) -> float:
        """Where a value sits, 0 (low) to 1 (high), clamped."""
        if self.span <= 0:
            return 0.5
        return (self.clamp(value) - self.low) / self.span

    def padded(self, fraction: float = 0.05, *, bounds: Bounds = (None, None), least: float = 0.0) -> "Scale":
        """Widened by `fraction` of its span on each side (at least `least` in all), for an
        axis whose extreme points should not sit on the frame; never past the bounds."""
        pad = max(self.span * fraction, (least - self.span) / 2, 0.0)
        return Scale(*_within(self.low - pad, self.high + pad, bounds, least), zoomed=self.zoomed)


def _within(low: float, high: float, bounds: Bounds, least: float = 0.0) -> tuple[float, float]:
    """low..high kept inside the bounds, shifted (not shrunk) to keep `least` span if it can."""
    bound_low, bound_high = bounds
    if bound_low is not None and low < bound_low:
        high = min(high + (bound_low - low), bound_high) if bound_high is not None else high + (bound_low - low)
        low = bound_low
    if bound_high is not None and high > bound_high:
        low = max(low - (high - bound_high), bound_low) if bound_low is not None else low - (high - bound_high)
        high = bound_high
    return low, high


def robust_scale(reference: Sequence[float], *, bounds: Bounds = (None, None), zoom_to: Sequence[float] = (),
                 zoom: bool = False, maximize: bool = True, least: float = 0.0) -> Scale | None:
    """The range of the `reference` values (the jobs that matter), within the bounds.

    zoom: the worse end is the worst of `zoom_to` (the top jobs' values) instead, so their
    differences fill the scale. least: the smallest span (one value alone gets +-least/2,
    kept within the bounds: one accuracy of 0.98 is not drawn on 0.49-1.47).
    None: no finite reference value.
    """
    values = [v for v in reference if math.isfinite(v)]
    if not values:
        return None
    low, high = min(values), max(values)
    zoomed = False
    if zoom:
        top = [v for v in zoom_to if math.isfinite(v) and low <= v <= high]
        if top and maximize and min(top) > low:
            low, zoomed = min(top), True
        elif top and not maximize and max(top) < high:
            high, zoomed = max(top), True
    if high - low < least:
        middle = (low + high) / 2
        low, high = middle - least / 2, middle + least / 2
    return Scale(*_within(low, high, bounds, least), zoomed=zoomed)


def least_span(bounds: Bounds, values: Sequence[float] = ()) -> float:
    """The smallest span worth an axis: 2% of a bounded metric's range (0.02 for an accuracy),
    else a tenth of the largest value's size (or 1e-3 of nothing)."""
    if bounds[0] is not None and bounds[1] is not None:
        return 0.02 * (bounds[1] - bounds[0])
    finite = [abs(v) for v in values if math.isfinite(v)]
    return 0.1 * max(finite) if finite and max(finite) > 0 else 1e-3


def top_values(values: Sequence[float], maximize: bool, fraction: float = ZOOM_FRACTION,
               least: int = ZOOM_MIN_JOBS) -> list[float]:
    """The best `fraction` of the values (at least `least` of them, all if fewer)."""
    finite = sorted((v for v in values if math.isfinite(v)), reverse=maximize)
    count = max(least, math.ceil(len(finite) * fraction))
    return finite[:count]


def _spread(values: Sequence[float], middle: float) -> float:
    """Median absolute deviation, scaled to a normal's standard deviation."""
    return 1.4826 * median(abs(v - middle) for v in values)


def diverged(values: Mapping[str, float | None], maximize: bool, bounds: Bounds = (None, None)) -> frozenset[str]:
    """The names whose value collapsed: NaN or infinite, or far worse than the median of the
    values (DIVERGED_SPREADS spreads and DIVERGED_FRACTION_OF_ROOM of the room to the worst
    bound, or DIVERGED_TIMES_MEDIAN times the median's size when there is no bound).
    A missing value (None) is no verdict. Fewer than MIN_PEERS finite values: only NaN and
    infinities count."""
    out = {name for name, v in values.items() if v is not None and not math.isfinite(v)}
    finite = {name: v for name, v in values.items() if v is not None and math.isfinite(v)}
    if len(finite) < MIN_PEERS:
        return frozenset(out)
    middle = median(finite.values())
    spread = _spread(list(finite.values()), middle)
    worst = bounds[0] if maximize else bounds[1]
    room = abs(middle - worst) * DIVERGED_FRACTION_OF_ROOM if worst is not None \
        else abs(middle) * DIVERGED_TIMES_MEDIAN
    gap = max(DIVERGED_SPREADS * spread, room)
    if gap <= 0:
        return frozenset(out)
    for name, v in finite.items():
        worse_by = (middle - v) if maximize else (v - middle)
        if worse_by > gap:
            out.add(name)
    return frozenset(out)


# --- a tuning job's jobs ---------------------------------------------------------------


def counts_as_finished(job: TrainingJobView) -> bool:
    """A job whose final objective is a result: ended, and not Failed (a failed job's last
    value is partial, never ranked or plotted as finished)."""
    return job.is_terminal and job.status != "Failed" and job.final_objective is not None


@dataclass(frozen=True)
class JobScales:
    """What one snapshot's drawings share: the objective's bounds, the jobs that diverged,
    and the final objectives the scales come from (finished, not diverged)."""

    bounds: Bounds
    maximize: bool
    diverged: frozenset[str]
    reference: tuple[float, ...]  # final objectives of the jobs that matter
    top: tuple[float, ...]  # the best of them (what a zoomed scale spans)
    median: float | None = None  # of every finite final objective (what "diverged" is measured from)

    def objective_scale(self, extra: Sequence[float] = (), *, zoom: bool = False,
                        least: float = 0.0) -> Scale | None:
        """The objective's scale: from the reference values (or, when none has finished,
        from `extra`, the values at hand, without the diverged ones)."""
        return robust_scale(self.reference or extra, bounds=self.bounds, zoom_to=self.top, zoom=zoom,
                            maximize=self.maximize, least=least)


def job_scales(snapshot: Snapshot, declared: Bounds | None = None) -> JobScales:
    """The scales' inputs for one snapshot: a pass over its jobs and two medians (20 ms at
    10,000 jobs), so the dashboard computes them in its poll thread, and the result is kept
    on the snapshot (as Snapshot.prepare keeps its derived values)."""
    if declared is None and "_job_scales" in snapshot.__dict__:
        return snapshot.__dict__["_job_scales"]
    scales = _job_scales(snapshot, declared)
    if declared is None:
        snapshot.__dict__["_job_scales"] = scales  # a frozen dataclass: its cache, like prepare()'s
    return scales


def _job_scales(snapshot: Snapshot, declared: Bounds | None) -> JobScales:
    view = snapshot.tuning_job
    maximize = view.objective_type != "Minimize"
    jobs = snapshot.training_jobs
    values = [j.final_objective for j in jobs if j.final_objective is not None]
    bounds = metric_bounds(view.objective_name, values,
                           declared if declared is not None else getattr(view, "objective_bounds", None))
    gone = diverged({j.name: j.final_objective for j in jobs}, maximize, bounds)
    reference = tuple(j.final_objective for j in jobs  # type: ignore[misc]
                      if counts_as_finished(j) and j.name not in gone and math.isfinite(j.final_objective))
    if not reference:  # nothing finished yet: the running jobs' values, as the charts show them
        reference = tuple(j.final_objective for j in jobs  # type: ignore[misc]
                          if j.final_objective is not None and j.status != "Failed" and j.name not in gone
                          and math.isfinite(j.final_objective))
    finite = [v for v in values if math.isfinite(v)]
    return JobScales(bounds, maximize, gone, reference, tuple(top_values(reference, maximize)),
                     median(finite) if finite else None)
