"""The tuning jobs on the current backend, newest first; enter attaches to one."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual.worker import Worker, WorkerState

from hpo_tui.app import format as fmt
from hpo_tui.app.messages import TuningJobsListed
from hpo_tui.backends.base import TuningJobView

STATUS_COLOURS = {"InProgress": "accent", "Stopping": "warning", "Completed": "success",
                  "Stopped": "warning", "Failed": "error"}
COLUMNS = (("name", "tuning job"), ("status", "status"), ("strategy", "strategy"), ("progress", "finished"),
           ("best", "best objective"), ("best_job", "best training job"),
           ("created", "created"))


class TuningJobsScreen(Screen):
    BINDINGS = [
        Binding("enter", "attach", "Attach", id="jobs.attach"),
        Binding("r", "refresh", "Refresh", id="jobs.refresh"),
        Binding("escape", "back", "Back", id="jobs.back", show=False),
        Binding("q", "app.quit", "Quit", id="jobs.quit"),
    ]
    PALETTE = [
        ("Attach", "Open the dashboard of the selected tuning job (enter)", "attach"),
        ("Refresh the list", "List the tuning jobs again (r)", "refresh"),
    ]

    def __init__(self, *, backend_name: str | None = None) -> None:
        super().__init__()
        self.backend_name = backend_name
        self.jobs: list[TuningJobView] = []

    def compose(self) -> ComposeResult:
        yield Static("Tuning jobs", id="jobs-title")
        table: DataTable = DataTable(id="tuning-jobs-table", cursor_type="row", zebra_stripes=True,
                                     cursor_foreground_priority="renderable")
        yield table
        yield Static("loading…", id="jobs-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
        self.list_jobs()

    def on_screen_resume(self) -> None:
        if self.jobs:
            self.list_jobs()

    @work(thread=True, exclusive=True, group="list", exit_on_error=False)
    def list_jobs(self) -> None:
        backend = self.app.backend_for(self.backend_name)
        self.post_message(TuningJobsListed(backend.list_tuning_jobs()))

    @on(TuningJobsListed)
    def _listed(self, message: TuningJobsListed) -> None:
        self.jobs = sorted(message.jobs, key=lambda j: j.created_at or 0.0, reverse=True)
        table = self.query_one(DataTable)
        theme = self.app.theme_variables
        now = self.app.clock()
        selected = None
        if table.row_count:
            selected = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        with self.app.batch_update():
            # A user action (open, r), not a tick: rebuilding keeps the row under the cursor.
            if table.row_count:
                table.clear()
            if not table.columns:
                # Added with the first rows: columns added before any row keep their
                # label widths in the rendering (seen with Textual 8.2).
                for key, label in COLUMNS:
                    table.add_column(label, key=key)
            for job in self.jobs:
                colour = STATUS_COLOURS.get(job.status)
                table.add_row(
                    Text(job.name),
                    Text(job.status, style=Style(color=theme[colour]) if colour else ""),
                    Text(job.strategy),
                    Text(f"{job.status_counters.finished}/{job.max_jobs}", justify="right"),
                    Text(f"{fmt.fmt_number(job.best_objective)} {job.objective_name}"
                         if job.best_objective is not None else fmt.DASH),
                    Text(job.best_training_job or fmt.DASH),
                    Text(fmt.fmt_age(now - job.created_at) if job.created_at else fmt.DASH),
                    key=job.name,
                )
            if selected is not None and selected in {j.name for j in self.jobs}:
                table.move_cursor(row=table.get_row_index(selected))
        # Textual 8.2 can keep the cursor row rendered with the widths it had before the
        # new rows were measured; drop its render caches once the sizes are known.
        self.call_after_refresh(getattr(table, "_clear_caches", lambda: None))
        self.call_after_refresh(table.refresh)
        backend = self.jobs[0].backend if self.jobs else (self.backend_name or self.app.backend_name)
        count = len(self.jobs)
        self.query_one("#jobs-status", Static).update(
            Text(f"{count} tuning job{'s' if count != 1 else ''} on {backend}  ·  enter: attach  ·  r: refresh")
            if count else Text(f"No tuning jobs on {backend} yet: run hpo-tui to configure and launch one."))

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "list" and event.state == WorkerState.ERROR:
            self.query_one("#jobs-status", Static).update(
                Text(f"⚠ could not list tuning jobs: {fmt.shorten(str(event.worker.error), 150)}",
                     style=Style(color=self.app.theme_variables["error"])))

    @on(DataTable.RowSelected, "#tuning-jobs-table")
    def _selected(self) -> None:
        self.action_attach()

    def action_attach(self) -> None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return
        name = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        from hpo_tui.app.screens.dashboard import DashboardScreen

        self.app.push_screen(DashboardScreen(name, backend_name=self.backend_name))

    def action_refresh(self) -> None:
        self.list_jobs()

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
