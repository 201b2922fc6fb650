"""The live table of a tuning job's training jobs: diffed by job, sorted on raw values,
filtered by status and text, with sparklines on one shared scale.

The screen hands it each Snapshot; it adds new rows, rewrites only the cells whose
rendering changed, and keeps the cursor on its job across sorts (or freezes the order).
"""

from __future__ import annotations

import bisect
import gc
import math
from itertools import compress, filterfalse
from operator import attrgetter, eq, is_not
from typing import Any, Iterable

from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region
from textual._two_way_dict import TwoWayDict
from textual.renderables.styled import Styled
from textual.strip import Strip
from textual.widgets.data_table import CellDoesNotExist, ColumnKey, Row, RowKey

from hpo_tui.app import format as fmt
from hpo_tui.app.styles import status_style
from hpo_tui.app.widgets.tables import KeyedTable
from hpo_tui.scales import JobScales, job_scales, robust_scale
from hpo_tui.views import TRAINING_STATUSES, Snapshot, TrainingJobView, TuningJobView

# Fixed column keys start with ":" so they never collide with a hyperparameter name.
COL_JOB = ":job"
COL_STATUS = ":status"
COL_OBJECTIVE = ":objective"
COL_BEST = ":best"
COL_EPOCH = ":epoch"
COL_CURVE = ":curve"
COL_DURATION = ":duration"
COL_REASON = ":reason"

BEST_MARK = "★"
MARKED = "●"  # a job marked (space) for compare; the best job keeps ★, underlined when marked
CURVE_WIDTH = 9  # epochs shown per sparkline (the last ones)
CURVE_LABEL_WIDTH = 9
REASON_WIDTH = 24
FIRST_ROWS = 200  # a first load adds this many rows before the first frame...
PENDING_CHUNK = 1000  # ...and the rest this many at a time
FREEZE_ROWS = 2000  # a first load this large freezes the loaded objects out of the GC (_freeze_loaded_objects)
MOVED_ROWS_DROPPED = 200  # _set_order: more moved rows than this drop every cached render at once
RENDER_CACHE_SIZE = 5000  # entries in each of the table's own render caches (a few screens of cells)
STATUS_ORDER = {s: i for i, s in enumerate(("InProgress", "Stopping", "Completed", "Stopped", "Failed"))}


def _cell_signature(cell: Text) -> tuple:
    # rich's Text equality ignores the base style, which is how the best row is marked.
    return (cell.plain, str(cell.style), tuple(cell.spans))


BELOW_MARK, ABOVE_MARK = "↓", "↑"  # a value off the scale (clamped), in a sparkline
DIVERGED_CELL = "↓diverged"  # the curve cell of a job whose objective collapsed (CURVE_WIDTH long)


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


def _freeze_loaded_objects() -> None:
    """Leave the objects of a large first load out of the garbage collector's full passes.

    Thousands of rows are hundreds of thousands of long-lived objects (views, cells, their
    renders); each full collection walked them all again: a 200-350 ms pause every few
    polls at 10,000 rows. gc.freeze() moves every object alive now to a generation the
    collector never scans; they are still freed as usual when nothing refers to them.
    (A reference cycle among them that became garbage later would stay: a screen left
    open at this point and closed afterwards, a few MB at most.)
    """
    gc.freeze()


class _ComponentStyles:
    """A component's styles with its rich style composed once."""

    def __init__(self, styles: Any) -> None:
        self._styles = styles
        self.rich_style = styles.rich_style

    def __getattr__(self, name: str) -> Any:
        return getattr(self._styles, name)


