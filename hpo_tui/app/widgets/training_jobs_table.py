"""The live table of a tuning job's training jobs: one row per job, its cells built from the
job's view, with sparklines on one shared scale.

The screen hands it each Snapshot; the rows model (hpo_tui/app/job_rows.py) says which jobs
show, in which order and which rows may differ; this widget builds their cells, writes the
changed ones (widgets/fast_table.py) and keeps the cursor on its job across sorts (or
freezes the order). The filter, the statuses, the sort and the pause are reactive: set
them, and the rows follow (screens watch them for their own bars).
"""

from __future__ import annotations

import gc
import time
from typing import Callable

from rich.style import Style
from rich.text import Text
from textual.reactive import var

from hpo_tui.app import format as fmt
from hpo_tui.app.job_rows import (  # noqa: F401  (the column keys and the scale's label are the table's API)
    ALL_STATUSES,
    COL_BEST,
    COL_CURVE,
    COL_DURATION,
    COL_EPOCH,
    COL_JOB,
    COL_OBJECTIVE,
    COL_REASON,
    COL_STATUS,
    CURVE_LABEL_WIDTH,
    JobRows,
    fmt_scale,
    scaled_sparkline,
    sparkline_scale,
)
from hpo_tui.app.styles import status_style
from hpo_tui.app.widgets.fast_table import FastTable
from hpo_tui.scales import JobScales, job_scales
from hpo_tui.views import Snapshot, TrainingJobView, TuningJobView

BEST_MARK = "★"
MARKED = "●"  # a job marked (space) for compare; the best job keeps ★, underlined when marked
DIVERGED_CELL = "↓diverged"  # the curve cell of a job whose objective collapsed (CURVE_WIDTH long)
REASON_WIDTH = 24
FIRST_ROWS = 200  # a first load adds this many rows before the first frame...
PENDING_CHUNK = 1000  # ...and the rest this many at a time
FREEZE_ROWS = 2000  # a first load this large freezes the loaded objects out of the GC (_freeze_loaded_objects)


def _cell_signature(cell: Text) -> tuple:
    # rich's Text equality ignores the base style, which is how the best row is marked.
    return (cell.plain, str(cell.style), tuple(cell.spans))


def _freeze_loaded_objects() -> None:
    """Leave the objects of a large first load out of the garbage collector's full passes.

    Thousands of rows are hundreds of thousands of long-lived objects (views, cells, their
    renders); each full collection would walk them all again: a 200-350 ms pause every few
    polls at 10,000 rows. gc.freeze() moves every object alive now to a generation the
    collector never scans; they are still freed as usual when nothing refers to them.
    (A reference cycle among them that became garbage later would stay: a screen left
    open at this point and closed afterwards, a few MB at most.)
    """
    gc.freeze()


