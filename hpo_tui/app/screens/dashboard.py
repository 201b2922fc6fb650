"""The dashboard of one tuning job: header, live training-job table, charts, status bar.

A thread worker polls the backend (never overlapping, re-armed after each poll) and
posts a SnapshotPolled message; the screen hands it to its widgets on the main thread:
the header (widgets/tuning_header.py), the table (widgets/training_jobs_table.py) and
the charts (widgets/dashboard_charts.py).
"""

from __future__ import annotations

import io
import time
from typing import Any, Callable

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static
from textual.worker import Worker, WorkerState

from hpo_tui.app import format as fmt
from hpo_tui.app import settings
from hpo_tui.app.messages import CurvesLoaded, ExportWritten, SnapshotPolled
from hpo_tui.app.styles import theme_styles
from hpo_tui.app.widgets.dashboard_charts import (
    COMPACT_HEIGHT,
    MIN_ROWS_FOR_CHARTS,
    TOP_CURVES,
    DashboardCharts,
    chart_height,
)
from hpo_tui.app.widgets.footer import KeyFooter
from hpo_tui.app.widgets.one_line import set_line
from hpo_tui.app.widgets.tables import FilterInput
from hpo_tui.app.widgets.training_jobs_table import (  # noqa: F401  (the column keys are the table's API)
    BEST_MARK,
    COL_BEST,
    COL_CURVE,
    COL_DURATION,
    COL_EPOCH,
    COL_JOB,
    COL_OBJECTIVE,
    COL_REASON,
    COL_STATUS,
    TrainingJobsTable,
)
from hpo_tui.app.widgets.tuning_header import TuningJobHeader
from hpo_tui.backends.base import TuningJobNotFound, points_on_demand, poll_for_view
from hpo_tui.report import cost_text, render_export, write_export
from hpo_tui.scales import job_scales
from hpo_tui.views import TRAINING_STATUSES, Snapshot

MAX_ERROR_BACKOFF = 60.0
# A finished tuning job cannot change any more (short of a resume), so poll it gently.
FINISHED_INTERVAL = 5.0
# Curves are loaded for the rows on screen plus this many above and below (and for the
# top jobs, the selected one and the running ones), at most CURVE_BATCH jobs per read
# (or the backend's curve_batch: SageMaker reads one log query per job).
VIEW_MARGIN = 20
CURVE_BATCH = 200