class TrainingJobsTable(KeyedTable):
    """One row per training job, keyed by its name; columns keyed by hyperparameter name."""

    def __init__(self, tuning_job: str, *, id: str | None = None) -> None:
        # css foreground under the cursor: the best row's green on the cursor's blue (or
        # bright green on cyan with TERM=xterm) could not be read; ★ and bold still mark it.
        super().__init__(id=id, cursor_type="row", zebra_stripes=True, cursor_foreground_priority="css",
                         fixed_columns=2)
        self.tuning_job = tuning_job
        self.cell_styles: dict[str, Style] = {}  # theme colours for cells (no CSS reaches them)
        self.shown_statuses: frozenset[str] = frozenset(TRAINING_STATUSES)
        self.text_filter = ""
        self.sort_key = COL_OBJECTIVE
        self.sort_reverse = False
        self.sort_paused = False
        self.column_labels: dict[str, str] = {}
        self.scale: tuple[float, float] | None = None
        self.marked: list[str] = []  # training jobs marked for compare, in marking order
        self.zoomed = False  # the sparklines' scale spans the top jobs only (z)
        self._job_scales: tuple[tuple[TrainingJobView, ...], JobScales] | None = None  # per snapshot's rows
        self.diverged: frozenset[str] = frozenset()  # jobs whose objective collapsed (marked)
        self._cells: dict[str, dict[str, Text]] = {}
        self._signatures: dict[str, dict[str, tuple]] = {}
        self._column_keys: list[str] = []
        self._hp_names: list[str] = []
        self._row_inputs: dict[str, tuple[TrainingJobView, bool]] = {}
        self._last_visible: list[TrainingJobView] | None = None  # see _candidates
        self._last_best: str | None = None
        self._row_keys: dict[str, RowKey] = {}  # DataTable's key of each row, by job name
        self._row_order: list[str] = []  # row keys in table order (DataTable.ordered_rows rebuilds a list)
        self._rows_by_name: dict[str, Row] = {}  # DataTable's rows (self.rows is keyed by RowKey: slow hashes)
        self._snapshot: Snapshot | None = None
        self._history: fmt.MetricHistory | None = None
        self._clock = None
        self._pending: list[str] = []  # rows of a large first load not added yet, in order
        self._running: list[TrainingJobView] = []  # the running jobs shown, as of the last show()
        self._repaint_due = False  # a repaint after the next frame is scheduled (_repaint_after_refresh)
        self._repaint_rows: set[RowKey] = set()  # the rows it repaints
        self._frame_styles: dict[tuple[str, ...], _ComponentStyles] = {}  # this frame's (render_lines)
        self._frame_rich_style: Style | None = None  # while render_lines draws (rich_style)
        # Render caches of our own (_render_cell, _with_meta): plain dicts, emptied when full
        # (an LRUCache lookup is a Python call, and a cell makes five of them).
        self._shared_cell_renders: dict[tuple, list[list[Segment]]] = {}
        self._meta_styles: dict[tuple[int, int], Style] = {}
        self._styled_with_meta: dict[tuple[Style, Style], Style] = {}
        self._stale_cells: set[tuple[RowKey, ColumnKey]] = set()  # cached renders to drop before the next frame
        self._stale_rows: set[RowKey] = set()  # rows whose every cached render goes before the next frame

    # --- what is shown -------------------------------------------------------------

    @property
    def has_columns(self) -> bool:
        return bool(self._column_keys)

    @property
    def column_keys(self) -> list[str]:
        return list(self._column_keys)

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

    def visible_jobs(self, snapshot: Snapshot) -> list[TrainingJobView]:
        if not self.filtering:
            return list(snapshot.training_jobs)
        return [j for j in snapshot.training_jobs if self.matches(j)]

    def short_name(self, name: str) -> str:
        # Training job names repeat the tuning job's name (SageMaker's convention); the
        # header shows it once, so the table keeps the part that tells jobs apart.
        prefix = self.tuning_job + "-"
        return name[len(prefix):] if name.startswith(prefix) and len(name) > len(prefix) else name

    def rows_between(self, start: int, stop: int) -> list[str]:
        """Row keys from table row start (0 = top) up to stop, in table order."""
        return self._row_order[start:stop]

    def selected_job(self) -> str | None:
        if self.row_count == 0:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:  # the cursor can sit past the end right after rows were removed
            return None

    # --- applying a snapshot (main thread) ----------------------------------------

    def show(self, snapshot: Snapshot, history: fmt.MetricHistory, history_changed: set[str],
             now: float) -> None:
        """Diff the table against a snapshot: add new rows, update only changed cells."""
        self._snapshot, self._history = snapshot, history
        view = snapshot.tuning_job
        if not self._column_keys:
            self._add_columns(snapshot)
            if self.sort_key not in self.column_labels and self.sort_key not in (COL_BEST, COL_REASON):
                self.sort_key, self.sort_reverse = COL_OBJECTIVE, False  # remembered from another tuning job
        was_empty = self.row_count == 0
        visible = self.visible_jobs(snapshot)
        # Each pass over every row is a few ms at 10,000 rows: set operations and the
        # snapshot's own running list keep them in C, or once per snapshot.
        self._running = list(snapshot.running) if not self.filtering else [j for j in visible if not j.is_terminal]
        changed = self._places_changed(visible)
        for name in self._gone(visible, changed):
            self.remove_row(name)
            del self._cells[name], self._signatures[name], self._row_keys[name], self._rows_by_name[name]
            self._row_inputs.pop(name, None)
            self._row_order.remove(name)
        self._add_reason_column(visible, snapshot)
        flipped = self._update_diverged(snapshot)
        if flipped:
            history_changed = history_changed | flipped  # their rows are looked at again
        rescaled = self._update_scale(visible, view, history)
        rows_before = self.row_count
        moved: list[TrainingJobView] = []  # the rows written: the only ones whose place can change
        if was_empty and len(visible) > FIRST_ROWS:
            # A large table: the first screens of rows now, in sorted order, so the first
            # frame shows them; the rest join a chunk at a time (_add_pending_rows), between
            # which the app keeps drawing and answering keys.
            order = self.ordered_names(visible, view)
            self._pending = order[FIRST_ROWS:]
            by_name = {j.name: j for j in visible}
            visible = [by_name[name] for name in order[:FIRST_ROWS]]
            # After the first frame is out (a 10 ms timer could come before it, and make it
            # wait for a whole chunk).
            self.call_after_refresh(self._add_pending_rows)
        pending = set(self._pending)
        for job in self._candidates(visible, view, history_changed, changed):
            if job.name in pending:
                continue
            is_best = job.name == view.best_training_job
            # A finished job whose view, best mark and curve did not change cannot have
            # a different row: skip building its cells (most of a large tuning job).
            if (job.is_terminal and job.name not in history_changed
                    and self._row_inputs.get(job.name) == (job, is_best)):
                continue
            self._write_row(job, view, now)
            self._row_inputs[job.name] = (job, is_best)
            moved.append(job)
        if rescaled:
            self._rescale_curves(visible, view, {job.name for job in moved})
        if self.row_count != rows_before:
            # Textual 8.2 can keep the cursor row rendered with pre-measurement widths.
            self.call_after_refresh(getattr(self, "_clear_caches", lambda: None))
        if self._pending:
            if was_empty:
                self.move_cursor(row=0)  # added in sorted order: the best on top
            return  # sorted once every row is in
        self._sort(visible, view, first_load=was_empty, moved=moved)

    def _places_changed(self, visible: list[TrainingJobView]) -> list[bool] | None:
        """For each place `visible` shares with the last list shown (_last_visible): whether
        another object is there now (an identity comparison, in C). None: no last list."""
        previous = self._last_visible
        if previous is None:
            return None
        common = min(len(previous), len(visible))
        return list(map(is_not, visible[:common], previous[:common]))

    def _gone(self, visible: list[TrainingJobView], changed: list[bool] | None) -> set[str]:
        """The rows whose job is not in `visible` any more (a filter, or a job gone).

        The rows are the jobs of the last list shown (_last_visible). The usual poll hands
        back that list's jobs in the same places, some as new objects, and maybe more at the
        end: then only the new objects need a look (their names), not 10,000 names (4 ms)."""
        previous = self._last_visible
        if (changed is not None and previous is not None and len(visible) >= len(previous)
                and all(map(eq, map(attrgetter("name"), compress(visible, changed)),
                            map(attrgetter("name"), compress(previous, changed))))):
            return set()
        return self._cells.keys() - set(map(attrgetter("name"), visible))

    def _candidates(self, visible: list[TrainingJobView], view: TuningJobView,
                    history_changed: set[str], changed: list[bool] | None) -> list[TrainingJobView]:
        """The visible jobs whose row may differ from what is drawn.

        A poll hands back the very same view objects for the jobs that did not change (the
        local backend's incremental poll, 10,000 of 10,000 minus 20), in the same order: an
        identity comparison of the two lists, in C, leaves out those rows without looking
        at them. The jobs whose curve or best mark changed are added. Any other list (the
        first, a new filter, another order) is looked at whole by show(). `changed`: that
        comparison (_places_changed), made once for _gone and here.
        """
        previous, self._last_visible = self._last_visible, (None if self._pending else visible)
        last_best, self._last_best = self._last_best, view.best_training_job
        if previous is None or self._pending or changed is None:
            return visible
        out = list(compress(visible, changed))
        out += visible[len(changed):]
        names = {job.name for job in out}
        for name in history_changed | {view.best_training_job, last_best}:
            inputs = self._row_inputs.get(name) if name not in names else None
            if inputs is not None:  # a row drawn from this very object (it is not in `out`)
                out.append(inputs[0])
        return out

    def _repaint_after_refresh(self, row_key: RowKey) -> None:
        """Refresh this row's line once more after the coming frame.

        Cells rewritten without measuring their column again (update_cell(update_width=False),
        now _set_cell) were sometimes left painted with their old text in a real terminal (the tmux end-to-end test under load: rows
        still InProgress under a Completed header until anything forced a full repaint),
        while the table's data and a headless full render were right. Without this, 3 of
        5 runs failed alongside a tuning benchmark and 1 of 4 beside two busy loops; with
        it, 0 of 12 (and 0 of 11 when it also cleared the render caches, which cost 50%
        more CPU per refresh in bench/tui_bench.py --scale). One call per frame, however many
        cells changed; it refreshes the lines of the rows written, not the table.
        """
        self._repaint_rows.add(row_key)
        if not self._repaint_due:
            self._repaint_due = True
            self.call_after_refresh(self._repaint)

    def _repaint(self) -> None:
        self._repaint_due = False
        rows, self._repaint_rows = self._repaint_rows, set()
        for row_key in rows:
            self._refresh_line_of(row_key)

    def _refresh_line_of(self, row_key: RowKey) -> None:
        """Repaint the line showing this row, if it is in view (every row is one line high):
        a poll that rewrites the cells of 3 rows on screen repaints 3 lines, not 40."""
        index = self._row_locations.get(row_key)
        if index is None:
            return
        y = index + (self.header_height if self.show_header else 0)
        region = Region(0, y, max(self.size.width, self.virtual_size.width), 1)
        if self.window_region.overlaps(region):
            self.refresh(region.translate(-self.scroll_offset))

    def _add_pending_rows(self) -> None:
        """Add the next chunk of a large first load (in sorted order); sort once at the end."""
        snapshot, history = self._snapshot, self._history
        if snapshot is None or history is None or not self._pending:
            self._pending = []
            return
        view = snapshot.tuning_job
        chunk, self._pending = self._pending[:PENDING_CHUNK], self._pending[PENDING_CHUNK:]
        by_name = {j.name: j for j in snapshot.training_jobs}
        now = self._now()
        with self.app.batch_update():
            for name in chunk:
                job = by_name.get(name)
                if job is None or name in self._signatures or not self.matches(job):
                    continue
                self._write_row(job, view, now)
                self._row_inputs[name] = (job, name == view.best_training_job)
            if self._pending:
                self.set_timer(0.01, self._add_pending_rows)
            else:
                self.call_after_refresh(getattr(self, "_clear_caches", lambda: None))
                self._sort(self.visible_jobs(snapshot), view, force=True)
                if self.row_count >= FREEZE_ROWS:
                    self.call_after_refresh(_freeze_loaded_objects)

    def tick(self, snapshot: Snapshot, now: float) -> None:
        """The clock moved: rewrite the durations of the running jobs shown (only the cells
        whose text changed are written)."""
        view = snapshot.tuning_job
        for job in self._running:
            if job.name in self._cells:
                self._write_row(job, view, now)

    def _forget_drawn_rows(self) -> None:
        """The next show() looks at every row again (what each was drawn from is forgotten)."""
        self._row_inputs.clear()
        self._last_visible = None

    def rebuild(self) -> None:
        """Rewrite every row (new colours, filter or sort); the diff still skips equal cells."""
        self._forget_drawn_rows()
        if self._snapshot is not None and self._history is not None:
            self.show(self._snapshot, self._history, set(), self._now())

    def _now(self) -> float:
        import time

        return (getattr(self.app, "clock", None) or time.time)()

    def _add_columns(self, snapshot: Snapshot) -> None:
        view = snapshot.tuning_job
        names = list(view.tuned_parameters)
        for job in snapshot.training_jobs:
            names.extend(k for k in job.hyperparameters if k not in names)
        self._hp_names = names
        # What the search is doing first, then the hyperparameters (as SageMaker's console and
        # Optuna's trials table): at 80 columns the objective, its curve and the time are in
        # view, and the hyperparameters scroll sideways beside the fixed job and status.
        # The best per-epoch value is in the detail view: the table fits 100 columns without it.
        columns: list[tuple[str, str]] = [
            (COL_JOB, "job"),
            (COL_STATUS, "status"),
            (COL_OBJECTIVE, "objective"),
            (COL_EPOCH, "epoch"),
            (COL_CURVE, "curve"),
            (COL_DURATION, "time"),
        ]
        columns += [(name, name) for name in names]
        for key, label in columns:
            # The curve's label carries its scale, so its width never depends on the epochs seen.
            width = CURVE_LABEL_WIDTH if key == COL_CURVE else None
            self.add_column(Text(label), key=key, width=width)
        self._column_keys = [key for key, _ in columns]
        self.column_labels = dict(columns)

    def _add_reason_column(self, jobs: list[TrainingJobView], snapshot: Snapshot) -> None:
        """The failure reason column appears with the first failure or stall (most runs never need it)."""
        if COL_REASON in self.column_labels:
            return
        # Unfiltered, the jobs are the snapshot's: it knows (found in the poll's thread).
        if not (any(map(attrgetter("failure_reason"), jobs)) if self.filtering else snapshot.any_failure_reason):
            if not any(j.silent_since is not None for j in jobs):  # a stall is said in it too
                return
        self.add_column(Text("failure reason"), key=COL_REASON, default=Text(""))
        self._column_keys.append(COL_REASON)
        self.column_labels[COL_REASON] = "failure reason"
        self._forget_drawn_rows()  # rows already shown get their (empty) reason cell

    def job_scales(self, snapshot: Snapshot) -> JobScales:
        """The snapshot's bounds, diverged jobs and reference values (once per set of rows)."""
        cached = self._job_scales
        if cached is None or cached[0] is not snapshot.training_jobs:
            cached = self._job_scales = (snapshot.training_jobs, job_scales(snapshot))
        return cached[1]

    def _update_diverged(self, snapshot: Snapshot) -> set[str]:
        """Take the snapshot's diverged jobs; return the names whose mark came or went."""
        diverged = self.job_scales(snapshot).diverged
        flipped = set(diverged ^ self.diverged)
        self.diverged = diverged
        return flipped

    def toggle_zoom(self) -> None:
        """Scale the sparklines to the top jobs (values below are marked ↓), or back."""
        self.zoomed = not self.zoomed
        self.rebuild()

    def _update_scale(self, jobs: list[TrainingJobView], view: TuningJobView, history: fmt.MetricHistory) -> bool:
        """One scale for every sparkline: the range of the values the visible rows draw,
        widened to the two digits its label shows (so it moves rarely). True if it moved."""
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

        diverged = self.diverged
        values = values_of([j for j in shown if j.status != "Failed" and j.name not in diverged]) or values_of(shown)
        scales = self.job_scales(self._snapshot) if self._snapshot is not None else None
        scale = None
        if values and scales is not None:
            found = robust_scale(values, bounds=scales.bounds, zoom_to=scales.top, zoom=self.zoomed,
                                 maximize=scales.maximize)
            if found is not None:
                low, high = _round_sig(found.low, up=False), _round_sig(found.high, up=True)
                bound_low, bound_high = scales.bounds
                # Rounded outwards, but never past what the metric can be (no 1.1 for an accuracy).
                scale = (max(low, bound_low) if bound_low is not None else low,
                         min(high, bound_high) if bound_high is not None else high)
        if scale == self.scale:
            return False
        self.scale = scale
        column = self.columns.get(COL_CURVE)  # type: ignore[call-overload]
        if column is not None:
            column.label = Text(fmt_scale(*scale) if scale else "curve")
            self._header_changed()
        return True

    def _curve_cell(self, job: TrainingJobView, view: TuningJobView, base: Style | str) -> Text:
        assert self._history is not None
        if job.name in self.diverged:
            return Text(DIVERGED_CELL, style=self.cell_styles.get("error", ""))
        values = [v for _, v in self._history.curve(job.name, view.objective_name)]
        low, high = self.scale or (0.0, 0.0)
        return Text(scaled_sparkline(values, low, high), style=base or self.cell_styles.get("accent", ""))

    def _rescale_curves(self, jobs: list[TrainingJobView], view: TuningJobView, written: set[str]) -> None:
        """A new scale: redraw the sparklines of the rows this poll did not rewrite anyway
        (only rows with a curve draw one)."""
        assert self._history is not None
        with_curves = self._history.jobs_with(view.objective_name)
        for job in jobs:
            if job.name not in with_curves or job.name in written or job.name not in self._cells:
                continue
            is_best = job.name == view.best_training_job
            cell = self._curve_cell(job, view, self.cell_styles.get("best", "") if is_best else "")
            signature = _cell_signature(cell)
            if signature != self._signatures[job.name].get(COL_CURVE):
                self._set_cell(job.name, COL_CURVE, cell)
                self._cells[job.name][COL_CURVE] = cell
                self._signatures[job.name][COL_CURVE] = signature

    def _row_cells(self, job: TrainingJobView, view: TuningJobView, now: float) -> dict[str, Text]:
        is_best = job.name == view.best_training_job
        base = self.cell_styles.get("best", "") if is_best else ""
        marked = job.name in self.marked
        cells = {
            COL_JOB: Text(f"{BEST_MARK if is_best else MARKED if marked else ' '} {self.short_name(job.name)}",
                          style=Style.combine([Style.parse(str(base) or "none"), Style(underline=True)])
                          if marked else base),
            COL_STATUS: Text(job.status, style=status_style(self.cell_styles, job.status)),
            COL_OBJECTIVE: Text(fmt.fmt_number(job.final_objective), style=base, justify="right"),
            COL_EPOCH: Text(fmt.fmt_epochs(job, view), style=base, justify="right"),
            COL_CURVE: self._curve_cell(job, view, base),
            COL_DURATION: Text(fmt.fmt_duration(fmt.job_duration(job, now)), style=base, justify="right"),
            COL_REASON: Text(fmt.shorten(job.failure_reason, REASON_WIDTH), style=self.cell_styles.get("error", "")),
        }
        stall = job.stall_text(now)
        if stall:  # silent for [local] stall_seconds: said where a failure reason would be
            cells[COL_STATUS].append(" ⚠")
            cells[COL_REASON] = Text(fmt.shorten(stall, REASON_WIDTH), style=self.cell_styles.get("warning", ""))
        if is_best:
            cells[COL_STATUS].stylize(Style(bold=True))
        for name in self._hp_names:
            value = job.hyperparameters.get(name)
            cells[name] = Text(fmt.fmt_hyperparameter(value) if value is not None else fmt.DASH,
                               style=base, justify="right")
        return cells

    def _write_row(self, job: TrainingJobView, view: TuningJobView, now: float) -> None:
        cells = self._row_cells(job, view, now)
        signatures = {key: _cell_signature(cell) for key, cell in cells.items()}
        old = self._signatures.get(job.name)
        if old is None:
            row_key = self._row_keys[job.name] = self.add_row(*(cells[key] for key in self._column_keys), key=job.name)
            self._rows_by_name[job.name] = self.rows[row_key]
            self._row_order.append(job.name)
        else:
            for key in self._column_keys:
                if signatures[key] != old.get(key):
                    self._set_cell(job.name, key, cells[key])
        self._cells[job.name] = cells
        self._signatures[job.name] = signatures

    def toggle_mark(self, name: str) -> None:
        """Mark a training job for compare, or unmark it; its row shows it at once."""
        if name in self.marked:
            self.marked.remove(name)
        else:
            self.marked.append(name)
        shown = self._row_inputs.get(name)
        if self._snapshot is not None and shown is not None and name in self._signatures:
            cell = self._row_cells(shown[0], self._snapshot.tuning_job, self._now())[COL_JOB]
            self._set_cell(name, COL_JOB, cell)
            self._cells[name][COL_JOB] = cell
            self._signatures[name][COL_JOB] = _cell_signature(cell)

    def _set_cell(self, row: str, key: str, cell: Text) -> None:
        """Rewrite one cell; only that cell is rendered again.

        DataTable.update_cell bumps the table's update count, which is part of every render
        cache key: each changed cell re-rendered every visible row cell by cell (about 4,400
        cells through rich's Padding for 20 changed jobs) and rebuilt the row order and the
        line offsets of all N rows. Here the cell is written into the table's data and only
        its cached renders (and its line's) are dropped (_drop_stale_renders, once per frame).

        The column is not measured again either: Textual's update_width=True re-measures the
        whole column whenever the new cell is narrower than the column (every objective value
        is narrower than its header): a full-column pass per changed job, 1 s at 5,000 rows.
        Columns keep the width they were given by their rows and grow when a wider value
        arrives; they never shrink while the table is shown (nor jump about while you read it).
        """
        row_key, column_key = RowKey(row), ColumnKey(key)
        cells = self._data.get(row_key)
        if cells is None or column_key not in self._column_locations:
            raise CellDoesNotExist(f"No cell exists for row_key={row!r}, column_key={key!r}.")
        cells[column_key] = cell
        self._stale_cells.add((row_key, column_key))
        self._refresh_line_of(row_key)
        self._repaint_after_refresh(row_key)
        column = self.columns.get(column_key)
        if column is not None and column.auto_width and cell.cell_len > column.content_width:
            # Grown here, at once: leaving it to update_width would re-measure the column
            # when two wider values arrive in one batch (the second is narrower than the first).
            column.content_width = cell.cell_len
            self._require_update_dimensions = True  # DataTable's own flag: new virtual width on idle

    def _header_changed(self) -> None:
        """A column label changed (the curve's scale): render the header row again."""
        self._stale_cells.add((self._header_row_key, ColumnKey(COL_CURVE)))
        self.refresh()

    def render_lines(self, crop: Region) -> list[Strip]:
        self._frame_styles.clear()  # styles can only change between frames
        if self._stale_cells or self._stale_rows:
            self._drop_stale_renders()
        self._frame_rich_style = super().rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._frame_rich_style = None

    def get_component_styles(self, *names: str) -> Any:
        """A component's styles, built once a frame: DataTable asks for three or four of
        them for every row it draws, and each is built again and its rich style composed
        through every ancestor (0.2 ms a row)."""
        styles = self._frame_styles.get(names)
        if styles is None:
            styles = self._frame_styles[names] = _ComponentStyles(super().get_component_styles(*names))
        return styles

    @property
    def rich_style(self) -> Style:
        """The table's style, composed once a frame (render_lines): DataTable asks for it on
        every line it draws, and Textual composes it through every ancestor each time (0.1 ms
        a line). Outside a frame it is composed when asked, as Textual does."""
        return self._frame_rich_style or super().rich_style

    def notify_style_update(self) -> None:
        self._frame_styles.clear()
        super().notify_style_update()

    def _drop_stale_renders(self) -> None:
        """Drop the cached renders of the cells that changed since the last frame, and the
        rows and lines they are drawn into (those are joined from the cached cells again).

        One pass over each of DataTable's render caches (at most 10,000 cells, 1,000 rows and
        1,000 lines) whatever the number of changed cells. Every other cell keeps its render:
        a frame after 20 jobs moved on renders their changed cells only, not the screen.
        """
        cells, self._stale_cells = self._stale_cells, set()
        moved, self._stale_rows = self._stale_rows, set()  # rows with a new index (_set_order)
        stale = {row_key for row_key, _ in cells} | moved
        for cache_key in [k for k in self._cell_render_cache.keys() if (k[0], k[1]) in cells or k[0] in moved]:
            self._cell_render_cache.discard(cache_key)  # (row key, column key, styles..., update count)
        for cache_key in [k for k in self._row_render_cache.keys() if k[0] in stale]:
            self._row_render_cache.discard(cache_key)  # (row key, line in row, styles..., update count)
        locations = self._row_locations
        header = self._header_row_key
        for cache_key in [k for k in self._row_renderable_cache.keys()  # (update count, row index)
                          if (header if k[1] == -1 else locations.get_key(k[1])) in stale]:
            self._row_renderable_cache.discard(cache_key)
        for cache_key in list(self._line_cache.keys()):  # keyed by the line's y in the table
            try:
                row_key, _ = self._get_offsets(cache_key[0])
            except LookupError:
                row_key = None
            if row_key is None or row_key in stale:
                self._line_cache.discard(cache_key)

    def _render_cell(self, row_index: int, column_index: int, base_style: Style, width: int,
                     cursor: bool = False, hover: bool = False) -> list[list[Segment]]:
        """DataTable's cell render, with rich's work shared between equal cells.

        Rich renders a one-line Text cell in about 0.15 ms, and DataTable renders every
        visible cell again whenever rows move (a sort, a new best): 450 cells, 70 ms a frame.
        What a cell looks like depends on its text, width and styles only, except for the
        row and column meta every segment carries (mouse clicks read it). So the render
        without the meta is shared (a moved row, "Completed", "sgd" in many rows) and the
        meta is added to a copy: the same segments DataTable makes (a test compares them).
        """
        if row_index < 0 or column_index < 0:  # the header and row labels: DataTable's own path
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        cache_key = (row_key, column_key, base_style, cursor, hover, self._show_hover_cursor,
                     self._update_count, self._pseudo_class_state)
        lines = self._cell_render_cache.get(cache_key)
        if lines is not None:
            return lines
        row = self.rows.get(row_key) if row_key is not None else None
        cell = self._data[row_key].get(column_key) if row is not None else None
        if row is None or row.height != 1 or not isinstance(cell, Text):
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        fixed = row_index < self.fixed_rows or column_index < self.fixed_columns
        component_style, post_style = self._get_styles_to_render_cell(
            False, False, fixed, hover, cursor, self.show_cursor, self._show_hover_cursor,
            self.cursor_foreground_priority == "css", self.cursor_background_priority == "css")
        pre_style = base_style + component_style
        shared_key = (cell.plain, cell.style, tuple(cell.spans), cell.justify, cell.overflow, cell.no_wrap,
                      width, pre_style, post_style)
        plain_lines = self._shared_cell_renders.get(shared_key)
        if plain_lines is None:
            options = self.app.console_options.update_dimensions(width, 1).update(no_wrap=True)
            plain_lines = self.app.console.render_lines(
                Styled(Padding(cell, (0, self.cell_padding)), pre_style=pre_style, post_style=post_style), options)
            if len(self._shared_cell_renders) >= RENDER_CACHE_SIZE:
                self._shared_cell_renders.clear()
            self._shared_cell_renders[shared_key] = plain_lines
        lines = self._with_meta(plain_lines, row_index, column_index)
        self._cell_render_cache[cache_key] = lines
        return lines

    def _with_meta(self, lines: list[list[Segment]], row_index: int, column_index: int) -> list[list[Segment]]:
        """The segments with the row and column meta added to their styles, as DataTable
        adds it (Segment.apply_style's post_style). Rich builds a styled meta by pickling
        the merged dict each time: the meta style of each place, and each style with it,
        are kept instead (a cell then costs a few dict lookups)."""
        place = (row_index, column_index)
        meta = self._meta_styles.get(place)
        if meta is None:
            if len(self._meta_styles) >= RENDER_CACHE_SIZE:
                self._meta_styles.clear()
            meta = self._meta_styles[place] = Style.from_meta({"row": row_index, "column": column_index})
        styled = self._styled_with_meta
        if len(styled) >= 4 * RENDER_CACHE_SIZE:
            styled.clear()
        out = []
        for line in lines:
            new_line = []
            for text, style, control in line:
                if control:
                    new_line.append(Segment(text, None, control))
                    continue
                if style is None:
                    new_line.append(Segment(text, meta, control))
                    continue
                combined = styled.get((style, meta))
                if combined is None:
                    combined = styled[(style, meta)] = style + meta
                new_line.append(Segment(text, combined, control))
            out.append(new_line)
        return out

    # Every row here is one line high (add_row's default height): the row drawn on line y
    # is the row at index y. DataTable finds it in a list of every row's lines instead,
    # rebuilt after each sort (30 ms at 10,000 rows, for the 40 lines on screen).

    def _get_offsets(self, y: int) -> tuple[RowKey, int]:
        if self.show_header:
            if y < self.header_height:
                return self._header_row_key, y
            y -= self.header_height
        row_key = self._row_locations.get_key(y)
        if row_key is None:
            raise LookupError(f"Y coord {y!r} is greater than total height")
        return row_key, 0

    @property
    def _total_row_height(self) -> int:
        return self.row_count

    def _update_dimensions(self, new_rows: Iterable[Any]) -> None:
        """Size the columns for new rows, then let DataTable compute the table's size.

        Every cell here is one line of rich Text, whose width is its cell length: DataTable
        measures each new cell through the console instead (2 s of the first frame at
        5,000 rows, before any row was drawn). Cells of another shape keep its measure.
        """
        remaining = []
        for row_key in new_rows:
            cells = self._data.get(row_key)
            if cells is None:
                continue  # removed before the idle pass
            for column_key, cell in cells.items():
                column = self.columns.get(column_key)
                if column is None:
                    continue
                if not isinstance(cell, Text) or "\n" in cell.plain:
                    remaining.append(row_key)
                    break
                if cell.cell_len > column.content_width:
                    column.content_width = cell.cell_len
        super()._update_dimensions(remaining)

    # --- sorting -------------------------------------------------------------------

    def _raw_value(self, job: TrainingJobView) -> Any:
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
            return fmt.job_duration(job, self._now())
        if key == COL_REASON:
            return job.failure_reason.lower() if job.failure_reason else None
        return fmt.hyperparameter_sort_key(job.hyperparameters.get(key))

    def _order_key(self, view: TuningJobView):
        """A key function giving the table's order for the current sort column: raw values
        (best first on the objective columns), ties by launch, missing values (and NaN) last."""
        # The objective columns sort best-first by default, whichever way the objective points.
        descending = self.sort_key in (COL_OBJECTIVE, COL_BEST, COL_CURVE) and view.objective_type == "Maximize"
        descending = descending != self.sort_reverse
        raw_value = self._raw_value

        def key(job: TrainingJobView) -> tuple:
            value = raw_value(job)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                return (1, job.launch_index)
            return (0, _Descending(value) if descending else value, job.launch_index)

        return key

    def ordered_names(self, jobs: list[TrainingJobView], view: TuningJobView) -> list[str]:
        """Row order for the current sort: raw values, missing values last, ties by launch."""
        return [j.name for j in sorted(jobs, key=self._order_key(view))]

    def _ordered_after_changes(self, moved: list[TrainingJobView], view: TuningJobView) -> list[str]:
        """The new order when only `moved` rows (changed or new) may have moved: the others
        keep their order, and each moved row is put back by binary search. The same order
        as ordered_names, without a sort of every row (10,000 rows, 20 changed: 0.1 ms)."""
        key = self._order_key(view)
        if self._still_in_order(moved, key):
            return self._row_order  # the usual poll: values changed, places did not
        moved_names = {j.name for j in moved}
        order = list(filterfalse(moved_names.__contains__, self._row_order))
        inputs = self._row_inputs  # each row's job as last written (unchanged since, or in moved)
        keys = _KeysOf(order, lambda name: key(inputs[name][0]))
        for job in sorted(moved, key=key):
            order.insert(bisect.bisect_right(keys, key(job)), job.name)
        return order

    def _still_in_order(self, moved: list[TrainingJobView], key) -> bool:
        """Every moved row still sorts between its neighbours (its new values against theirs):
        then the whole order holds, since only pairs with a moved row can have changed."""
        order, inputs, row_keys = self._row_order, self._row_inputs, self._row_keys
        place = self._row_locations.get
        last = len(order) - 1
        for job in moved:
            index = place(row_keys.get(job.name))
            if index is None or index > last or order[index] != job.name:
                return False  # a new row, or the table's places are not the order's
            value = key(job)
            if index > 0 and value < key(inputs[order[index - 1]][0]):  # only < (as sorted() and bisect)
                return False
            if index < last and key(inputs[order[index + 1]][0]) < value:
                return False
        return True

    def sort_by(self, key: str, reverse: bool = False) -> None:
        self.sort_key, self.sort_reverse = key, reverse
        self.resort()

    def resort(self) -> None:
        if self._snapshot is not None:
            self._sort(self.visible_jobs(self._snapshot), self._snapshot.tuning_job, force=True)

    def _sort(self, jobs: list[TrainingJobView], view: TuningJobView, first_load: bool = False,
              force: bool = False, moved: list[TrainingJobView] | None = None) -> None:
        """Order rows by the sort column; first_load (the table was empty) puts the cursor on top.

        `moved` (the rows a poll rewrote or added) lets a live poll re-insert those rows
        only; every other row kept its value, so the rest of the order still holds.
        While the order is frozen (sort_paused) a live poll never moves rows: new jobs
        join at the bottom, so the row under the cursor stays where the eye left it.
        """
        if self.sort_paused and not first_load and not force:
            return
        if moved is not None and not first_load and not force and len(moved) * 4 < len(jobs):
            wanted = self._ordered_after_changes(moved, view)
        else:
            wanted = self.ordered_names(jobs, view)
        if wanted is self._row_order or wanted == self._row_order:
            return
        # Later sorts keep the cursor on its row, wherever that row moves.
        selected = None if first_load else self.selected_job()
        self._set_order(wanted)
        if selected is not None and selected in self._cells:
            self.move_cursor(row=self.get_row_index(selected))
        elif first_load:
            self.move_cursor(row=0)

    def _set_order(self, wanted: list[str]) -> None:
        """Put the rows in this order: what DataTable.sort does once it has sorted, without
        a key function called on every row's cells, and for the rows that moved only.

        DataTable.sort renumbers every row and bumps its update count, so every cached
        render and both row lists (O(N)) go. Here only the rows between the first and the
        last changed place get their new index, and DataTable's ordered row list is patched
        there; a few moved rows lose their renders (a job moving within the top 20
        re-renders 20 rows, not the screen), many bump the update count instead.
        """
        old, row_keys = self._row_order, self._row_keys
        self._row_order = list(wanted)
        if len(old) != len(wanted):  # rows came or went (show() keeps both lists to the table's rows)
            self._row_locations = TwoWayDict({row_keys[name]: index for index, name in enumerate(wanted)})
            self._update_count += 1
            self._set_ordered_rows(list(map(self._rows_by_name.__getitem__, wanted)))
            self.refresh()
            return
        lo = 0
        while old[lo] == wanted[lo]:
            lo += 1
        hi = len(wanted) - 1
        while old[hi] == wanted[hi]:
            hi -= 1
        moved = list(map(row_keys.__getitem__, wanted[lo:hi + 1]))
        # TwoWayDict's two dicts, updated in C (its __setitem__ is a Python call per row).
        self._row_locations._forward.update(zip(moved, range(lo, hi + 1)))
        self._row_locations._reverse.update(zip(range(lo, hi + 1), moved))
        ordered = self._ordered_row_cache.get((self.row_count, self._update_count))
        if len(moved) <= MOVED_ROWS_DROPPED:
            self._stale_rows.update(moved)
            self._offset_cache.clear()  # DataTable's line offsets (unused here: _get_offsets)
        else:
            self._update_count += 1  # every cached render goes at once
        if ordered is None:
            ordered = list(map(self._rows_by_name.__getitem__, wanted))
        else:
            ordered[lo:hi + 1] = map(self._rows_by_name.__getitem__, wanted[lo:hi + 1])
        self._set_ordered_rows(ordered)
        self.refresh()

    def _set_ordered_rows(self, ordered: list[Row]) -> None:
        """DataTable's ordered_rows, kept: rebuilt by DataTable, it is a Python pass over every
        row (5 ms at 10,000), and a frame asks for it after each new order (_get_fixed_offset)."""
        self._ordered_row_cache.clear()
        self._ordered_row_cache[(self.row_count, self._update_count)] = ordered

    def sort_summary(self) -> str:
        label = self.column_labels.get(self.sort_key, "objective")
        if self.sort_key == COL_CURVE:
            label = "curve"
        text = f"sort: {label}{' (reversed)' if self.sort_reverse else ''}"
        return text + (" · order frozen (p resumes)" if self.sort_paused else "")