class TrainingJobsTable(FastTable):
    """One row per training job, keyed by its name; columns keyed by hyperparameter name."""

    text_filter: var[str] = var("")  # every word must match (name, status, hyperparameter values)
    shown_statuses: var[frozenset[str]] = var(ALL_STATUSES)
    # (column key, reversed). Set again to the same value, it sorts again (even while frozen).
    sorting: var[tuple[str, bool]] = var((COL_OBJECTIVE, False), always_update=True)
    sort_paused: var[bool] = var(False)  # the order is frozen: live polls never move rows

    def __init__(self, tuning_job: str, *, clock: Callable[[], float] = time.time, id: str | None = None) -> None:
        # css foreground under the cursor: the best row's green on the cursor's blue (or
        # bright green on cyan with TERM=xterm) could not be read; ★ and bold still mark it.
        super().__init__(id=id, cursor_type="row", zebra_stripes=True, cursor_foreground_priority="css",
                         fixed_columns=2)
        self.tuning_job = tuning_job
        self.clock = clock
        self.rows_model = JobRows(clock)
        self.cell_styles: dict[str, Style] = {}  # theme colours for cells (no CSS reaches them)
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
        self._snapshot: Snapshot | None = None
        self._history: fmt.MetricHistory | None = None
        self._pending: list[str] = []  # rows of a large first load not added yet, in order
        self._running: list[TrainingJobView] = []  # the running jobs shown, as of the last show()

    # --- reactive state ---------------------------------------------------------------

    def watch_text_filter(self, value: str) -> None:
        self.rows_model.text_filter = value
        self.rebuild()

    def watch_shown_statuses(self, value: frozenset[str]) -> None:
        self.rows_model.shown_statuses = value
        self.rebuild()

    def watch_sorting(self, value: tuple[str, bool]) -> None:
        self.rows_model.sort_key, self.rows_model.sort_reverse = value
        self.resort()

    def watch_sort_paused(self, paused: bool) -> None:
        if not paused:
            self.resort()

    @property
    def sort_key(self) -> str:
        return self.sorting[0]

    @property
    def sort_reverse(self) -> bool:
        return self.sorting[1]

    # --- what is shown -------------------------------------------------------------

    @property
    def has_columns(self) -> bool:
        return bool(self._column_keys)

    @property
    def column_keys(self) -> list[str]:
        return list(self._column_keys)

    @property
    def filtering(self) -> bool:
        return self.rows_model.filtering

    def matches(self, job: TrainingJobView) -> bool:
        return self.rows_model.matches(job)

    def visible_jobs(self, snapshot: Snapshot) -> list[TrainingJobView]:
        return self.rows_model.visible(snapshot.training_jobs)

    def short_name(self, name: str) -> str:
        # Training job names repeat the tuning job's name (SageMaker's convention); the
        # header shows it once, so the table keeps the part that tells jobs apart.
        prefix = self.tuning_job + "-"
        return name[len(prefix):] if name.startswith(prefix) and len(name) > len(prefix) else name

    def rows_between(self, start: int, stop: int) -> list[str]:
        """Row keys from table row start (0 = top) up to stop, in table order."""
        return self.rows_model.order[start:stop]

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
        rows = self.rows_model
        if not self._column_keys:
            self._add_columns(snapshot)
            if self.sort_key not in self.column_labels and self.sort_key not in (COL_BEST, COL_REASON):
                # Remembered from another tuning job: the default, without sorting (nor saving) it now.
                self.set_reactive(TrainingJobsTable.sorting, (COL_OBJECTIVE, False))
                rows.sort_key, rows.sort_reverse = COL_OBJECTIVE, False
        was_empty = self.row_count == 0
        visible = self.visible_jobs(snapshot)
        # Each pass over every row is a few ms at 10,000 rows: set operations and the
        # snapshot's own running list keep them in C, or once per snapshot.
        self._running = list(snapshot.running) if not self.filtering else [j for j in visible if not j.is_terminal]
        changed = rows.places_changed(visible)
        gone = rows.gone(visible, changed)
        for name in gone:
            self.remove_named_row(name)
            del self._cells[name], self._signatures[name]
        rows.removed(gone)
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
            order = rows.ordered_names(visible, view)
            self._pending = order[FIRST_ROWS:]
            by_name = {j.name: j for j in visible}
            visible = [by_name[name] for name in order[:FIRST_ROWS]]
            # After the first frame is out (a 10 ms timer could come before it, and make it
            # wait for a whole chunk).
            self.call_after_refresh(self._add_pending_rows)
        pending = set(self._pending)
        for job in rows.candidates(visible, view.best_training_job, history_changed, changed,
                                   loading=bool(self._pending)):
            if job.name in pending:
                continue
            is_best = job.name == view.best_training_job
            # A finished job whose view, best mark and curve did not change cannot have
            # a different row: skip building its cells (most of a large tuning job).
            if job.is_terminal and job.name not in history_changed and rows.drawn_from(job, is_best):
                continue
            self._write_row(job, view, now)
            rows.drawn(job, is_best)
            moved.append(job)
        if rescaled:
            self._rescale_curves(visible, view, {job.name for job in moved})
        if self.row_count != rows_before:
            self.clear_caches_after_refresh()
        if self._pending:
            if was_empty:
                self.move_cursor(row=0)  # added in sorted order: the best on top
            return  # sorted once every row is in
        self._sort(visible, view, first_load=was_empty, moved=moved)

    def _add_pending_rows(self) -> None:
        """Add the next chunk of a large first load (in sorted order); sort once at the end."""
        snapshot, history = self._snapshot, self._history
        if snapshot is None or history is None or not self._pending:
            self._pending = []
            return
        view = snapshot.tuning_job
        chunk, self._pending = self._pending[:PENDING_CHUNK], self._pending[PENDING_CHUNK:]
        by_name = {j.name: j for j in snapshot.training_jobs}
        now = self.clock()
        with self.app.batch_update():
            for name in chunk:
                job = by_name.get(name)
                if job is None or name in self._signatures or not self.matches(job):
                    continue
                self._write_row(job, view, now)
                self.rows_model.drawn(job, name == view.best_training_job)
            if self._pending:
                self.set_timer(0.01, self._add_pending_rows)
            else:
                self.clear_caches_after_refresh()
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

    def rebuild(self) -> None:
        """Rewrite every row (new colours, filter or sort); the diff still skips equal cells."""
        self.rows_model.forget_drawn()
        if self._snapshot is not None and self._history is not None:
            self.show(self._snapshot, self._history, set(), self.clock())

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
        if not (any(j.failure_reason for j in jobs) if self.filtering else snapshot.any_failure_reason):
            if not any(j.silent_since is not None for j in jobs):  # a stall is said in it too
                return
        self.add_column(Text("failure reason"), key=COL_REASON, default=Text(""))
        self._column_keys.append(COL_REASON)
        self.column_labels[COL_REASON] = "failure reason"
        self.rows_model.forget_drawn()  # rows already shown get their (empty) reason cell

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
        """The sparklines' shared scale for the rows shown (job_rows.sparkline_scale), and the
        curve column's label. True if it moved."""
        scales = self.job_scales(self._snapshot) if self._snapshot is not None else None
        scale = sparkline_scale(jobs, view, history, self.diverged, scales, self.zoomed)
        if scale == self.scale:
            return False
        self.scale = scale
        self.set_column_label(COL_CURVE, Text(fmt_scale(*scale) if scale else "curve"))
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
            self.add_named_row(job.name, (cells[key] for key in self._column_keys))
            self.rows_model.added(job.name)
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
        shown = self.rows_model.inputs.get(name)
        if self._snapshot is not None and shown is not None and name in self._signatures:
            cell = self._row_cells(shown[0], self._snapshot.tuning_job, self.clock())[COL_JOB]
            self._set_cell(name, COL_JOB, cell)
            self._cells[name][COL_JOB] = cell
            self._signatures[name][COL_JOB] = _cell_signature(cell)

    # --- sorting -------------------------------------------------------------------

    def sort_by(self, key: str, reverse: bool = False) -> None:
        self.sorting = (key, reverse)

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
        rows = self.rows_model
        if moved is not None and not first_load and not force and len(moved) * 4 < len(jobs):
            wanted = rows.ordered_after_changes(moved, view)
        else:
            wanted = rows.ordered_names(jobs, view)
        if wanted is rows.order or wanted == rows.order:
            return
        # Later sorts keep the cursor on its row, wherever that row moves.
        selected = None if first_load else self.selected_job()
        self.apply_order(wanted, rows.reorder(wanted))
        if selected is not None and selected in self._cells:
            self.move_cursor(row=self.get_row_index(selected))
        elif first_load:
            self.move_cursor(row=0)

    def sort_summary(self) -> str:
        return self.rows_model.sort_summary(self.column_labels, self.sort_paused)
