"""The rows of the dashboard's training-job table, without Textual: which jobs are shown
(status and text filter), in which order (raw values, re-sorted incrementally), which rows
a poll may have changed, and the sparklines' shared scale.

widgets/training_jobs_table.py draws what this decides; tests/app/test_job_rows.py tests it
on its own.
"""

from __future__ import annotations

import bisect
import math
from itertools import compress, filterfalse
from operator import attrgetter, eq, is_not
from typing import Any, Callable, Iterable

from hpo_tui.app import format as fmt
from hpo_tui.scales import JobScales, robust_scale
from hpo_tui.views import TRAINING_STATUSES, TrainingJobView, TuningJobView

# Fixed column keys start with ":" so they never collide with a hyperparameter name.
COL_JOB = ":job"
COL_STATUS = ":status"
COL_OBJECTIVE = ":objective"
COL_BEST = ":best"
COL_EPOCH = ":epoch"
COL_CURVE = ":curve"
COL_DURATION = ":duration"
COL_REASON = ":reason"

CURVE_WIDTH = 9  # epochs shown per sparkline (the last ones)
CURVE_LABEL_WIDTH = 9
STATUS_ORDER = {s: i for i, s in enumerate(("InProgress", "Stopping", "Completed", "Stopped", "Failed"))}
BELOW_MARK, ABOVE_MARK = "↓", "↑"  # a value off the scale (clamped), in a sparkline
ALL_STATUSES = frozenset(TRAINING_STATUSES)


def scaled_sparkline(values: Iterable[float], low: float, high: float, width: int = CURVE_WIDTH) -> str:
    """Block sparkline of the last `width` values on the scale low..high (shared by every row);
    a value below or above the scale is marked ↓ or ↑ (NaN is below)."""
    data = [v for v in values if v is not None and not math.isinf(v)][-width:]
    if not data:
        return ""
    blocks = fmt.SPARK_BLOCKS
    top = len(blocks) - 1
    span = high - low
    tolerance = 1e-9 * max(1.0, abs(high))

    def block(v: float) -> str:
        if math.isnan(v) or v < low - tolerance:
            return BELOW_MARK
        if v > high + tolerance:
            return ABOVE_MARK
        if span < 1e-12:
            return blocks[3]
        return blocks[max(0, min(top, round((v - low) / span * top)))]

    return "".join(map(block, data))


def _round_sig(value: float, up: bool) -> float:
    """`value` rounded down (or up) to two significant digits: 0.9702 -> 0.98 up, 0.97 down."""
    if value == 0 or not math.isfinite(value):
        return value
    step = 10.0 ** (math.floor(math.log10(abs(value))) - 1)
    return round((math.ceil if up else math.floor)(value / step - (1e-9 if up else -1e-9)) * step, 12)


def fmt_scale(low: float, high: float, width: int = CURVE_LABEL_WIDTH) -> str:
    """The curve column's label: the values of its lowest and highest block, in at most
    `width` cells (fewer digits, then no space, rather than a cut label)."""
    low_block, high_block = fmt.SPARK_BLOCKS[0], fmt.SPARK_BLOCKS[-1]
    label = ""
    for digits in (2, 1):
        for gap in (" ", ""):
            label = f"{low_block}{_compact(low, digits)}{gap}{high_block}{_compact(high, digits)}"
            if len(label) <= width:
                return label
    return label[:width]


def _compact(value: float, digits: int = 2) -> str:
    """`digits` significant digits without a leading zero: .11, .96, 2.3, 140."""
    text = f"{value:.{digits}g}"
    return text.replace("0.", ".", 1) if text.startswith(("0.", "-0.")) else text


