"""The dashboard of one tuning job: header, live training-job table, charts, status bar.

A thread worker polls the backend (never overlapping, re-armed after each poll) and
posts a SnapshotPolled message; the screen diffs the table on the main thread.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.color import Color
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, ProgressBar, Static
from textual.worker import Worker, WorkerState
from textual_plotext import PlotextPlot

from hpo_tui.app import format as fmt
from hpo_tui.app.messages import ExportWritten, SnapshotPolled
from hpo_tui.views import TRAINING_STATUSES, Snapshot, TrainingJobView, TuningJobView
from hpo_tui.report import cost_text, write_export

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
TOP_CURVES = 5
MAX_ERROR_BACKOFF = 60.0
# A finished tuning job cannot change any more (short of a resume), so poll it gently.
FINISHED_INTERVAL = 5.0

STATUS_ORDER = {s: i for i, s in enumerate(("InProgress", "Stopping", "Completed", "Stopped", "Failed"))}
STATUS_COLOURS = {
    "InProgress": "accent",
    "Stopping": "warning",
    "Completed": "success",
    "Stopped": "warning",
    "Failed": "error",
}


def _cell_signature(cell: Text) -> tuple:
    # rich's Text equality ignores the base style, which is how the best row is marked.
    return (cell.plain, str(cell.style), tuple(cell.spans))


class DashboardScreen(Screen):
    """Watch one tuning job live."""

    BINDINGS = [
        Binding("enter", "detail", "Detail", id="dashboard.detail"),
        Binding("s", "stop", "Stop", id="dashboard.stop"),
        Binding("e", "export", "Export", id="dashboard.export"),
        Binding("f", "filter", "Filter", id="dashboard.filter"),
        Binding("o", "sort", "Sort", id="dashboard.sort"),
        Binding("c", "toggle_charts", "Charts", id="dashboard.charts"),
        Binding("r", "refresh", "Refresh", id="dashboard.refresh"),
        Binding("question_mark", "help", "Help", id="dashboard.help"),
        Binding("escape", "back", "Back", id="dashboard.back", show=False),
        Binding("q", "app.quit", "Quit", id="dashboard.quit"),
    ]
    # (command palette name, help, action) -- the same actions as the keys.
    PALETTE = [
        ("Job detail", "Open the selected training job (enter)", "detail"),
        ("Stop tuning job", "Stop the tuning job and its running training jobs (s)", "stop"),
        ("Export CSV/JSON", "Write one row per training job to a file (e)", "export"),
        ("Filter by status", "Show only some training job statuses (f)", "filter"),
        ("Sort", "Sort the training jobs by a column (o)", "sort"),
        ("Toggle charts", "Show or hide the charts (c)", "toggle_charts"),
        ("Refresh now", "Poll the backend now (r)", "refresh"),
        ("Help", "List the keys (?)", "help"),
    ]

    def __init__(self, tuning_job: str, *, backend_name: str | None = None) -> None:
        super().__init__()
        self.tuning_job = tuning_job
        self.backend_name = backend_name
        self.snapshot: Snapshot | None = None
        self.history = fmt.MetricHistory()
        self.cursor: Any = None
        self.interval: float | None = None
        self.shown_statuses: frozenset[str] = frozenset(TRAINING_STATUSES)
        self.sort_key = COL_OBJECTIVE
        self.sort_reverse = False
        self.last_error: str | None = None
        self.error_count = 0
        self._cells: dict[str, dict[str, Text]] = {}
        self._signatures: dict[str, dict[str, tuple]] = {}
        self._column_keys: list[str] = []
        self._column_labels: dict[str, str] = {}
        self._hp_names: list[str] = []
        self._selected: str | None = None
        self._suspended = False
        self._poll_timer = None
        self._poll_due_on_resume = False
        self._chart_signature: tuple | None = None
        self._row_inputs: dict[str, tuple[TrainingJobView, bool]] = {}
        self._row_order: list[str] = []  # row keys in table order (DataTable.ordered_rows rebuilds a list)
        self._styles: dict[str, Style] = {}

    # --- layout --------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="dash-header"):
            yield Static(Text(self.tuning_job), id="dash-title")
            with Horizontal(id="dash-progress-row"):
                yield ProgressBar(total=None, show_eta=False, id="dash-progress")
                yield Static("", id="dash-counters")
            yield Static("", id="dash-best")
        table: DataTable = DataTable(id="jobs-table", cursor_type="row", zebra_stripes=True,
                                     cursor_foreground_priority="renderable")
        yield table
        with Horizontal(id="charts"):
            # Legends live under the plots: plotext draws its own over the data.
            with Vertical(classes="chart"):
                yield PlotextPlot(id="objective-chart")
                yield Static("", id="objective-legend", classes="chart-legend")
            with Vertical(classes="chart"):
                yield PlotextPlot(id="curves-chart")
                yield Static("", id="curves-legend", classes="chart-legend")
        yield Static("connecting…", id="status-bar")
        yield Footer()

    def on_mount(self) -> None:
        self._set_styles()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._restyle())
        self.query_one("#jobs-table", DataTable).focus()
        self.set_interval(1.0, self._tick_clock)
        self._schedule_poll(0)

    def _set_styles(self) -> None:
        # Table cells are rich Text, styled with the theme's colours (no CSS reaches them).
        theme = self.app.theme_variables
        self._styles = {name: Style(color=theme[name]) for name in ("accent", "warning", "success", "error")}
        self._styles["best"] = Style(color=theme["success"], bold=True)
        # Chart series colours, as RGB for plotext and as Rich colours for the legends.
        self._series_colours = [
            Color.parse(theme[name]).rgb for name in ("primary", "warning", "success", "error", "foreground", "secondary")
        ]
        self._chart_signature = None  # redraw the charts in the new colours

    def _restyle(self) -> None:
        """A new theme: recolour every row (a user action, so rewriting all cells is fine)."""
        self._set_styles()
        self._row_inputs.clear()
        if self.snapshot is not None:
            self.apply_snapshot(self.snapshot)

    @property
    def clock(self) -> Callable[[], float]:
        return getattr(self.app, "clock", None) or time.time

    # --- polling -------------------------------------------------------------------

    def _schedule_poll(self, delay: float) -> None:
        if self._poll_timer is not None:
            self._poll_timer.stop()
        self._poll_timer = self.set_timer(max(delay, 0.01), self._start_poll)

    def _start_poll(self) -> None:
        self._poll_timer = None
        if self._suspended:
            # Another screen is on top: poll again as soon as this one is back.
            self._poll_due_on_resume = True
            return
        self.poll_snapshot(self.cursor)

    def _polling(self) -> bool:
        return any(w.group == "poll" and w.is_running for w in self.workers)

    @work(thread=True, exclusive=True, group="poll", exit_on_error=False)
    def poll_snapshot(self, cursor: Any) -> None:
        backend = self.app.backend_for(self.backend_name)
        snapshot = backend.poll(self.tuning_job, cursor)
        interval = self.app.interval or backend.default_interval
        if snapshot.suggested_interval:
            interval = max(interval, snapshot.suggested_interval)
        if snapshot.tuning_job.is_terminal and all(j.is_terminal for j in snapshot.training_jobs):
            interval = max(interval, FINISHED_INTERVAL)
        self.post_message(SnapshotPolled(snapshot, interval))

    @on(SnapshotPolled)
    def _snapshot_polled(self, message: SnapshotPolled) -> None:
        self.last_error = None
        self.error_count = 0
        self.interval = message.interval
        self.apply_snapshot(message.snapshot)
        self._schedule_poll(message.interval)

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "poll" and event.state == WorkerState.ERROR:
            # The one place poll errors land: say so, keep the last good data, back off.
            self.error_count += 1
            self.last_error = fmt.shorten(str(worker.error) or type(worker.error).__name__, 160)
            base = self.interval or self.app.interval or 1.0
            self._update_status_bar()
            self._schedule_poll(min(base * 2 ** (self.error_count - 1), MAX_ERROR_BACKOFF))
        elif worker.group == "stop" and event.state == WorkerState.ERROR:
            from hpo_tui.app.screens.dialogs import ErrorDialog

            self.app.push_screen(ErrorDialog("Could not stop the tuning job", str(worker.error)))
        elif worker.group == "stop" and event.state == WorkerState.SUCCESS:
            self.notify(f"Stopping {self.tuning_job}", title="Stop", markup=False)
            self.action_refresh()
        elif worker.group == "export" and event.state == WorkerState.ERROR:
            from hpo_tui.app.screens.dialogs import ErrorDialog

            self.app.push_screen(ErrorDialog("Export failed", f"{worker.error}\nChoose another file."))

    def on_screen_suspend(self) -> None:
        self._suspended = True
        if self._poll_timer is not None:
            self._poll_timer.stop()
            self._poll_timer = None
            self._poll_due_on_resume = True

    def on_screen_resume(self) -> None:
        self._suspended = False
        if self._poll_due_on_resume and not self._polling():
            self._poll_due_on_resume = False
            self._schedule_poll(0)

    # --- applying a snapshot (main thread) ----------------------------------------

    def apply_snapshot(self, snapshot: Snapshot) -> None:
        """Diff the table against a snapshot: add new rows, update only changed cells."""
        self.snapshot = snapshot
        self.cursor = snapshot.cursor
        history_changed = self.history.add(snapshot.new_points)
        table = self.query_one("#jobs-table", DataTable)
        view = snapshot.tuning_job
        now = self.clock()
        with self.app.batch_update():
            if not self._column_keys:
                self._add_columns(table, snapshot)
            was_empty = table.row_count == 0
            visible = [j for j in snapshot.training_jobs if j.status in self.shown_statuses]
            visible_names = {j.name for j in visible}
            for name in [n for n in self._cells if n not in visible_names]:
                table.remove_row(name)
                del self._cells[name], self._signatures[name]
                self._row_inputs.pop(name, None)
                self._row_order.remove(name)
            rows_before = table.row_count
            for job in visible:
                is_best = job.name == view.best_training_job
                # A finished job whose view, best mark and curve did not change cannot have
                # a different row: skip building its cells (most of a large tuning job).
                if (job.is_terminal and job.name not in history_changed
                        and self._row_inputs.get(job.name) == (job, is_best)):
                    continue
                self._write_row(table, job, view, now)
                self._row_inputs[job.name] = (job, is_best)
            if table.row_count != rows_before:
                # Textual 8.2 can keep the cursor row rendered with pre-measurement widths.
                self.call_after_refresh(getattr(table, "_clear_caches", lambda: None))
            self._sort_table(table, visible, view, first_load=was_empty)
            self._update_header(view, now)
            self._update_status_bar()
            self._update_charts()

    def _add_columns(self, table: DataTable, snapshot: Snapshot) -> None:
        view = snapshot.tuning_job
        names = list(view.tuned_parameters)
        for job in snapshot.training_jobs:
            names.extend(k for k in job.hyperparameters if k not in names)
        self._hp_names = names
        columns: list[tuple[str, str]] = [(COL_JOB, "job"), (COL_STATUS, "status")]
        columns += [(name, name) for name in names]
        columns += [
            (COL_OBJECTIVE, "objective"),
            (COL_BEST, "best"),
            (COL_EPOCH, "epoch"),
            (COL_CURVE, "curve"),
            (COL_DURATION, "time"),
            (COL_REASON, "failure reason"),
        ]
        for key, label in columns:
            table.add_column(Text(label), key=key)
        self._column_keys = [key for key, _ in columns]
        self._column_labels = dict(columns)

    def _row_cells(self, job: TrainingJobView, view: TuningJobView, now: float) -> dict[str, Text]:
        is_best = job.name == view.best_training_job
        base = self._styles.get("best", "") if is_best else ""
        objective_curve = [v for _, v in self.history.curve(job.name, view.objective_name)]
        cells = {
            COL_JOB: Text(f"{BEST_MARK if is_best else ' '} {self._short_name(job.name)}", style=base),
            COL_STATUS: Text(job.status, style=self._styles.get(STATUS_COLOURS.get(job.status, ""), "")),
            COL_OBJECTIVE: Text(fmt.fmt_number(job.final_objective), style=base, justify="right"),
            COL_BEST: Text(fmt.fmt_number(job.best_objective), style=base, justify="right"),
            COL_EPOCH: Text(fmt.fmt_epochs(job, view), style=base, justify="right"),
            COL_CURVE: Text(fmt.sparkline(objective_curve), style=base or self._styles.get("accent", "")),
            COL_DURATION: Text(fmt.fmt_duration(fmt.job_duration(job, now)), style=base, justify="right"),
            COL_REASON: Text(fmt.shorten(job.failure_reason, 28), style=self._styles.get("error", "")),
        }
        if is_best:
            cells[COL_STATUS].stylize(Style(bold=True))
        for name in self._hp_names:
            value = job.hyperparameters.get(name)
            cells[name] = Text(fmt.fmt_hyperparameter(value) if value is not None else fmt.DASH,
                               style=base, justify="right")
        return cells

    def _short_name(self, name: str) -> str:
        # Training job names repeat the tuning job's name (SageMaker's convention); the
        # header shows it once, so the table keeps the part that tells jobs apart.
        prefix = self.tuning_job + "-"
        return name[len(prefix):] if name.startswith(prefix) and len(name) > len(prefix) else name

    def _write_row(self, table: DataTable, job: TrainingJobView, view: TuningJobView, now: float) -> None:
        cells = self._row_cells(job, view, now)
        signatures = {key: _cell_signature(cell) for key, cell in cells.items()}
        old = self._signatures.get(job.name)
        if old is None:
            table.add_row(*(cells[key] for key in self._column_keys), key=job.name)
            self._row_order.append(job.name)
        else:
            for key in self._column_keys:
                if signatures[key] != old[key]:
                    table.update_cell(job.name, key, cells[key], update_width=True)
        self._cells[job.name] = cells
        self._signatures[job.name] = signatures

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
            return fmt.job_duration(job, self.clock())
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

    def _sort_table(self, table: DataTable, jobs: list[TrainingJobView], view: TuningJobView,
                    first_load: bool = False) -> None:
        """Order rows by the sort column; first_load (the table was empty) puts the cursor on top."""
        wanted = self.ordered_names(jobs, view)
        current = self._row_order
        if wanted == current:
            return
        # Later sorts keep the cursor on its row, wherever that row moves.
        selected = None if first_load else self._cursor_row_key(table)
        rank = {self._cells[name][COL_JOB].plain: i for i, name in enumerate(wanted)}  # plain = "★ <short>"
        table.sort(COL_JOB, key=lambda cell: rank.get(cell.plain, len(rank)))
        self._row_order = list(wanted)
        if selected is not None and selected in self._cells:
            table.move_cursor(row=table.get_row_index(selected))
        elif first_load:
            table.move_cursor(row=0)
        # Moving to the same index posts no RowHighlighted, yet the row under it changed.
        self._selected = self._cursor_row_key(table)

    @staticmethod
    def _cursor_row_key(table: DataTable) -> str | None:
        if table.row_count == 0:
            return None
        try:
            return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:  # the cursor can sit past the end right after rows were removed
            return None

    def selected_job(self) -> str | None:
        return self._cursor_row_key(self.query_one("#jobs-table", DataTable))

    def _resort(self) -> None:
        if self.snapshot is None:
            return
        visible = [j for j in self.snapshot.training_jobs if j.status in self.shown_statuses]
        self._sort_table(self.query_one("#jobs-table", DataTable), visible, self.snapshot.tuning_job)

    # --- header, status bar, charts -------------------------------------------------

    def _update_header(self, view: TuningJobView, now: float) -> None:
        title = Text()
        title.append(view.name, style="bold")
        title.append(f" · {view.backend} · ")
        title.append(view.status, style=self._styles.get(STATUS_COLOURS.get(view.status, ""), ""))
        title.append(f" · {view.strategy} · elapsed {fmt.fmt_duration(fmt.tuning_elapsed(view, now))}")
        if view.failure_reason:
            title.append(f"  {fmt.shorten(view.failure_reason, 50)}", style=self._styles.get("error", ""))
        elif view.completion_reason:
            title.append(f"  ({fmt.shorten(view.completion_reason, 50)})")
        self.query_one("#dash-title", Static).update(title)
        counters = view.status_counters
        progress = self.query_one("#dash-progress", ProgressBar)
        progress.update(total=max(view.max_jobs, 1), progress=min(counters.finished, view.max_jobs))
        parts = [f"{counters.finished}/{view.max_jobs} finished", f"{counters.in_progress} running",
                 f"{counters.completed} completed"]
        failed = counters.retryable_error + counters.non_retryable_error
        if failed:
            parts.append(f"{failed} failed")
        if counters.stopped:
            parts.append(f"{counters.stopped} stopped")
        cost = cost_text(self.snapshot) if self.snapshot is not None else None
        if cost:  # SageMaker: billed time, instance-hours, dollars with [sagemaker] price_per_hour
            parts.append(cost)
        self.query_one("#dash-counters", Static).update("  ·  ".join(parts))
        best = Text()
        best.append(f"best {view.objective_name} ({view.objective_type}): ")
        if view.best_objective is not None and view.best_training_job:
            best.append(f"{BEST_MARK} {fmt.fmt_number(view.best_objective)}", style=self._styles.get("best", ""))
            best.append(f"  {view.best_training_job}")
        else:
            best.append(fmt.DASH)
        shown = len(self.shown_statuses)
        if shown < len(TRAINING_STATUSES):
            best.append(f"   filter: {', '.join(s for s in TRAINING_STATUSES if s in self.shown_statuses)}",
                        style=self._styles.get("warning", ""))
        self.query_one("#dash-best", Static).update(best)

    def _update_status_bar(self) -> None:
        bar = self.query_one("#status-bar", Static)
        now = self.clock()
        text = Text()
        snapshot = self.snapshot
        if snapshot is None:
            text.append("connecting…" if not self.last_error else "no data yet")
        else:
            age = max(0.0, now - snapshot.fetched_at) + snapshot.data_age
            text.append(f"refreshed {fmt.fmt_age(age)}")
        if self.interval:
            text.append(f"  ·  polling every {self.interval:g}s")
        label = self._column_labels.get(self.sort_key, "objective")
        text.append(f"  ·  sort: {label}{' (reversed)' if self.sort_reverse else ''}")
        if snapshot is not None and snapshot.throttle_count:
            text.append(f"  ·  throttled {snapshot.throttle_count}×", style=self._styles.get("warning", ""))
        if snapshot is not None and snapshot.warning:
            text.append(f"  ·  ⚠ {fmt.shorten(snapshot.warning, 60)}", style=self._styles.get("warning", ""))
        if self.last_error:
            text.append(f"  ·  ⚠ poll failed ({self.error_count}×): {self.last_error}",
                        style=self._styles.get("error", ""))
            if snapshot is not None:
                text.append("  ·  showing stale data", style=self._styles.get("error", ""))
        bar.set_class(bool(self.last_error), "stale")
        bar.update(text)

    def _tick_clock(self) -> None:
        if self._suspended:
            return
        self._update_status_bar()
        if self.snapshot is None:
            return
        view = self.snapshot.tuning_job
        if view.is_terminal and all(j.is_terminal for j in self.snapshot.training_jobs):
            return  # nothing moves any more: no durations to tick
        now = self.clock()
        self._update_header(view, now)
        table = self.query_one("#jobs-table", DataTable)
        with self.app.batch_update():
            for job in self.snapshot.training_jobs:
                if job.name in self._cells and not job.is_terminal:
                    self._write_row(table, job, view, now)

    def _chart_data(self) -> tuple:
        snapshot = self.snapshot
        if snapshot is None:
            return ()
        view = snapshot.tuning_job
        finished = sorted((j for j in snapshot.training_jobs if j.is_terminal and j.final_objective is not None),
                          key=lambda j: j.launch_index)
        objective = tuple((j.launch_index + 1, j.final_objective) for j in finished)
        ranked = sorted((j for j in snapshot.training_jobs if j.final_objective is not None),
                        key=lambda j: j.final_objective, reverse=view.objective_type == "Maximize")
        names = [j.name for j in ranked[:TOP_CURVES]]
        if self._selected and self._selected not in names:
            names.append(self._selected)
        curves = tuple((name, tuple(self.history.curve(name, view.objective_name))) for name in names)
        return (view.objective_name, view.objective_type, objective, curves, self._selected)

    def _update_charts(self) -> None:
        charts = self.query_one("#charts")
        if not charts.display:
            return
        data = self._chart_data()
        if data == self._chart_signature:
            return
        self._chart_signature = data
        if not data:
            return
        objective_name, objective_type, objective, curves, selected = data
        plot = self.query_one("#objective-chart", PlotextPlot)
        plt = plot.plt
        plt.clear_data()  # clear_figure rebuilds the whole figure: 10x slower
        plt.title(f"{objective_name} of finished jobs (launch order)")
        if objective:
            xs = [x for x, _ in objective]
            ys = [y for _, y in objective]
            best, running = [], None
            for y in ys:
                running = y if running is None or (y > running if objective_type == "Maximize" else y < running) else running
                best.append(running)
            plt.xticks(_whole_ticks(xs[0], xs[-1]))  # job numbers, not 2.2 or 3.5
            best_colour, point_colour = self._series_colours[2], self._series_colours[0]
            plt.plot(xs, best, marker="braille", color=best_colour)
            plt.scatter(xs, ys, marker="●", color=point_colour)
            legend = Text()
            legend.append("● ", style=_rich(point_colour))
            legend.append("objective   ")
            legend.append("━ ", style=_rich(best_colour))
            legend.append("best so far")
        else:
            legend = Text("no finished job yet", style="dim")
        self.query_one("#objective-legend", Static).update(legend)
        plot.refresh()
        plot = self.query_one("#curves-chart", PlotextPlot)
        plt = plot.plt
        plt.clear_data()  # clear_figure rebuilds the whole figure: 10x slower
        plt.title(f"{objective_name} per epoch: top {TOP_CURVES} + selected")
        legend = Text()
        drawn = [(name, curve) for name, curve in curves if curve]
        for index, (name, curve) in enumerate(drawn):
            colour = self._series_colours[index % len(self._series_colours)]
            xs = [epoch + 1 for epoch, _ in curve]
            ys = [value for _, value in curve]
            if len(xs) == 1:  # one epoch: a line needs two points, so show the point
                plt.scatter(xs, ys, marker="●", color=colour)
            else:
                plt.plot(xs, ys, marker="braille", color=colour)
            legend.append("━ ", style=_rich(colour))
            legend.append(self._short_name(name), style="bold" if name == selected else "")
            legend.append("* " if name == selected else "  ")
        if drawn:
            epochs = [epoch + 1 for _, curve in drawn for epoch, _ in curve]
            plt.xticks(_whole_ticks(min(epochs), max(epochs)))
            if selected in dict(drawn):
                legend.append("(* selected)", style="dim")
        else:
            legend = Text("no epoch reported yet", style="dim")
        self.query_one("#curves-legend", Static).update(legend)
        plot.refresh()

    @on(DataTable.RowHighlighted, "#jobs-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        # The row under the cursor now: the event may predate a re-sort.
        self._selected = self.selected_job()
        self._update_charts()

    @on(DataTable.RowSelected, "#jobs-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_detail()

    # --- actions --------------------------------------------------------------------

    def action_detail(self) -> None:
        name = self.selected_job()
        if name is None or self.snapshot is None:
            self.notify("No training job selected yet", severity="warning")
            return
        from hpo_tui.app.screens.detail import DetailScreen

        self.app.push_screen(DetailScreen(self.tuning_job, name, backend_name=self.backend_name,
                                          history=self.history, snapshot=self.snapshot))

    def action_stop(self) -> None:
        from hpo_tui.app.screens.dialogs import ConfirmDialog

        if self.snapshot is not None and self.snapshot.tuning_job.is_terminal:
            self.notify(f"{self.tuning_job} has already ended ({self.snapshot.tuning_job.status})", markup=False)
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._stop_worker()

        self.app.push_screen(
            ConfirmDialog(f"Stop {self.tuning_job}?",
                          "Running training jobs are stopped and no new ones start. "
                          "Finished jobs and their results are kept.",
                          confirm="Stop", variant="error"),
            confirmed,
        )

    @work(thread=True, exclusive=True, group="stop", exit_on_error=False)
    def _stop_worker(self) -> None:
        self.app.backend_for(self.backend_name).stop(self.tuning_job)

    def action_export(self) -> None:
        from hpo_tui.app.screens.dialogs import ExportDialog

        if self.snapshot is None:
            self.notify("Nothing to export yet: waiting for the first poll", severity="warning")
            return

        def chosen(result: tuple[str, Any] | None) -> None:
            if result is not None and self.snapshot is not None:
                self._export_worker(self.snapshot, *result)

        self.app.push_screen(ExportDialog(self.tuning_job), chosen)

    @work(thread=True, group="export", exit_on_error=False)
    def _export_worker(self, snapshot: Snapshot, format_name: str, path: Any) -> None:
        count = write_export(snapshot, format_name, path)
        self.post_message(ExportWritten(str(path), count))

    @on(ExportWritten)
    def _export_written(self, message: ExportWritten) -> None:
        self.notify(f"{message.count} training jobs written to {message.path}", title="Export", markup=False)

    def action_filter(self) -> None:
        from hpo_tui.app.screens.dialogs import FilterDialog

        def chosen(shown: frozenset[str] | None) -> None:
            if shown is None or shown == self.shown_statuses:
                return
            self.shown_statuses = shown
            if self.snapshot is not None:
                self.apply_snapshot(self.snapshot)

        self.app.push_screen(FilterDialog(self.shown_statuses), chosen)

    def action_sort(self) -> None:
        from hpo_tui.app.screens.dialogs import SortDialog

        if not self._column_keys:
            self.notify("Nothing to sort yet", severity="warning")
            return

        def chosen(result: tuple[str, bool] | None) -> None:
            if result is None:
                return
            self.sort_key, self.sort_reverse = result
            self._resort()
            self._update_status_bar()

        columns = [(key, self._column_labels[key]) for key in self._column_keys]
        self.app.push_screen(SortDialog(columns, self.sort_key, self.sort_reverse), chosen)

    def sort_by(self, key: str, reverse: bool = False) -> None:
        """Sort by a column key (as the sort dialog does)."""
        self.sort_key, self.sort_reverse = key, reverse
        self._resort()
        self._update_status_bar()

    def action_toggle_charts(self) -> None:
        charts = self.query_one("#charts")
        charts.display = not charts.display
        if charts.display:
            self._chart_signature = None
            self._update_charts()

    def action_refresh(self) -> None:
        if self._polling():
            return
        self._schedule_poll(0)

    def action_help(self) -> None:
        from hpo_tui.app.screens.dialogs import HelpScreen

        keys = [(b.key_display or b.key, b.description) for b in self.BINDINGS if b.description]
        keys = [("enter" if k == "enter" else "?" if k == "question_mark" else k, d) for k, d in keys]
        self.app.push_screen(HelpScreen(
            "Dashboard keys", keys + [("ctrl+p", "Command palette")],
            notes=f"{BEST_MARK} marks the best training job. The tuning job keeps running when you quit; "
                  f"reattach with: hpo-tui attach {self.tuning_job}",
        ))

    def action_back(self) -> None:
        # Back to the configure or jobs screen this dashboard was opened from, if any.
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()

    @property
    def watched_is_running(self) -> bool:
        """Running as far as we know: not ended, or not polled yet without an error."""
        if self.snapshot is None:
            return self.last_error is None
        return not self.snapshot.tuning_job.is_terminal


def _rich(rgb: tuple[int, int, int]) -> Style:
    return Style(color=f"rgb({rgb[0]},{rgb[1]},{rgb[2]})")


def _whole_ticks(low: int, high: int, most: int = 8) -> list[int]:
    """At most `most` evenly spread whole numbers from low to high (chart ticks for counts)."""
    if high <= low:
        return [low]
    step = max(1, -(-(high - low) // (most - 1)))
    return list(range(low, high + 1, step))
