"""The live table of a tuning job's training jobs: diffed by job, sorted on raw values,
filtered by status and text, with sparklines on one shared scale.

The screen hands it each Snapshot; it adds new rows, rewrites only the cells whose
rendering changed, and keeps the cursor on its job across sorts (or freezes the order).
"""

from __future__ import annotations

import math
from typing import Any, Iterable

from rich.style import Style
from rich.text import Text

from hpo_tui.app import format as fmt
from hpo_tui.app.styles import status_style
from hpo_tui.app.widgets.tables import KeyedTable
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
CURVE_WIDTH = 9  # epochs shown per sparkline (the last ones)
CURVE_LABEL_WIDTH = 9
REASON_WIDTH = 24
FIRST_ROWS = 200  # a first load adds this many rows before the first frame...
PENDING_CHUNK = 1000  # ...and the rest this many at a time
STATUS_ORDER = {s: i for i, s in enumerate(("InProgress", "Stopping", "Completed", "Stopped", "Failed"))}


def _cell_signature(cell: Text) -> tuple:
    # rich's Text equality ignores the base style, which is how the best row is marked.
    return (cell.plain, str(cell.style), tuple(cell.spans))


def scaled_sparkline(values: Iterable[float], low: float, high: float, width: int = CURVE_WIDTH) -> str:
    """Block sparkline of the last `width` values on the scale low..high (shared by every row)."""
    data = [v for v in values if v is not None and math.isfinite(v)][-width:]
    if not data:
        return ""
    blocks = fmt.SPARK_BLOCKS
    if high - low < 1e-12:
        return blocks[3] * len(data)
    top = len(blocks) - 1
    return "".join(blocks[max(0, min(top, round((v - low) / (high - low) * top)))] for v in data)


def _round_sig(value: float, up: bool) -> float:
    """`value` rounded down (or up) to two significant digits: 0.9702 -> 0.98 up, 0.97 down."""
    if value == 0 or not math.isfinite(value):
        return value
    step = 10.0 ** (math.floor(math.log10(abs(value))) - 1)
    return round((math.ceil if up else math.floor)(value / step - (1e-9 if up else -1e-9)) * step, 12)


def fmt_scale(low: float, high: float) -> str:
    """The curve column's label: the values of its lowest and highest block."""
    return f"{fmt.SPARK_BLOCKS[0]}{_compact(low)} {fmt.SPARK_BLOCKS[-1]}{_compact(high)}"