def sparkline_scale(jobs: list[TrainingJobView], view: TuningJobView, history: fmt.MetricHistory,
                    diverged: frozenset[str], scales: JobScales | None,
                    zoomed: bool) -> tuple[float, float] | None:
    """One scale for every sparkline: the range of the values the rows `jobs` draw, widened
    to the two digits its label shows (so it moves rarely)."""
    # A failed or diverged job's values (0.10 after a NaN) would squash every other row
    # into ▇█: they are drawn off the scale (↓) instead, unless nothing else has values.
    # Only jobs with a curve in the history can draw one (with curves loaded per job,
    # a few hundred of 10,000): walk those, not every row.
    with_curves = history.jobs_with(view.objective_name)
    shown = (list(compress(jobs, map(with_curves.__contains__, map(attrgetter("name"), jobs))))
             if len(with_curves) < len(jobs) else jobs)

    def values_of(chosen: list[TrainingJobView]) -> list[float]:
        return [v for job in chosen for _, v in history.curve(job.name, view.objective_name)[-CURVE_WIDTH:]
                if math.isfinite(v)]

    values = values_of([j for j in shown if j.status != "Failed" and j.name not in diverged]) or values_of(shown)
    if not values or scales is None:
        return None
    found = robust_scale(values, bounds=scales.bounds, zoom_to=scales.top, zoom=zoomed, maximize=scales.maximize)
    if found is None:
        return None
    low, high = _round_sig(found.low, up=False), _round_sig(found.high, up=True)
    bound_low, bound_high = scales.bounds
    # Rounded outwards, but never past what the metric can be (no 1.1 for an accuracy).
    return (max(low, bound_low) if bound_low is not None else low,
            min(high, bound_high) if bound_high is not None else high)


