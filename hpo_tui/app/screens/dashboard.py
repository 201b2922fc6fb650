"""The dashboard of one tuning job: header, live training-job table, charts, status bar.

Polling lives in dashboard_poll.py (PolledDashboard); this screen hands each snapshot to
its widgets on the main thread: the header (widgets/tuning_header.py), the table
(widgets/training_jobs_table.py) and the charts (widgets/dashboard_charts.py), and answers
the keys. The table's filter, statuses, sort and pause are reactive: the screen watches
them to keep its bars in step.
"""

from __future__ import annotations

from typing import Callable

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Input, Static
from textual.worker import Worker

from hpo_tui.app import settings
from hpo_tui.app.job_rows import COL_CURVE, COL_DURATION, COL_EPOCH, COL_OBJECTIVE  # noqa: F401  (tests read them here)
from hpo_tui.app.messages import ExportWritten, SnapshotPolled
from hpo_tui.app.screens import stop_export
from hpo_tui.app.screens.dashboard_poll import PolledDashboard
from hpo_tui.app.styles import theme_styles
from hpo_tui.app.widgets.dashboard_bars import filter_text, no_match_text, status_text
from hpo_tui.app.widgets.dashboard_charts import COMPACT_HEIGHT, MIN_ROWS_FOR_CHARTS, DashboardCharts, chart_height
from hpo_tui.app.widgets.footer import KeyFooter
from hpo_tui.app.widgets.one_line import set_line
from hpo_tui.app.widgets.tables import FilterInput
from hpo_tui.app.widgets.training_jobs_table import ALL_STATUSES, BEST_MARK, TrainingJobsTable
from hpo_tui.app.widgets.tuning_header import TuningJobHeader
from hpo_tui.report import cost_text
from hpo_tui.views import Snapshot


class DashboardScreen(PolledDashboard):
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
        super().__init__(tuning_job, backend_name)
        self._first_poll = first_poll
        self._styles: dict = {}
        remembered = settings.load(lambda _message: None)  # the app said so at start if unreadable
        self.charts_wanted = remembered.charts
        self._remembered_sort = (remembered.sort_key, remembered.sort_reverse)

    # --- layout --------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield TuningJobHeader(self.tuning_job, id="dash-header")
        yield Static("", id="filter-bar")
        yield TrainingJobsTable(self.tuning_job, clock=self.app.clock, id="jobs-table")
        yield Static("", id="no-match")
        yield DashboardCharts(id="charts")
        yield FilterInput(placeholder="filter: name, status or hyperparameter value (enter keeps, esc clears)",
                          id="text-filter")
        yield Static("connecting…", id="status-bar")
        yield KeyFooter()

    def on_mount(self) -> None:
        self._set_styles()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._restyle())
        table = self.table
        table.sorting = self._remembered_sort
        # The table's state, set by keys, dialogs or a header click: the bars follow it.
        self.watch(table, "text_filter", self._filter_changed, init=False)
        self.watch(table, "shown_statuses", self._filter_changed, init=False)
        self.watch(table, "sorting", self._sort_changed, init=False)
        self.watch(table, "sort_paused", self._update_status_bar, init=False)
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
        return self.app.clock

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
        words = table.rows_model.filter_words()
        bar.update(filter_text(words, table.row_count, len(self.snapshot.training_jobs), self._styles))
        bar.display = True
        empty = table.row_count == 0
        table.display = not empty
        no_match.display = empty
        if empty:
            no_match.update(no_match_text(words))

    def _update_status_bar(self) -> None:
        if not self.is_mounted:
            return
        bar = self.query_one("#status-bar", Static)
        charts_hidden = self.charts_wanted and not self.query_one("#charts").display
        text = status_text(self.snapshot, self.clock(), interval=self.interval, sort_summary=self.table.sort_summary(),
                           zoomed=self.table.zoomed, charts_hidden=charts_hidden, last_error=self.last_error,
                           error_count=self.error_count, styles=self._styles)
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
        stop_export.ask_to_stop(self)

    def action_export(self) -> None:
        stop_export.ask_to_export(self)

    @on(Worker.StateChanged)
    def _stop_or_export_changed(self, event: Worker.StateChanged) -> None:
        stop_export.worker_changed(self, event)

    @on(ExportWritten)
    def _export_written(self, message: ExportWritten) -> None:
        self.notify(f"{message.count} training jobs written to {message.path}", title="Export", markup=False)

    def action_text_filter(self) -> None:
        """`/`: type to filter the rows live across name, status and hyperparameter values."""
        self.query_one("#text-filter", FilterInput).open()

    @on(Input.Changed, "#text-filter")
    def _text_filter_changed(self, event: Input.Changed) -> None:
        self.table.text_filter = event.value.strip()

    @on(Input.Submitted, "#text-filter")
    def _text_filter_submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            self.close_text_filter()
        else:
            self.table.focus()

    def on_filter_input_cleared(self, _: FilterInput.Cleared) -> None:
        self.close_text_filter()

    def close_text_filter(self) -> None:
        self.query_one("#text-filter", FilterInput).close()
        self.table.text_filter = ""
        self.table.display = True
        self.table.focus()

    def _filter_changed(self) -> None:
        """The table shows other rows (it rebuilt them): the bar, the charts and the selection follow."""
        if self.snapshot is not None:
            self._selected = self.selected_job()
            self._update_filter_bar()
            self._update_charts()

    def action_filter(self) -> None:
        from hpo_tui.app.screens.dialogs import FilterDialog

        def chosen(shown: frozenset[str] | None) -> None:
            if shown is not None:
                self.table.shown_statuses = shown

        self.app.push_screen(FilterDialog(self.table.shown_statuses), chosen)

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
        """Sort by a column key (as the sort dialog and a header click do)."""
        self.table.sort_by(key, reverse)

    def _sort_changed(self, order: tuple[str, bool]) -> None:
        """The table sorted again: the cursor's job is the selected one, and the sort is remembered."""
        key, reverse = order
        self._selected = self.selected_job()
        settings.update(self.notify, sort_key=key, sort_reverse=reverse)
        self._update_status_bar()

    def action_pause_sort(self) -> None:
        """Freeze the row order during a live run (rows stop moving under the cursor), or resume."""
        table = self.table
        table.sort_paused = not table.sort_paused  # resumed, it sorts at once
        self.notify("Row order frozen: p resumes live sorting" if table.sort_paused else "Live sorting resumed",
                    title="Sort")

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
        if self.table.shown_statuses != ALL_STATUSES:
            self.table.shown_statuses = ALL_STATUSES
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