def _compact(value: float) -> str:
    """Two significant digits without a leading zero: .11, .96, 2.3, 140."""
    text = f"{value:.2g}"
    return text.replace("0.", ".", 1) if text.startswith(("0.", "-0.")) else text


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
        self._cells: dict[str, dict[str, Text]] = {}
        self._signatures: dict[str, dict[str, tuple]] = {}
        self._column_keys: list[str] = []
        self._hp_names: list[str] = []
        self._row_inputs: dict[str, tuple[TrainingJobView, bool]] = {}
        self._row_order: list[str] = []  # row keys in table order (DataTable.ordered_rows rebuilds a list)
        self._snapshot: Snapshot | None = None
        self._history: fmt.MetricHistory | None = None
        self._clock = None
        self._pending: list[str] = []  # rows of a large first load not added yet, in order
        self._running: list[TrainingJobView] = []  # the running jobs shown, as of the last show()
        self._repaint_due = False  # a repaint after the next frame is scheduled (_repaint_after_refresh)

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
        visible_names = {j.name for j in visible}
        self._running = [j for j in visible if not j.is_terminal]
        for name in [n for n in self._cells if n not in visible_names]:
            self.remove_row(name)
            del self._cells[name], self._signatures[name]
            self._row_inputs.pop(name, None)
            self._row_order.remove(name)
        self._add_reason_column(visible)
        rescaled = self._update_scale(visible, view, history)
        rows_before = self.row_count
        written: set[str] = set()
        if was_empty and len(visible) > FIRST_ROWS:
            # A large table: the first screens of rows now, in sorted order, so the first
            # frame shows them; the rest join a chunk at a time (_add_pending_rows), between
            # which the app keeps drawing and answering keys.
            order = self.ordered_names(visible, view)
            self._pending = order[FIRST_ROWS:]
            by_name = {j.name: j for j in visible}
            visible = [by_name[name] for name in order[:FIRST_ROWS]]
            self.set_timer(0.01, self._add_pending_rows)
        pending = set(self._pending)
        for job in visible:
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
            written.add(job.name)
        if rescaled:
            self._rescale_curves(visible, view, written)
        if self.row_count != rows_before:
            # Textual 8.2 can keep the cursor row rendered with pre-measurement widths.
            self.call_after_refresh(getattr(self, "_clear_caches", lambda: None))
        if self._pending:
            if was_empty:
                self.move_cursor(row=0)  # added in sorted order: the best on top
            return  # sorted once every row is in
        self._sort(visible, view, first_load=was_empty)

    def _repaint_after_refresh(self) -> None:
        """Refresh the table once more after the coming frame.

        Cells rewritten with update_cell(update_width=False) were sometimes left painted
        with their old text in a real terminal (the tmux end-to-end test under load: rows
        still InProgress under a Completed header until anything forced a full repaint),
        while the table's data and a headless full render were right. Without this, 3 of
        5 runs failed alongside a tuning benchmark and 1 of 4 beside two busy loops; with
        it, 0 of 12 (and 0 of 11 when it also cleared the render caches, which cost 50%
        more CPU per refresh in bench/tui_bench.py --scale). One per frame, however many
        cells changed.
        """
        if not self._repaint_due:
            self._repaint_due = True
            self.call_after_refresh(self._repaint)

    def _repaint(self) -> None:
        self._repaint_due = False
        self.refresh()

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

    def tick(self, snapshot: Snapshot, now: float) -> None:
        """The clock moved: rewrite the durations of the running jobs shown (only the cells
        whose text changed are written)."""
        view = snapshot.tuning_job
        for job in self._running:
            if job.name in self._cells:
                self._write_row(job, view, now)

    def rebuild(self) -> None:
        """Rewrite every row (new colours, filter or sort); the diff still skips equal cells."""
        self._row_inputs.clear()
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
        columns: list[tuple[str, str]] = [(COL_JOB, "job"), (COL_STATUS, "status")]
        columns += [(name, name) for name in names]
        # The best per-epoch value is in the detail view: the table fits 100 columns without it.
        columns += [
            (COL_OBJECTIVE, "objective"),
            (COL_EPOCH, "epoch"),
            (COL_CURVE, "curve"),
            (COL_DURATION, "time"),
        ]
        for key, label in columns:
            # The curve's label carries its scale, so its width never depends on the epochs seen.
            width = CURVE_LABEL_WIDTH if key == COL_CURVE else None
            self.add_column(Text(label), key=key, width=width)
        self._column_keys = [key for key, _ in columns]
        self.column_labels = dict(columns)

    def _add_reason_column(self, jobs: list[TrainingJobView]) -> None:
        """The failure reason column appears with the first failure (most runs never need it)."""
        if COL_REASON in self.column_labels or not any(j.failure_reason for j in jobs):
            return
        self.add_column(Text("failure reason"), key=COL_REASON, default=Text(""))
        self._column_keys.append(COL_REASON)
        self.column_labels[COL_REASON] = "failure reason"
        self._row_inputs.clear()  # rows already shown get their (empty) reason cell

    def _update_scale(self, jobs: list[TrainingJobView], view: TuningJobView, history: fmt.MetricHistory) -> bool:
        """One scale for every sparkline: the range of the values the visible rows draw,
        widened to the two digits its label shows (so it moves rarely). True if it moved."""
        # A failed job's values (0.11 after a NaN) would squash every other row into ▇█:
        # they clamp to ▁ instead, unless nothing else has values.
        # Only jobs with a curve in the history can draw one (with curves loaded per job,
        # a few hundred of 10,000): walk those, not every row.
        with_curves = history.jobs_with(view.objective_name)
        shown = [j for j in jobs if j.name in with_curves] if len(with_curves) < len(jobs) else jobs

        def values_of(chosen: list[TrainingJobView]) -> list[float]:
            return [v for job in chosen for _, v in history.curve(job.name, view.objective_name)[-CURVE_WIDTH:]
                    if math.isfinite(v)]

        values = values_of([j for j in shown if j.status != "Failed"]) or values_of(shown)
        scale = (_round_sig(min(values), up=False), _round_sig(max(values), up=True)) if values else None
        if scale == self.scale:
            return False
        self.scale = scale
        column = self.columns.get(COL_CURVE)  # type: ignore[call-overload]
        if column is not None:
            column.label = Text(fmt_scale(*scale) if scale else "curve")
            self.refresh()
        return True

    def _curve_cell(self, job: TrainingJobView, view: TuningJobView, base: Style | str) -> Text:
        assert self._history is not None
        values = [v for _, v in self._history.curve(job.name, view.objective_name)]
        low, high = self.scale or (0.0, 0.0)
        return Text(scaled_sparkline(values, low, high), style=base or self.cell_styles.get("accent", ""))

    def _rescale_curves(self, jobs: list[TrainingJobView], view: TuningJobView, written: set[str]) -> None:
        """A new scale: redraw the sparklines of the rows this poll did not rewrite anyway."""
        for job in jobs:
            if job.name in written or job.name not in self._cells:
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
        cells = {
            COL_JOB: Text(f"{BEST_MARK if is_best else ' '} {self.short_name(job.name)}", style=base),
            COL_STATUS: Text(job.status, style=status_style(self.cell_styles, job.status)),
            COL_OBJECTIVE: Text(fmt.fmt_number(job.final_objective), style=base, justify="right"),
            COL_EPOCH: Text(fmt.fmt_epochs(job, view), style=base, justify="right"),
            COL_CURVE: self._curve_cell(job, view, base),
            COL_DURATION: Text(fmt.fmt_duration(fmt.job_duration(job, now)), style=base, justify="right"),
            COL_REASON: Text(fmt.shorten(job.failure_reason, REASON_WIDTH), style=self.cell_styles.get("error", "")),
        }
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
            self.add_row(*(cells[key] for key in self._column_keys), key=job.name)
            self._row_order.append(job.name)
        else:
            for key in self._column_keys:
                if signatures[key] != old.get(key):
                    self._set_cell(job.name, key, cells[key])
        self._cells[job.name] = cells
        self._signatures[job.name] = signatures

    def _set_cell(self, row: str, key: str, cell: Text) -> None:
        """Rewrite one cell without measuring its column again.

        Textual's update_width=True re-measures the whole column whenever the new cell is
        narrower than the column (every objective value is narrower than its header): a
        full-column pass per changed job, 1 s at 5,000 rows. Columns keep the width they
        were given by their rows and grow when a wider value arrives; they never shrink
        while the table is shown (nor jump about while you read it).
        """
        self.update_cell(row, key, cell, update_width=False)
        self._repaint_after_refresh()
        column = self.columns.get(key)  # type: ignore[call-overload]
        if column is not None and column.auto_width and cell.cell_len > column.content_width:
            # Grown here, at once: leaving it to update_width would re-measure the column
            # when two wider values arrive in one batch (the second is narrower than the first).
            column.content_width = cell.cell_len
            self._require_update_dimensions = True  # DataTable's own flag: new virtual width on idle

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
            return job.final_objective
        if key == COL_BEST:
            return job.best_objective
        if key == COL_EPOCH:
            return job.last_epoch
        if key == COL_DURATION:
            return fmt.job_duration(job, self._now())
        if key == COL_REASON:
            return job.failure_reason.lower() if job.failure_reason else None
        return fmt.hyperparameter_sort_key(job.hyperparameters.get(key))

    def ordered_names(self, jobs: list[TrainingJobView], view: TuningJobView) -> list[str]:
        """Row order for the current sort: raw values, missing values last, ties by launch."""
        by_launch = sorted(jobs, key=lambda j: j.launch_index)
        present = [j for j in by_launch if self._raw_value(j) is not None]
        missing = [j for j in by_launch if self._raw_value(j) is None]
        # The objective columns sort best-first by default, whichever way the objective points.
        descending = self.sort_key in (COL_OBJECTIVE, COL_BEST, COL_CURVE) and view.objective_type == "Maximize"
        present.sort(key=self._raw_value, reverse=descending != self.sort_reverse)
        return [j.name for j in present + missing]

    def sort_by(self, key: str, reverse: bool = False) -> None:
        self.sort_key, self.sort_reverse = key, reverse
        self.resort()

    def resort(self) -> None:
        if self._snapshot is not None:
            self._sort(self.visible_jobs(self._snapshot), self._snapshot.tuning_job, force=True)

    def _sort(self, jobs: list[TrainingJobView], view: TuningJobView, first_load: bool = False,
              force: bool = False) -> None:
        """Order rows by the sort column; first_load (the table was empty) puts the cursor on top.

        While the order is frozen (sort_paused) a live poll never moves rows: new jobs
        join at the bottom, so the row under the cursor stays where the eye left it.
        """
        if self.sort_paused and not first_load and not force:
            return
        wanted = self.ordered_names(jobs, view)
        if wanted == self._row_order:
            return
        # Later sorts keep the cursor on its row, wherever that row moves.
        selected = None if first_load else self.selected_job()
        rank = {self._cells[name][COL_JOB].plain: i for i, name in enumerate(wanted)}  # plain = "★ <short>"
        self.sort(COL_JOB, key=lambda cell: rank.get(cell.plain, len(rank)))
        self._row_order = list(wanted)
        if selected is not None and selected in self._cells:
            self.move_cursor(row=self.get_row_index(selected))
        elif first_load:
            self.move_cursor(row=0)

    def sort_summary(self) -> str:
        label = self.column_labels.get(self.sort_key, "objective")
        if self.sort_key == COL_CURVE:
            label = "curve"
        text = f"sort: {label}{' (reversed)' if self.sort_reverse else ''}"
        return text + (" · order frozen (p resumes)" if self.sort_paused else "")