class _Descending:
    """A sort value in reverse: one key function orders any column either way (strings too)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and self.value == other.value

    def __lt__(self, other: "_Descending") -> bool:
        return other.value < self.value


class _KeysOf:
    """The sort keys of a list of row names, computed only where bisect looks (log N of them)."""

    def __init__(self, names: list[str], key) -> None:
        self.names, self.key = names, key

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, index: int):
        return self.key(self.names[index])


class JobRows:
    """The table's rows by job name: the filter, the sort and the order, and what each row
    was last drawn from (so a poll looks only at the rows that may differ)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock  # the durations sort by it
        self.shown_statuses: frozenset[str] = ALL_STATUSES
        self.text_filter = ""
        self.sort_key = COL_OBJECTIVE
        self.sort_reverse = False
        self.order: list[str] = []  # row names in table order
        self.place: dict[str, int] = {}  # each row's index in `order`
        self.inputs: dict[str, tuple[TrainingJobView, bool]] = {}  # each row's job and best mark, as drawn
        self._last_visible: list[TrainingJobView] | None = None  # see candidates
        self._last_best: str | None = None

    # --- the filter -------------------------------------------------------------------

    @property
    def filtering(self) -> bool:
        return bool(self.text_filter) or len(self.shown_statuses) < len(TRAINING_STATUSES)

    def matches(self, job: TrainingJobView) -> bool:
        """Shown by the status filter and by every word of the text filter (name, status,
        hyperparameter values, or name=value)."""
        if job.status not in self.shown_statuses:
            return False
        if not self.text_filter:
            return True
        words = [job.name.lower(), job.status.lower()]
        words += [f"{k}={v}".lower() for k, v in job.hyperparameters.items()]
        haystack = " ".join(words)
        return all(term in haystack for term in self.text_filter.lower().split())

    def filter_words(self) -> list[str]:
        """The filter in words: "/text" and the statuses shown, when either hides jobs."""
        words = []
        if self.text_filter:
            words.append(f"/{self.text_filter}")
        if len(self.shown_statuses) < len(TRAINING_STATUSES):
            words.append("status " + ", ".join(s for s in TRAINING_STATUSES if s in self.shown_statuses))
        return words

    def visible(self, jobs: tuple[TrainingJobView, ...] | list[TrainingJobView]) -> list[TrainingJobView]:
        if not self.filtering:
            return list(jobs)
        return [j for j in jobs if self.matches(j)]

    # --- the rows ---------------------------------------------------------------------

    def __contains__(self, name: str) -> bool:
        return name in self.place

    def __len__(self) -> int:
        return len(self.order)

    def added(self, name: str) -> None:
        """A row joined the table, at its end."""
        self.place[name] = len(self.order)
        self.order.append(name)

    def removed(self, names: set[str]) -> None:
        """Rows left the table; the others close up, in order."""
        if not names:
            return
        for name in names:
            self.inputs.pop(name, None)
        self.order = [name for name in self.order if name not in names]
        self.place = {name: index for index, name in enumerate(self.order)}

    def drawn(self, job: TrainingJobView, is_best: bool) -> None:
        self.inputs[job.name] = (job, is_best)

    def drawn_from(self, job: TrainingJobView, is_best: bool) -> bool:
        """The row shows this very job (the same object) with this best mark."""
        return self.inputs.get(job.name) == (job, is_best)

    def forget_drawn(self) -> None:
        """The next poll looks at every row again (what each was drawn from is forgotten)."""
        self.inputs.clear()
        self._last_visible = None

    # --- what a poll changed ------------------------------------------------------------

    def places_changed(self, visible: list[TrainingJobView]) -> list[bool] | None:
        """For each place `visible` shares with the last list shown (_last_visible): whether
        another object is there now (an identity comparison, in C). None: no last list."""
        previous = self._last_visible
        if previous is None:
            return None
        common = min(len(previous), len(visible))
        return list(map(is_not, visible[:common], previous[:common]))

    def gone(self, visible: list[TrainingJobView], changed: list[bool] | None) -> set[str]:
        """The rows whose job is not in `visible` any more (a filter, or a job gone).

        The rows are the jobs of the last list shown (_last_visible). The usual poll hands
        back that list's jobs in the same places, some as new objects, and maybe more at the
        end: then only the new objects need a look (their names), not 10,000 names (4 ms)."""
        previous = self._last_visible
        if (changed is not None and previous is not None and len(visible) >= len(previous)
                and all(map(eq, map(attrgetter("name"), compress(visible, changed)),
                            map(attrgetter("name"), compress(previous, changed))))):
            return set()
        return self.place.keys() - set(map(attrgetter("name"), visible))

    def candidates(self, visible: list[TrainingJobView], best: str | None, history_changed: set[str],
                   changed: list[bool] | None, loading: bool) -> list[TrainingJobView]:
        """The visible jobs whose row may differ from what is drawn.

        A poll hands back the very same view objects for the jobs that did not change (the
        local backend's incremental poll, 10,000 of 10,000 minus 20), in the same order: an
        identity comparison of the two lists, in C, leaves out those rows without looking
        at them. The jobs whose curve or best mark changed are added. Any other list (the
        first, a new filter, another order, one while a large first load is `loading`) is
        looked at whole. `changed`: that comparison (places_changed), made once for gone().
        """
        previous, self._last_visible = self._last_visible, (None if loading else visible)
        last_best, self._last_best = self._last_best, best
        if previous is None or loading or changed is None:
            return visible
        out = list(compress(visible, changed))
        out += visible[len(changed):]
        names = {job.name for job in out}
        for name in history_changed | {name for name in (best, last_best) if name is not None}:
            inputs = self.inputs.get(name) if name not in names else None
            if inputs is not None:  # a row drawn from this very object (it is not in `out`)
                out.append(inputs[0])
        return out

    # --- the order --------------------------------------------------------------------

    def raw_value(self, job: TrainingJobView) -> Any:
        """The raw (unformatted) value the current sort column orders by; None sorts last."""
        key = self.sort_key
        if key == COL_JOB:
            return job.launch_index
        if key == COL_STATUS:
            return STATUS_ORDER.get(job.status, len(STATUS_ORDER))
        if key in (COL_OBJECTIVE, COL_CURVE):
            # A failed job's last value is partial: never ranked among the results.
            return job.final_objective if job.status != "Failed" else None
        if key == COL_BEST:
            return job.best_objective
        if key == COL_EPOCH:
            return job.last_epoch
        if key == COL_DURATION:
            return fmt.job_duration(job, self.clock())
        if key == COL_REASON:
            return job.failure_reason.lower() if job.failure_reason else None
        return fmt.hyperparameter_sort_key(job.hyperparameters.get(key))

    def order_key(self, view: TuningJobView):
        """A key function giving the table's order for the current sort column: raw values
        (best first on the objective columns), ties by launch, missing values (and NaN) last."""
        # The objective columns sort best-first by default, whichever way the objective points.
        descending = self.sort_key in (COL_OBJECTIVE, COL_BEST, COL_CURVE) and view.objective_type == "Maximize"
        descending = descending != self.sort_reverse
        raw_value = self.raw_value

        def key(job: TrainingJobView) -> tuple:
            value = raw_value(job)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                return (1, job.launch_index)
            return (0, _Descending(value) if descending else value, job.launch_index)

        return key

    def ordered_names(self, jobs: list[TrainingJobView], view: TuningJobView) -> list[str]:
        """Row order for the current sort: raw values, missing values last, ties by launch."""
        return [j.name for j in sorted(jobs, key=self.order_key(view))]

    def ordered_after_changes(self, moved: list[TrainingJobView], view: TuningJobView) -> list[str]:
        """The new order when only `moved` rows (changed or new) may have moved: the others
        keep their order, and each moved row is put back by binary search. The same order
        as ordered_names, without a sort of every row (10,000 rows, 20 changed: 0.1 ms).
        Returns `order` itself when nothing moved."""
        key = self.order_key(view)
        if self._still_in_order(moved, key):
            return self.order  # the usual poll: values changed, places did not
        moved_names = {j.name for j in moved}
        order = list(filterfalse(moved_names.__contains__, self.order))
        inputs = self.inputs  # each row's job as last drawn (unchanged since, or in moved)
        keys = _KeysOf(order, lambda name: key(inputs[name][0]))
        for job in sorted(moved, key=key):
            order.insert(bisect.bisect_right(keys, key(job)), job.name)
        return order

    def _still_in_order(self, moved: list[TrainingJobView], key) -> bool:
        """Every moved row still sorts between its neighbours (its new values against theirs):
        then the whole order holds, since only pairs with a moved row can have changed."""
        order, inputs, place = self.order, self.inputs, self.place
        last = len(order) - 1
        for job in moved:
            index = place.get(job.name)
            if index is None or index > last or order[index] != job.name:
                return False  # a new row
            value = key(job)
            if index > 0 and value < key(inputs[order[index - 1]][0]):  # only < (as sorted() and bisect)
                return False
            if index < last and key(inputs[order[index + 1]][0]) < value:
                return False
        return True

    def reorder(self, wanted: list[str]) -> tuple[int, int] | None:
        """Take the order `wanted` (the same rows); return the first and last index whose row
        changed (an empty range, first > last, if none did), or None when the rows themselves
        changed (every index is new)."""
        old = self.order
        self.order = list(wanted)
        if len(old) != len(wanted):
            self.place = {name: index for index, name in enumerate(wanted)}
            return None
        count = len(wanted)
        lo = 0
        while lo < count and old[lo] == wanted[lo]:
            lo += 1
        hi = count - 1
        while hi > lo and old[hi] == wanted[hi]:
            hi -= 1
        if lo == count:
            return lo, lo - 1
        self.place.update(zip(wanted[lo:hi + 1], range(lo, hi + 1)))
        return lo, hi

    def sort_summary(self, labels: dict[str, str], paused: bool) -> str:
        label = "curve" if self.sort_key == COL_CURVE else labels.get(self.sort_key, "objective")
        text = f"sort: {label}{' (reversed)' if self.sort_reverse else ''}"
        return text + (" · order frozen (p resumes)" if paused else "")