class DashboardScreen(Screen):
    """Watch one tuning job live."""

    BINDINGS = [
        # priority: the table's own enter (select, hidden) would hide this one from the footer.
        Binding("enter", "detail", "Detail", id="dashboard.detail", priority=True,
                tooltip="Job detail: open the selected training job"),
        Binding("s", "stop", "Stop", id="dashboard.stop",
                tooltip="Stop tuning job: stop the tuning job and its running training jobs"),
        Binding("e", "export", "Export", id="dashboard.export",
                tooltip="Export CSV/JSON: write one row per training job to a file"),
        Binding("slash", "text_filter", "Filter", id="dashboard.text_filter", key_display="/",
                tooltip="Filter by text: show only jobs whose name, status or hyperparameters match"),
        Binding("f", "filter", "Status", id="dashboard.filter",
                tooltip="Filter by status: show only some training job statuses"),
        Binding("o", "sort", "Sort", id="dashboard.sort",
                tooltip="Sort the training jobs by a column"),
        Binding("p", "pause_sort", "Freeze", id="dashboard.pause_sort",
                tooltip="Freeze or resume the order: stop live re-sorting so rows stay put, or resume it"),
        Binding("c", "toggle_charts", "Charts", id="dashboard.charts",
                tooltip="Toggle charts: show or hide the charts"),
        Binding("z", "zoom", "Zoom", id="dashboard.zoom", show=False,
                tooltip="Zoom to the top jobs: scale the sparklines and charts to the best jobs, or back"),
        Binding("v", "search_views", "Search views", id="dashboard.search_views", show=False,
                tooltip="Slice, importance, parallel coordinates, objective over time"),
        Binding("space", "mark", "Mark", id="dashboard.mark", show=False,
                tooltip="Mark for compare: mark or unmark the selected training job"),
        Binding("m", "compare", "Compare marked", id="dashboard.compare", show=False,
                tooltip="Compare marked training jobs: curves of every metric overlaid, hyperparameters diffed"),
        Binding("r", "refresh", "Refresh", id="dashboard.refresh",
                tooltip="Refresh now: poll the backend now"),
        # Listed by ? and the palette; the footer keeps room for the keys used most.
        Binding("n", "clone", "New from this", id="dashboard.clone", show=False,
                tooltip="New tuning job from this one: configure a new tuning job with this one's spec"),
        Binding("R", "resume", "Resume", id="dashboard.resume", show=False,
                tooltip="Resume tuning job: restart a local tuning job whose runner died; asks first"),
        Binding("y", "copy_best", "Copy best", id="dashboard.copy_best", show=False,
                tooltip="Copy best hyperparameters: copy the best training job's hyperparameters as CLI arguments"),
        Binding("Y", "copy_best(True)", "Copy best as TOML", id="dashboard.copy_best_toml", show=False,
                tooltip="Copy best hyperparameters as TOML: copy them as a spec's [estimator.hyperparameters]"),
        Binding("question_mark", "help", "Help", id="dashboard.help",
                tooltip="List the keys"),
        Binding("escape", "back", "Back", id="dashboard.back", show=False),
        Binding("q", "app.quit", "Quit", id="dashboard.quit"),
    ]

    def __init__(self, tuning_job: str, *, backend_name: str | None = None,
                 first_poll: Snapshot | None = None) -> None:
        """first_poll: a rows-only poll of this tuning job made just before (by `hpo-tui
        attach`): shown in the first frame, and the next poll goes on from its cursor."""
        super().__init__()
        self._first_poll = first_poll
        self.tuning_job = tuning_job
        self.backend_name = backend_name
        self.snapshot: Snapshot | None = None
        self.history = fmt.MetricHistory()
        self.cursor: Any = None
        self.interval: float | None = None
        self.last_error: str | None = None
        self.error_count = 0
        self._selected: str | None = None
        self._suspended = False
        self._poll_timer = None
        self._poll_due_on_resume = False
        self._styles: dict = {}
        # Curves are loaded per job, for what is shown (backends with points_on_demand):
        # a 10,000-job tuning job never reads its million points at attach.
        self._curves_loaded: set[str] = set()
        self._curves_wanted_timer = None
        remembered = settings.load(lambda _message: None)  # the app said so at start if unreadable
        self.charts_wanted = remembered.charts
        self._remembered_sort = (remembered.sort_key, remembered.sort_reverse)

    # --- layout --------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield TuningJobHeader(self.tuning_job, id="dash-header")
        yield Static("", id="filter-bar")
        yield TrainingJobsTable(self.tuning_job, id="jobs-table")
        yield Static("", id="no-match")
        yield DashboardCharts(id="charts")
        yield FilterInput(placeholder="filter: name, status or hyperparameter value (enter keeps, esc clears)",
                          id="text-filter")
        yield Static("connecting…", id="status-bar")
        yield KeyFooter()

    @property
    def table(self) -> TrainingJobsTable:
        return self.query_one("#jobs-table", TrainingJobsTable)

    def on_mount(self) -> None:
        self._set_styles()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._restyle())
        key, reverse = self._remembered_sort
        self.table.sort_key, self.table.sort_reverse = key, reverse
        self.query_one("#filter-bar").display = False
        self.query_one("#no-match").display = False
        self._fit_charts(self.app.size.height)
        self.table.focus()
        self.set_interval(1.0, self._tick_clock)
        self.watch(self.table, "scroll_y", self._viewport_moved, init=False)
        first, self._first_poll = self._first_poll, None
        if first is None:
            self._schedule_poll(0)
            return
        # The rows are in the first frame: applied here, since a posted message would be
        # handled after it. The curves of the rows on screen are asked for once the table
        # has its size.
        backend = self.app.backend_for(self.backend_name)  # adopted with the poll: built already
        self._snapshot_polled(SnapshotPolled(first.prepare(), self._interval_after(backend, first)))
        self.call_after_refresh(self._want_curves)

    def on_resize(self, event: events.Resize) -> None:
        self._fit_charts(event.size.height)

    def _fit_charts(self, rows: int) -> None:
        """Charts grow with the terminal and hide below a height, so the table keeps its rows."""
        charts = self.query_one("#charts", DashboardCharts)
        height = chart_height(rows)
        show = self.charts_wanted and height > 0
        if show:
            charts.styles.height = height
            if charts.compact != (height == COMPACT_HEIGHT):
                charts.set_compact(height == COMPACT_HEIGHT)
                self._update_charts()
        if show != charts.display:
            charts.display = show
            if show:
                charts.invalidate()
                self._update_charts()
        self._update_status_bar()

    def _set_styles(self) -> None:
        self._styles = theme_styles(self.app.theme_variables)
        self.table.cell_styles = self._styles
        self.query_one("#charts", DashboardCharts).invalidate()

    def _restyle(self) -> None:
        """A new theme: recolour every row (a user action, so rewriting all cells is fine)."""
        self._set_styles()
        self.table.rebuild()
        if self.snapshot is not None:
            self._update_header(self.clock())

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
        # Rows first: the curves shown are loaded next (load_curves), the rest never.
        # Derived values (the ETA, the chart's series, the leaders) are computed here, in
        # the poll's thread: the UI thread only reads them.
        snapshot = poll_for_view(backend, self.tuning_job, cursor).prepare(self.snapshot)
        job_scales(snapshot)  # kept on the snapshot: the table and charts read it
        self.post_message(SnapshotPolled(snapshot, self._interval_after(backend, snapshot)))

    def _interval_after(self, backend: Any, snapshot: Snapshot) -> float:
        """Seconds to the next poll: the app's or the backend's interval, slower when the
        backend asks for it or when nothing runs any more."""
        interval = self.app.interval or backend.default_interval
        if snapshot.suggested_interval:
            interval = max(interval, snapshot.suggested_interval)
        if snapshot.tuning_job.is_terminal and not snapshot.running:
            interval = max(interval, FINISHED_INTERVAL)
        return interval

    @on(SnapshotPolled)
    def _snapshot_polled(self, message: SnapshotPolled) -> None:
        self.last_error = None
        self.error_count = 0
        self.interval = message.interval
        self.app.watched.seen(self.tuning_job, message.snapshot.tuning_job.status)
        self.apply_snapshot(message.snapshot)
        self._schedule_poll(message.interval)

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "poll" and event.state == WorkerState.ERROR and isinstance(worker.error, TuningJobNotFound):
            self.app.tuning_job_missing(self, self.tuning_job, str(worker.error))
        elif worker.group == "poll" and event.state == WorkerState.ERROR:
            # The one place poll errors land: say so, keep the last good data, back off.
            self.error_count += 1
            self.last_error = fmt.shorten(str(worker.error) or type(worker.error).__name__, 160)
            base = self.interval or self.app.interval or 1.0
            self._update_status_bar()
            self._schedule_poll(min(base * 2 ** (self.error_count - 1), MAX_ERROR_BACKOFF))
        elif worker.group == "curves" and event.state in (WorkerState.ERROR, WorkerState.SUCCESS):
            if event.state == WorkerState.ERROR:  # a busy store: the next poll asks again
                self.last_error = fmt.shorten(f"loading curves: {worker.error}", 160)
                self._update_status_bar()
            else:
                self._want_curves()  # more may be wanted (the view moved while it read)
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
        """Hand a snapshot to the header, the table (diffed) and the charts."""
        previous = self.snapshot
        self.snapshot = snapshot
        self.cursor = snapshot.cursor
        history_changed = self.history.add(snapshot.new_points)
        table = self.table
        now = self.clock()
        # An incremental poll with no changed row returns the very same rows: nothing in the
        # table or the charts can differ (a finished 10,000-job dashboard then idles).
        rows_same = (previous is not None and previous.training_jobs is snapshot.training_jobs
                     and previous.tuning_job.best_training_job == snapshot.tuning_job.best_training_job)
        with self.app.batch_update():
            if not (rows_same and not history_changed):
                table.show(snapshot, self.history, history_changed, now)
                self._selected = table.selected_job()
                self._update_filter_bar()
                self._update_charts()
            self._update_header(now)
            self._update_status_bar()
        self._want_curves()

    # --- curves, loaded for what is shown ---------------------------------------------

    def _viewport_moved(self) -> None:
        if self._curves_wanted_timer is not None:
            self._curves_wanted_timer.stop()
        self._curves_wanted_timer = self.set_timer(0.15, self._want_curves)  # after the scroll settles

    def curves_wanted(self) -> list[str]:
        """Jobs whose curves are shown and not loaded yet: the rows on screen (and a margin),
        the top jobs and the selected one in the chart, and the running ones."""
        snapshot = self.snapshot
        if snapshot is None:
            return []
        table = self.table
        top = int(table.scroll_offset.y)
        wanted = table.rows_between(max(0, top - VIEW_MARGIN), top + table.size.height + VIEW_MARGIN)
        wanted += self._top_names(snapshot)
        if self._selected:
            wanted.append(self._selected)
        wanted += [j.name for j in snapshot.running]
        out: list[str] = []
        for name in wanted:
            if name not in self._curves_loaded and name not in out:
                out.append(name)
        backend = self.app.backend_for(self.backend_name)
        return out[:getattr(backend, "curve_batch", CURVE_BATCH)]

    def _want_curves(self) -> None:
        self._curves_wanted_timer = None
        if self.snapshot is None or any(w.group == "curves" and w.is_running for w in self.workers):
            return
        backend = self.app.backend_for(self.backend_name)
        if not points_on_demand(backend):
            return  # every point came with the polls
        names = self.curves_wanted()
        if names:
            self.load_curves(tuple(names), self.snapshot.tuning_job.objective_name)

    @work(thread=True, group="curves", exit_on_error=False)
    def load_curves(self, names: tuple[str, ...], metric: str) -> None:
        backend = self.app.backend_for(self.backend_name)
        self.post_message(CurvesLoaded(names, backend.curves(self.tuning_job, list(names), metric)))

    @on(CurvesLoaded)
    def _curves_loaded_message(self, message: CurvesLoaded) -> None:
        self._curves_loaded.update(message.jobs)
        changed = self.history.add(message.points)
        if changed and self.snapshot is not None:
            with self.app.batch_update():
                self.table.show(self.snapshot, self.history, changed, self.clock())
                self._update_charts()
        self.call_later(self._want_curves)  # the view may have moved meanwhile

    def selected_job(self) -> str | None:
        return self.table.selected_job()

    # --- header, filter, status bar, charts -----------------------------------------

    def _update_header(self, now: float) -> None:
        if self.snapshot is None:
            return
        snapshot = self.snapshot
        estimate = snapshot.estimate  # computed once per snapshot, not per clock tick
        self.query_one(TuningJobHeader).show(snapshot.tuning_job, estimate, now, self._styles,
                                             fetched_at=snapshot.fetched_at, cost=cost_text(snapshot))

    def _update_filter_bar(self) -> None:
        """What the table hides and why, on a line of its own (never cut by the best job)."""
        table = self.table
        bar = self.query_one("#filter-bar", Static)
        no_match = self.query_one("#no-match", Static)
        if not table.filtering or self.snapshot is None:
            bar.display = no_match.display = False
            table.display = True
            return
        parts = []
        if table.text_filter:
            parts.append(f"/{table.text_filter}")
        if len(table.shown_statuses) < len(TRAINING_STATUSES):
            parts.append("status " + ", ".join(s for s in TRAINING_STATUSES if s in table.shown_statuses))
        shown, total = table.row_count, len(self.snapshot.training_jobs)
        text = Text("filter: ", style=self._styles.get("warning", ""))
        text.append(" · ".join(parts))
        text.append(f"   {shown} of {total} jobs shown   (/ edits, f statuses)", style="dim")
        bar.update(text)
        bar.display = True
        empty = shown == 0
        table.display = not empty
        no_match.display = empty
        if empty:
            no_match.update(Text(f"No training jobs match {' · '.join(parts)}.\n"
                                 "Press / to change the text filter, f to change the statuses.", justify="center"))

    def _update_status_bar(self) -> None:
        if not self.is_mounted:
            return
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
            text.append(f" (every {self.interval:g}s)")
        text.append(f" · {self.table.sort_summary()}")
        if self.table.zoomed:
            text.append(" · zoomed to the top jobs (z)")
        if self.charts_wanted and not self.query_one("#charts").display:
            text.append(f" · charts hidden under {MIN_ROWS_FOR_CHARTS} rows")
        if snapshot is not None and snapshot.throttle_count:
            text.append(f" · throttled {snapshot.throttle_count}×", style=self._styles.get("warning", ""))
        if snapshot is not None and snapshot.warning:
            text.append(f" · ⚠ {fmt.shorten(snapshot.warning, 60)}", style=self._styles.get("warning", ""))
        if self.last_error:
            text.append(f" · ⚠ poll failed ({self.error_count}×): {self.last_error}",
                        style=self._styles.get("error", ""))
            if snapshot is not None:
                text.append(" · showing stale data", style=self._styles.get("error", ""))
        bar.set_class(bool(self.last_error), "stale")
        set_line(bar, text)  # one line, fixed height: no layout pass each second

    def _tick_clock(self) -> None:
        if self._suspended:
            return
        self._update_status_bar()
        if self.snapshot is None:
            return
        view = self.snapshot.tuning_job
        if view.is_terminal and not self.snapshot.running:
            return  # nothing moves any more: no durations to tick
        now = self.clock()
        self._update_header(now)
        with self.app.batch_update():
            self.table.tick(self.snapshot, now)

    def _chart_data(self) -> tuple:
        snapshot = self.snapshot
        if snapshot is None:
            return ()
        view = snapshot.tuning_job
        objective = snapshot.finished_objectives
        names = self._top_names(snapshot)
        if self._selected and self._selected not in names:
            names.append(self._selected)
        curves = tuple((name, tuple(self.history.curve(name, view.objective_name))) for name in names)
        return (view.objective_name, view.objective_type, objective, curves, self._selected,
                self.table.job_scales(snapshot), self.table.zoomed)

    @staticmethod
    def _top_names(snapshot: Snapshot) -> list[str]:
        """The TOP_CURVES best jobs by objective (ranked once per snapshot)."""
        return list(snapshot.leaders[:TOP_CURVES])

    def _update_charts(self) -> None:
        self.query_one("#charts", DashboardCharts).show(self._chart_data(), self.table.short_name)

    @on(DataTable.RowHighlighted, "#jobs-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        # The row under the cursor now: the event may predate a re-sort.
        self._selected = self.selected_job()
        self._update_charts()
        self._want_curves()

    @on(DataTable.RowSelected, "#jobs-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_detail()

    @on(DataTable.HeaderSelected, "#jobs-table")
    def _header_selected(self, event: DataTable.HeaderSelected) -> None:
        """A click on a header sorts by that column; a second click reverses it."""
        key = event.column_key.value
        table = self.table
        self.sort_by(key, reverse=not table.sort_reverse if key == table.sort_key else False)

    # --- actions --------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # enter is a priority binding (so the footer shows it over the table's own enter);
        # while a text input has focus, enter belongs to the input (submit the filter).
        if action == "detail" and isinstance(self.app.focused, Input):
            return False
        return True

    def action_detail(self) -> None:
        name = self.selected_job()
        if name is None or self.snapshot is None:
            self.notify("No training job selected yet", severity="warning")
            return
        from hpo_tui.app.screens.detail import DetailScreen

        self.app.push_screen(DetailScreen(self.tuning_job, name, backend_name=self.backend_name,
                                          history=self.history, snapshot=self.snapshot))

    def action_mark(self) -> None:
        from hpo_tui.app.screens.compare import mark_for_compare

        mark_for_compare(self, self.table, self.selected_job(), "training job")

    def action_compare(self) -> None:
        from hpo_tui.app.screens.compare import CompareScreen, can_compare

        if can_compare(self, self.table.marked, "training jobs"):
            self.app.push_screen(CompareScreen(list(self.table.marked), tuning_job=self.tuning_job,
                                               backend_name=self.backend_name))

    def action_search_views(self) -> None:
        if self.snapshot is None:
            self.notify("Nothing to show yet: waiting for the first poll", severity="warning")
            return
        from hpo_tui.app.screens.search_views import SearchViewsScreen

        self.app.push_screen(SearchViewsScreen(self.snapshot, backend_name=self.backend_name, cursor=self.cursor,
                                               interval=self.interval))

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
            if result is None or self.snapshot is None:
                return
            if self.app.is_web:
                self._deliver_export(self.snapshot, *result)
            else:
                self._export_worker(self.snapshot, *result)

        self.app.push_screen(ExportDialog(self.tuning_job, download=self.app.is_web), chosen)

    def _deliver_export(self, snapshot: Snapshot, format_name: str, path: Any) -> None:
        """Served in a browser: the browser downloads the file (nothing is written here)."""
        text = render_export(snapshot, format_name)
        mime_type = "application/json" if format_name == "json" else "text/csv"
        self.app.deliver_text(io.StringIO(text), save_filename=path.name, mime_type=mime_type, encoding="utf-8")
        self.notify(f"{len(snapshot.training_jobs)} training jobs sent to your browser as {path.name}",
                    title="Export", markup=False)

    @work(thread=True, group="export", exit_on_error=False)
    def _export_worker(self, snapshot: Snapshot, format_name: str, path: Any) -> None:
        count = write_export(snapshot, format_name, path)
        self.post_message(ExportWritten(str(path), count))

    @on(ExportWritten)
    def _export_written(self, message: ExportWritten) -> None:
        self.notify(f"{message.count} training jobs written to {message.path}", title="Export", markup=False)

    def action_text_filter(self) -> None:
        """`/`: type to filter the rows live across name, status and hyperparameter values."""
        self.query_one("#text-filter", FilterInput).open()

    @on(Input.Changed, "#text-filter")
    def _text_filter_changed(self, event: Input.Changed) -> None:
        self.table.text_filter = event.value.strip()
        self._refilter()

    @on(Input.Submitted, "#text-filter")
    def _text_filter_submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            self.close_text_filter()
        else:
            self.table.focus()

    def close_text_filter(self) -> None:
        self.query_one("#text-filter", FilterInput).close()
        if self.table.text_filter:
            self.table.text_filter = ""
            self._refilter()
        self.table.display = True
        self.table.focus()

    def _refilter(self) -> None:
        if self.snapshot is not None:
            self.table.rebuild()
            self._selected = self.selected_job()
            self._update_filter_bar()
            self._update_charts()

    def action_filter(self) -> None:
        from hpo_tui.app.screens.dialogs import FilterDialog

        def chosen(shown: frozenset[str] | None) -> None:
            if shown is None or shown == self.table.shown_statuses:
                return
            self.table.shown_statuses = shown
            self._refilter()

        self.app.push_screen(FilterDialog(self.table.shown_statuses), chosen)

    @property
    def shown_statuses(self) -> frozenset[str]:
        return self.table.shown_statuses

    def action_sort(self) -> None:
        from hpo_tui.app.screens.dialogs import SortDialog

        table = self.table
        if not table.has_columns:
            self.notify("Nothing to sort yet", severity="warning")
            return

        def chosen(result: tuple[str, bool] | None) -> None:
            if result is not None:
                self.sort_by(*result)

        columns = [(key, table.column_labels[key]) for key in table.column_keys]
        self.app.push_screen(SortDialog(columns, table.sort_key, table.sort_reverse), chosen)

    def sort_by(self, key: str, reverse: bool = False) -> None:
        """Sort by a column key (as the sort dialog and a header click do), and remember it."""
        self.table.sort_by(key, reverse)
        self._selected = self.selected_job()
        settings.update(self.notify, sort_key=key, sort_reverse=reverse)
        self._update_status_bar()

    def action_pause_sort(self) -> None:
        """Freeze the row order during a live run (rows stop moving under the cursor), or resume."""
        table = self.table
        table.sort_paused = not table.sort_paused
        if not table.sort_paused:
            table.resort()
        self.notify("Row order frozen: p resumes live sorting" if table.sort_paused else "Live sorting resumed",
                    title="Sort")
        self._update_status_bar()

    def action_toggle_charts(self) -> None:
        self.charts_wanted = not self.charts_wanted
        settings.update(self.notify, charts=self.charts_wanted)
        if self.charts_wanted and chart_height(self.app.size.height) == 0:
            self.notify(f"The terminal is too short for charts: they show from {MIN_ROWS_FOR_CHARTS} rows up",
                        severity="warning")
        self._fit_charts(self.app.size.height)

    def action_zoom(self) -> None:
        """Scale the sparklines and the charts to the top jobs (the rest marked off the scale), or back."""
        self.table.toggle_zoom()
        self._update_charts()
        self._update_status_bar()

    def action_refresh(self) -> None:
        if self._polling():
            return
        self._schedule_poll(0)

    def action_help(self) -> None:
        from hpo_tui.app.screens.dialogs import HelpScreen, screen_keys

        self.app.push_screen(HelpScreen(
            "Dashboard keys",
            screen_keys(self.app, self)
            + [("click a header", "Sort by it"), ("ctrl+p", "Command palette")],
            notes=f"{BEST_MARK} marks the best training job. The tuning job keeps running when you quit; "
                  f"reattach with: hpo-tui attach {self.tuning_job}",
        ))

    def action_back(self) -> None:
        # Escape peels one layer at a time (k9s): the text filter, then the status filter,
        # and only then leaves the dashboard.
        if self.table.text_filter or self.query_one("#text-filter", FilterInput).display:
            self.close_text_filter()
            return
        if self.table.shown_statuses != frozenset(TRAINING_STATUSES):
            self.table.shown_statuses = frozenset(TRAINING_STATUSES)
            self._refilter()
            self.notify("Status filter cleared: every training job is shown", title="Filter")
            return
        # Back to the screen this dashboard was opened from, else to the jobs list. The app
        # remembers the tuning job: ctrl+g (or the palette) comes back to this dashboard.
        job = self.app.watched.get(self.tuning_job)
        if job is not None and job.maybe_running:
            self.notify(f"{self.tuning_job} keeps running: ctrl+g comes back to its dashboard.", markup=False)
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        else:
            self.app.action_tuning_jobs()

    def action_resume(self) -> None:
        from hpo_tui.app.screens.resume_flow import ask_to_resume

        ask_to_resume(self)

    def action_clone(self) -> None:
        # A Stopped tuning job stays stopped (resume refuses it): its way on is a warm start.
        stopped = self.snapshot is not None and self.snapshot.tuning_job.status == "Stopped"
        self.app.clone_tuning_job(self.tuning_job, self.backend_name, warm_start=stopped)

    def action_copy_best(self, as_toml: bool = False) -> None:
        self.app.copy_best_hyperparameters(self.tuning_job, self.backend_name, as_toml=as_toml,
                                           snapshot=self.snapshot)
