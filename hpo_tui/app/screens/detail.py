"""One training job: hyperparameters, status, times, a curve per metric, and its live log."""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, RichLog, Static
from textual.worker import Worker, WorkerState
from textual_plotext import PlotextPlot

from hpo_tui.app import format as fmt
from hpo_tui.app.messages import DetailPolled
from hpo_tui.report import training_job_links
from hpo_tui.views import Snapshot, TrainingJobView

LOG_MAX_LINES = 5000
FINISHED_INTERVAL = 5.0
STATUS_COLOURS = {"InProgress": "accent", "Stopping": "warning", "Completed": "success",
                  "Stopped": "warning", "Failed": "error"}


class DetailScreen(Screen):
    """Detail of one training job, polled on its own while the dashboard is suspended."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="detail.back"),
        Binding("r", "refresh", "Refresh", id="detail.refresh"),
        Binding("q", "app.quit", "Quit", id="detail.quit"),
    ]
    PALETTE = [
        ("Back to the dashboard", "Close the job detail (escape)", "back"),
        ("Refresh now", "Poll the backend and the log now (r)", "refresh"),
    ]

    def __init__(self, tuning_job: str, job: str, *, backend_name: str | None = None,
                 history: fmt.MetricHistory | None = None, snapshot: Snapshot | None = None) -> None:
        super().__init__()
        self.tuning_job = tuning_job
        self.job = job
        self.backend_name = backend_name
        # Shared with the dashboard: points seen here need not be fetched twice.
        self.history = history if history is not None else fmt.MetricHistory()
        self.snapshot = snapshot
        self.cursor: Any = snapshot.cursor if snapshot is not None else None
        self.log_cursor: Any = None
        self.log_lines = 0
        self._timer = None
        self._plots: dict[str, PlotextPlot] = {}
        self._plotted: dict[str, tuple] = {}
        self._suspended = False
        self.last_error: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="detail-top"):
            yield Static(Text(self.job), id="detail-info")
            yield Horizontal(id="detail-charts")
        yield Static(Text(f"log of {self.job}"), id="detail-log-title")
        yield RichLog(id="detail-log", max_lines=LOG_MAX_LINES, markup=False, highlight=False, wrap=True)
        yield Footer()

    def on_mount(self) -> None:
        self._show()
        self._schedule(0)

    @property
    def job_view(self) -> TrainingJobView | None:
        if self.snapshot is None:
            return None
        return next((j for j in self.snapshot.training_jobs if j.name == self.job), None)

    # --- polling --------------------------------------------------------------------

    def _schedule(self, delay: float) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(max(delay, 0.01), self._start)

    def _start(self) -> None:
        self._timer = None
        if not self._suspended:
            self.poll_detail(self.cursor, self.log_cursor)

    @work(thread=True, exclusive=True, group="detail-poll", exit_on_error=False)
    def poll_detail(self, cursor: Any, log_cursor: Any) -> None:
        backend = self.app.backend_for(self.backend_name)
        snapshot = backend.poll(self.tuning_job, cursor)
        chunk = backend.log_tail(self.job, log_cursor)
        interval = self.app.interval or backend.default_interval
        job = next((j for j in snapshot.training_jobs if j.name == self.job), None)
        if job is not None and job.is_terminal and not chunk.lines:
            interval = max(interval, FINISHED_INTERVAL)  # nothing more will come
        self.post_message(DetailPolled(snapshot, chunk, interval))

    @on(DetailPolled)
    def _polled(self, message: DetailPolled) -> None:
        self.last_error = None
        if message.snapshot is not None:
            self.snapshot = message.snapshot
            self.cursor = message.snapshot.cursor
            self.history.add(message.snapshot.new_points)
        if message.log is not None:
            self.log_cursor = message.log.cursor
            log = self.query_one("#detail-log", RichLog)
            for line in message.log.lines:
                # Log text is the user's: never markup, never terminal escapes.
                log.write(Text(fmt.strip_escapes(line.rstrip("\n"))))
            self.log_lines += len(message.log.lines)
        self._show()
        self._schedule(message.interval)

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "detail-poll" and event.state == WorkerState.ERROR:
            self.last_error = fmt.shorten(str(event.worker.error), 120)
            self._show()
            self._schedule(max(self.app.interval or 0, 5.0))

    def on_screen_suspend(self) -> None:
        self._suspended = True

    def on_screen_resume(self) -> None:
        self._suspended = False
        if self._timer is None:
            self._schedule(0)

    # --- rendering ------------------------------------------------------------------

    def _colour(self, name: str) -> Style:
        return Style(color=self.app.theme_variables[name]) if name else Style()

    def _show(self) -> None:
        job = self.job_view
        info = Text()
        info.append(self.job, style="bold")
        info.append(f"   tuning job {self.tuning_job}\n")
        if job is None:
            info.append("waiting for the first poll…" if self.snapshot is None else "not found in this tuning job")
        else:
            view = self.snapshot.tuning_job
            now = self.app.clock()
            best = " ★ best job" if job.name == view.best_training_job else ""
            info.append("status ")
            info.append(job.status, style=self._colour(STATUS_COLOURS.get(job.status, "")))
            info.append(f"   objective {job.objective_status}")
            info.append(f"   {view.objective_name} {fmt.fmt_number(job.final_objective)}"
                        f" (best epoch {fmt.fmt_number(job.best_objective)})")
            info.append(best, style=self._colour("success"))
            info.append(f"\nepochs {fmt.fmt_epochs(job, view)}   duration {fmt.fmt_duration(fmt.job_duration(job, now))}")
            for label, ts in (("created", job.created_at), ("started", job.started_at), ("ended", job.ended_at)):
                if ts is not None:
                    info.append(f"   {label} {fmt.fmt_age(now - ts)}")
            info.append("\nhyperparameters ")
            info.append("  ".join(f"{k}={v}" for k, v in job.hyperparameters.items()) or fmt.DASH)
            if job.secondary_status:
                info.append(f"\nSageMaker: {job.secondary_status}")
            if job.billable_seconds is not None:
                info.append(f"\nbilled {fmt.fmt_duration(job.billable_seconds)}, "
                            f"{job.instance_hours or 0.0:.3f} instance-hours")
            if job.objective_from_log:
                info.append("   (objective from the log: SageMaker has not reported one)")
            if job.failure_reason:
                info.append("\nfailure reason ")
                info.append(fmt.strip_escapes(job.failure_reason)[:400], style=self._colour("error"))
            for label, url in training_job_links(view, job.name):
                info.append(f"\n{label} {url}")
        if self.last_error:
            info.append(f"\n⚠ poll failed: {self.last_error} (showing the last data)", style=self._colour("error"))
        self.query_one("#detail-info", Static).update(info)
        self._update_plots()

    def _update_plots(self) -> None:
        container = self.query_one("#detail-charts", Horizontal)
        for metric in self.history.metrics(self.job):
            curve = tuple(self.history.curve(self.job, metric))
            if self._plotted.get(metric) == curve:
                continue
            self._plotted[metric] = curve
            plot = self._plots.get(metric)
            if plot is None:
                plot = PlotextPlot(classes="metric-chart")
                self._plots[metric] = plot
                container.mount(plot)
            plt = plot.plt
            plt.clear_figure()
            plt.title(metric)
            plt.xlabel("epoch")
            xs = [epoch + 1 for epoch, _ in curve]
            plt.plot(xs, [v for _, v in curve], marker="braille")
            if len(xs) <= 12:
                plt.xticks(xs)
            plot.refresh()

    # --- actions --------------------------------------------------------------------

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_refresh(self) -> None:
        if not any(w.group == "detail-poll" and w.is_running for w in self.workers):
            self._schedule(0)
