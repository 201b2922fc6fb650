"""Keeping a dashboard's data fresh: a thread worker polls the backend (never overlapping,
re-armed after each poll, paused while another screen is on top, backing off after errors)
and another loads the curves of the rows in view; both post messages that the screen
applies on the main thread (DashboardScreen.apply_snapshot).
"""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.worker import Worker, WorkerState

from hpo_tui.app import format as fmt
from hpo_tui.app.typed import HpoScreen
from hpo_tui.app.messages import CurvesLoaded, SnapshotPolled
from hpo_tui.app.widgets.dashboard_charts import TOP_CURVES
from hpo_tui.app.widgets.training_jobs_table import TrainingJobsTable
from hpo_tui.backends.base import Backend, TuningJobNotFound, points_on_demand, poll_for_view
from hpo_tui.scales import job_scales
from hpo_tui.views import Snapshot

MAX_ERROR_BACKOFF = 60.0
# A finished tuning job cannot change any more (short of a resume), so poll it gently.
FINISHED_INTERVAL = 5.0
# Curves are loaded for the rows on screen plus this many above and below (and for the
# top jobs, the selected one and the running ones), at most CURVE_BATCH jobs per read
# (or the backend's curve_batch: SageMaker reads one log query per job).
VIEW_MARGIN = 20
CURVE_BATCH = 200


class PolledDashboard(HpoScreen):
    """The polling half of the dashboard: what it shows is the subclass's."""

    def __init__(self, tuning_job: str, backend_name: str | None) -> None:
        super().__init__()
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
        self._poll_timer: Any = None
        self._poll_due_on_resume = False
        # Curves are loaded per job, for what is shown (backends with points_on_demand):
        # a 10,000-job tuning job never reads its million points at attach.
        self._curves_loaded: set[str] = set()
        self._curves_wanted_timer: Any = None

    # What the subclass shows (DashboardScreen).

    @property
    def table(self) -> TrainingJobsTable:
        return self.query_one("#jobs-table", TrainingJobsTable)

    def apply_snapshot(self, snapshot: Snapshot) -> None:
        raise NotImplementedError

    def _update_status_bar(self) -> None:
        raise NotImplementedError

    def _update_charts(self) -> None:
        raise NotImplementedError

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

    def _interval_after(self, backend: Backend, snapshot: Snapshot) -> float:
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
    def _poll_worker_changed(self, event: Worker.StateChanged) -> None:
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

    def action_refresh(self) -> None:
        if self._polling():
            return
        self._schedule_poll(0)

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

    @staticmethod
    def _top_names(snapshot: Snapshot) -> list[str]:
        """The TOP_CURVES best jobs by objective (ranked once per snapshot)."""
        return list(snapshot.leaders[:TOP_CURVES])

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
                self.table.show(self.snapshot, self.history, changed, self.app.clock())
                self._update_charts()
        self.call_later(self._want_curves)  # the view may have moved meanwhile
