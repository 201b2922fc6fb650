"""One training job: hyperparameters, status, times, a curve per metric, and its live log.

The log is a plain-text Log (written in bulk, escapes stripped) that follows new lines
unless you scroll or search; `/` searches it, n/N step through the matches, and `v`
opens it in $PAGER with the app suspended.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import replace
from typing import Any

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Log, Static
from textual.worker import Worker, WorkerState
from textual_plotext import PlotextPlot

from hpo_tui.app import format as fmt
from hpo_tui.app.messages import DetailPolled
from hpo_tui.app.widgets.dashboard_charts import whole_ticks
from hpo_tui.app.widgets.footer import KeyFooter
from hpo_tui.app.widgets.tables import FilterInput
from hpo_tui.app.typed import HpoScreen
from hpo_tui.app.widgets.wrapped_log import WrappedLog
from hpo_tui.backends.base import points_on_demand, poll_for_view
from hpo_tui.report import training_job_links
from hpo_tui.scales import job_scales
from hpo_tui.views import Snapshot, TrainingJobView

LOG_MAX_LINES = 5000
FINISHED_INTERVAL = 5.0
STATUS_COLOURS = {"InProgress": "accent", "Stopping": "warning", "Completed": "success",
                  "Stopped": "warning", "Failed": "error"}


class DetailScreen(HpoScreen[None]):
    """Detail of one training job, polled on its own while the dashboard is suspended."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="detail.back",
                tooltip="Back to the dashboard: close the job detail"),
        Binding("r", "refresh", "Refresh", id="detail.refresh",
                tooltip="Refresh now: poll the backend and the log now"),
        Binding("slash", "search", "Search log", id="detail.search", key_display="/",
                tooltip="Search the log: find text in the log; n and N step through the matches"),
        Binding("n", "next_match", "Next", id="detail.next_match",
                tooltip="Next match: the next line of the log that matches the search"),
        Binding("N", "previous_match", "Previous", id="detail.previous_match", show=False,
                tooltip="Previous match: the previous line of the log that matches the search"),
        Binding("f", "toggle_follow", "Follow", id="detail.follow",
                tooltip="Follow the log: keep the newest log line in view, or stop following"),
        Binding("v", "pager", "Pager", id="detail.pager",
                tooltip="Open the log in $PAGER: suspend hpo-tui and page through the log"),
        Binding("q", "app.quit", "Quit", id="detail.quit"),
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
        self.search = ""
        self.match_line: int | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="detail-top"):
            yield Static(Text(self.job), id="detail-info")
            yield Horizontal(id="detail-charts")
        yield Static(Text(f"log of {self.job}"), id="detail-log-title")
        yield WrappedLog(id="detail-log", max_lines=LOG_MAX_LINES, highlight=False, auto_scroll=True)
        yield FilterInput(placeholder="search the log (enter: next match, esc: close)", id="log-search")
        yield KeyFooter()

    def on_mount(self) -> None:
        self._show_log_title()
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
        # The rows first (a SageMaker first poll would otherwise read every log line of the
        # tuning job), then this job's own curves.
        snapshot = poll_for_view(backend, self.tuning_job, cursor)
        if log_cursor is None and points_on_demand(backend):
            # The dashboard loads only the objective of the jobs it shows: this job's every
            # metric, once (later points come with the polls).
            snapshot = replace(snapshot, new_points=snapshot.new_points + backend.curves(self.tuning_job, [self.job]))
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
            if message.log.lines:
                # Log text is the user's: never terminal escapes (Log shows no markup). One bulk
                # write: a line at a time, 5,000 lines took over a second.
                self.query_one("#detail-log", WrappedLog).write_raw_lines(
                    fmt.strip_escapes(line.rstrip("\n")) for line in message.log.lines)
                self.log_lines += len(message.log.lines)
                self._show_log_title()
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
                        f" (best of its epochs: {fmt.fmt_number(job.best_objective)})")
            info.append(best, style=self._colour("success"))
            diverged = self._diverged_note(job)
            if diverged:
                info.append(f"\n⚠ diverged: {diverged}", style=self._colour("error"))
            info.append(f"\nepochs {fmt.fmt_epochs(job, view)}   duration {fmt.fmt_duration(fmt.job_duration(job, now))}")
            for label, ts in (("created", job.created_at), ("started", job.started_at), ("ended", job.ended_at)):
                if ts is not None:
                    info.append(f"   {label} {fmt.fmt_age(now - ts)}")
            info.append("\nhyperparameters ")
            info.append("  ".join(f"{k}={v}" for k, v in job.hyperparameters.items()) or fmt.DASH)
            if job.secondary_status:
                info.append(f"\nSageMaker: {job.secondary_status}")
            stall = job.stall_text(now)
            if stall:
                info.append(f"\nstalled: {stall}: no log output and no CPU progress"
                            + ("; `kill -CONT` its process to resume it" if job.process_stopped else ""),
                            style=self._colour("warning"))
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

    def _diverged_note(self, job: TrainingJobView) -> str | None:
        """Why this job is marked diverged on the dashboard (None: it is not)."""
        assert self.snapshot is not None
        scales = job_scales(self.snapshot)
        if job.name not in scales.diverged:
            return None
        if scales.median is None or job.final_objective is None or job.final_objective != job.final_objective:
            return "its objective is not a number"
        return (f"its objective {fmt.fmt_number(job.final_objective)} collapsed far below the median "
                f"{fmt.fmt_number(scales.median)} of the tuning job's jobs; it is left out of the charts' scales")

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
            plt.xlabel("epoch (log Epoch[0] = 1)")
            xs = [epoch + 1 for epoch, _ in curve]  # epoch 1 is the log's Epoch[0]
            plt.plot(xs, [v for _, v in curve], marker="braille")
            plt.xticks(whole_ticks(min(xs), max(xs)))
            plot.refresh()

    # --- the log: search, follow, pager --------------------------------------------

    def _show_log_title(self) -> None:
        log = self.query_one("#detail-log", Log)
        title = Text(f"log of {self.job}  ·  {self.log_lines} lines")
        title.append("  ·  following" if log.auto_scroll else "  ·  not following (f follows)")
        if self.search:
            matches = self._matches()
            if self.match_line is not None and matches:
                title.append(f"  ·  /{self.search}: match {matches.index(self.match_line) + 1} of {len(matches)}"
                             f" at line {self.match_line + 1} (n/N)")
            else:
                title.append(f"  ·  /{self.search}: no match", style=self._colour("warning"))
        self.query_one("#detail-log-title", Static).update(title)

    def _matches(self) -> list[int]:
        needle = self.search.lower()
        return [i for i, line in enumerate(self.query_one("#detail-log", Log).lines) if needle in line.lower()]

    def action_search(self) -> None:
        self.query_one("#log-search", FilterInput).open()

    @on(Input.Changed, "#log-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.search = event.value.strip()
        self.match_line = None
        if self.search:
            self._step_match(forward=True, from_line=-1)
        else:
            self._show_log_title()

    @on(Input.Submitted, "#log-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#detail-log", Log).focus()

    def on_filter_input_cleared(self, _: FilterInput.Cleared) -> None:
        self.close_text_filter()

    def close_text_filter(self) -> None:
        """Escape in the search line: close it and forget the search."""
        self.query_one("#log-search", FilterInput).close()
        self.search, self.match_line = "", None
        self._show_log_title()
        self.query_one("#detail-log", Log).focus()

    def action_next_match(self) -> None:
        self._step_match(forward=True)

    def action_previous_match(self) -> None:
        self._step_match(forward=False)

    def _step_match(self, forward: bool, from_line: int | None = None) -> None:
        if not self.search:
            self.notify("Search first: press /", severity="warning")
            return
        matches = self._matches()
        start = self.match_line if from_line is None else from_line
        if matches:
            if start is None:
                start = -1
            after = [i for i in matches if i > start] if forward else [i for i in matches if i < start]
            self.match_line = (after[0] if forward else after[-1]) if after else (
                matches[0] if forward else matches[-1])  # wrap around, as less does
            log = self.query_one("#detail-log", Log)
            log.auto_scroll = False  # new lines must not scroll the match away
            log.scroll_to(y=max(0, self.match_line - log.size.height // 3), animate=False)
        else:
            self.match_line = None
        self._show_log_title()

    def action_toggle_follow(self) -> None:
        log = self.query_one("#detail-log", Log)
        log.auto_scroll = not log.auto_scroll
        if log.auto_scroll:
            log.scroll_end(animate=False)
        self._show_log_title()

    def action_pager(self) -> None:
        """The log in $PAGER (else less): the app is suspended, the pager gets an argv list."""
        argv = shlex.split(os.environ.get("PAGER") or "less")
        if not argv or shutil.which(argv[0]) is None:
            self.notify(f"No pager found ({' '.join(argv) or 'empty $PAGER'}): set $PAGER to one, e.g. less",
                        severity="error", markup=False)
            return
        lines = self.query_one("#detail-log", WrappedLog).raw_lines
        handle, path = tempfile.mkstemp(prefix=f"{self.job[:40]}-", suffix=".log")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")
        try:
            with self.app.suspend():
                subprocess.run([*argv, path], check=False)
        except SuspendNotSupported:  # a web or headless session has no terminal to lend
            self.notify(f"This session cannot hand the terminal to a pager. The log is in {path}",
                        severity="warning", markup=False)
            return
        except OSError as error:
            self.notify(f"Could not run {argv[0]}: {error}. The log is in {path}", severity="error", markup=False)
            return
        os.unlink(path)

    # --- actions --------------------------------------------------------------------

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_refresh(self) -> None:
        if not any(w.group == "detail-poll" and w.is_running for w in self.workers):
            self._schedule(0)
