"""The tuning jobs on the current backend, newest first; enter attaches to one.

`/` filters them by text, a header click sorts by that column (again: reversed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.style import Style
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Input, Static
from textual.worker import Worker, WorkerState

from hpo_tui.app import format as fmt
from hpo_tui.app.messages import TuningJobsListed
from hpo_tui.app.screens.housekeeping import DeletionPlanned, TuningJobsDeleted
from hpo_tui.app.widgets.footer import KeyFooter
from hpo_tui.app.typed import HpoScreen
from hpo_tui.app.widgets.tables import FilterInput, KeyedTable
from hpo_tui.estimate import ended_of
from hpo_tui.views import TuningJobView

STATUS_COLOURS = {"InProgress": "accent", "Stopping": "warning", "Completed": "success",
                  "Stopped": "warning", "Failed": "error"}
LIST_INTERVAL = 5.0
COLUMNS = (("name", "tuning job"), ("status", "status"), ("strategy", "strategy"), ("progress", "finished"),
           ("best", "best objective"), ("best_job", "best training job"),
           ("created", "created"))
DISK_COLUMN = ("disk", "disk")  # local tuning jobs: their folder's size
MARK = "● "  # before the name of a tuning job marked (space) for compare


@dataclass
class DiskUsed(Message):
    sizes: dict[str, int]
    final: frozenset[str]  # the tuning jobs that had ended when measured (measured once)


class TuningJobsScreen(HpoScreen[None]):
    HELP_TITLE = "Tuning jobs keys"
    BINDINGS = [
        # priority: the table's own enter (select, hidden) would hide this one from the footer.
        Binding("enter", "attach", "Attach", id="jobs.attach", priority=True,
                tooltip="Open the dashboard of the selected tuning job"),
        Binding("n", "clone", "New from this", id="jobs.clone",
                tooltip="New tuning job from this one: configure a new tuning job with the selected one's spec"),
        Binding("y", "copy_best", "Copy best", id="jobs.copy_best",
                tooltip="Copy best hyperparameters: copy the best training job's hyperparameters as CLI arguments"),
        Binding("Y", "copy_best(True)", "Copy best as TOML", id="jobs.copy_best_toml", show=False,
                tooltip="Copy best hyperparameters as TOML: copy them as a spec's [estimator.hyperparameters]"),
        Binding("r", "refresh", "Refresh", id="jobs.refresh",
                tooltip="Refresh the list: list the tuning jobs again"),
        Binding("space", "mark", "Mark", id="jobs.mark", show=False,
                tooltip="Mark for compare: mark or unmark the selected tuning job"),
        Binding("m", "compare", "Compare", id="jobs.compare",
                tooltip="Compare marked tuning jobs: best so far against jobs and time, bests, warm-start lineage"),
        Binding("d", "delete", "Delete", id="jobs.delete",
                tooltip="Delete tuning jobs: delete the marked (or selected) ended local tuning jobs and their folders"),
        Binding("P", "prune", "Prune old", id="jobs.prune", show=False,
                tooltip="Prune old tuning jobs: delete the local tuning jobs that ended longer ago than an age"),
        Binding("slash", "text_filter", "Filter", id="jobs.text_filter", key_display="/",
                tooltip="Filter by text: show only tuning jobs whose name, status or strategy match"),
        Binding("escape", "back", "Back", id="jobs.back", show=False),
        Binding("q", "app.quit", "Quit", id="jobs.quit"),
    ]

    def __init__(self, *, backend_name: str | None = None) -> None:
        super().__init__()
        self.backend_name = backend_name
        self.jobs: list[TuningJobView] = []
        self._shown: dict[str, list[Text]] = {}  # the cells on screen, by tuning job name
        self._seen_rows = False
        self._timer = None
        self._suspended = False
        self._due_on_resume = False
        self.text_filter = ""
        self.sort_key: str | None = None  # None: newest first
        self.sort_reverse = False
        self.marked: list[str] = []  # tuning jobs marked for compare (or delete), in marking order
        self.disk: dict[str, int] | None = None  # bytes per local tuning job (None: not local)
        self._disk_final: frozenset[str] = frozenset()

    def compose(self) -> ComposeResult:
        yield Static("Tuning jobs", id="jobs-title")
        yield KeyedTable(id="tuning-jobs-table", cursor_type="row", zebra_stripes=True,
                         cursor_foreground_priority="renderable", fixed_columns=1)
        yield Static("", id="jobs-no-match")
        yield FilterInput(placeholder="filter: name, status or strategy (enter keeps, esc clears)",
                          id="jobs-filter")
        yield Static("loading…", id="jobs-status")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#jobs-no-match").display = False
        self.query_one(DataTable).focus()
        self.list_jobs()

    def _schedule(self) -> None:
        # Re-armed after each listing, never overlapping; statuses move slowly, so at most every 5 s.
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(max(self.app.interval or 0.0, LIST_INTERVAL), self._tick)

    def _tick(self) -> None:
        self._timer = None
        if self._suspended:
            self._due_on_resume = True
        else:
            self.list_jobs()

    def on_screen_suspend(self) -> None:
        self._suspended = True

    def on_screen_resume(self) -> None:
        self._suspended = False
        if self._due_on_resume:
            self._due_on_resume = False
            self.list_jobs()

    @work(thread=True, exclusive=True, group="list", exit_on_error=False)
    def list_jobs(self) -> None:
        backend = self.app.backend_for(self.backend_name)
        jobs = backend.list_tuning_jobs()
        from hpo_tui.backends.local import LocalBackend

        if isinstance(backend, LocalBackend):
            from hpo_tui.backends.local_housekeeping import usage_by_tuning_job

            # An ended tuning job's folder no longer grows: measured once (a long list of old
            # tuning jobs would otherwise be walked file by file every few seconds).
            known, final = self.disk or {}, self._disk_final  # replaced, never changed in place
            kept = {j.name for j in jobs if j.is_terminal and j.name in final}
            sizes = usage_by_tuning_job(j.name for j in jobs if j.name not in kept)
            sizes.update({name: known[name] for name in kept})
            self.post_message(DiskUsed(sizes, frozenset(j.name for j in jobs if j.is_terminal)))
        self.post_message(TuningJobsListed(jobs))

    def _cells(self, job: TuningJobView, now: float) -> list[Text]:
        colour = STATUS_COLOURS.get(job.status)
        cells = [
            Text(MARK + job.name if job.name in self.marked else job.name),
            Text(job.status + (" ⚠" if job.warning else ""),
                 style=Style(color=self.app.theme_variables[colour]) if colour else ""),
            Text(job.strategy),
            Text(f"{ended_of(job)}/{job.max_jobs}", justify="right"),  # as `hpo-tui jobs` counts
            Text(f"{fmt.fmt_number(job.best_objective)} {job.objective_name}"
                 if job.best_objective is not None else fmt.DASH),
            Text(job.best_training_job or fmt.DASH),
            Text(fmt.fmt_age(now - job.created_at) if job.created_at else fmt.DASH),
        ]
        if self.disk is not None:
            from hpo_tui.backends.local_housekeeping import fmt_bytes

            size = self.disk.get(job.name)
            cells.append(Text(fmt_bytes(size) if size else fmt.DASH, justify="right"))
        return cells

    def _matches(self, job: TuningJobView) -> bool:
        haystack = " ".join((job.name, job.status, job.strategy, job.best_training_job or "")).lower()
        return all(term in haystack for term in self.text_filter.lower().split())

    def _raw_value(self, job: TuningJobView) -> tuple:
        """What a header click sorts by: raw values, missing ones last."""
        value: Any = {
            "name": job.name.lower(), "status": job.status, "strategy": job.strategy,
            "progress": ended_of(job), "best": job.best_objective,
            "best_job": job.best_training_job, "created": job.created_at,
            "disk": (self.disk or {}).get(job.name),
        }[self.sort_key or "created"]
        return (value is None, value if value is not None else 0)

    def _ordered(self) -> list[TuningJobView]:
        shown = [job for job in self.jobs if self._matches(job)]
        if self.sort_key is None:
            return shown  # newest first, as listed
        present = sorted((j for j in shown if self._raw_value(j)[0] is False), key=self._raw_value,
                         reverse=self.sort_reverse)
        return present + [j for j in shown if self._raw_value(j)[0]]

    @on(TuningJobsListed)
    def _listed(self, message: TuningJobsListed) -> None:
        self.jobs = sorted(message.jobs, key=lambda j: j.created_at or 0.0, reverse=True)
        for job in self.jobs:
            self.app.watched.seen(job.name, job.status)
        self._show()
        backend = self.jobs[0].backend if self.jobs else (self.backend_name or self.app.backend_name)
        count = len(self.jobs)
        warned = [job for job in self.jobs if job.warning]
        if warned:  # what `status` warns about (a runner not responding, stalled jobs), said here too
            line = Text(f"⚠ {warned[0].name}: {warned[0].warning}", style=self.app.theme_variables["warning"])
            if len(warned) > 1:
                line.append(f"  (and {len(warned) - 1} more tuning jobs marked ⚠)")
        elif count:
            line = Text(f"{count} tuning job{'s' if count != 1 else ''} on {backend}  ·  enter: attach  ·  "
                        "n: new from this  ·  /: filter  ·  ?: keys")
        else:
            line = Text(f"No tuning jobs on {backend} yet: run hpo-tui to configure and launch one.")
        self.query_one("#jobs-status", Static).update(line)
        self._schedule()

    def _show(self) -> None:
        """Diff the table against the listing: new rows, changed cells, in the wanted order."""
        table = self.query_one(DataTable)
        now = self.app.clock()
        columns = COLUMNS + ((DISK_COLUMN,) if self.disk is not None else ())
        keys = [key for key, _ in columns]
        ordered = self._ordered()
        listed = {job.name for job in ordered}
        with self.app.batch_update():
            if not table.columns:
                # Added with the first rows: columns added before any row keep their
                # label widths in the rendering (seen with Textual 8.2).
                for key, label in columns:
                    table.add_column(label, key=key)
            for name in [n for n in self._shown if n not in listed]:
                table.remove_row(name)
                del self._shown[name]
            added = False
            for job in ordered:
                cells = self._cells(job, now)
                old = self._shown.get(job.name)
                if old is None:
                    table.add_row(*cells, key=job.name)
                    added = True
                else:
                    for key, cell, before in zip(keys, cells, old):
                        if (cell.plain, str(cell.style)) != (before.plain, str(before.style)):
                            table.update_cell(job.name, key, cell, update_width=True)
                self._shown[job.name] = cells
            current = [row.key.value for row in table.ordered_rows]
            wanted = [job.name for job in ordered]
            if current != wanted:
                selected = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value \
                    if table.row_count and self._seen_rows else None
                rank = {name: i for i, name in enumerate(wanted)}
                table.sort("name", key=lambda cell: rank.get(cell.plain.removeprefix(MARK), len(rank)))
                if selected in rank:  # keep the cursor on its job; the first listing starts on top
                    table.move_cursor(row=table.get_row_index(selected))
                else:
                    table.move_cursor(row=0)
            if added:
                self._seen_rows = True
                # Textual 8.2 can keep the cursor row rendered with the widths it had before
                # the new rows were measured; drop its render caches once the sizes are known.
                self.call_after_refresh(self._drop_table_renders)
        no_match = self.query_one("#jobs-no-match", Static)
        empty = bool(self.text_filter) and not ordered and bool(self.jobs)
        no_match.display, table.display = empty, not empty
        if empty:
            no_match.update(Text(f"No tuning jobs match /{self.text_filter}: press / to change it, "
                                 "escape in the filter to clear it.", justify="center"))

    def _drop_table_renders(self) -> None:
        # Imported here, after the first frame: the jobs screen's start does without the module.
        from hpo_tui.app.widgets.fast_table import drop_renders

        drop_renders(self.query_one(DataTable))

    @on(DataTable.HeaderSelected, "#tuning-jobs-table")
    def _header_selected(self, event: DataTable.HeaderSelected) -> None:
        key = event.column_key.value
        self.sort_reverse = not self.sort_reverse if key == self.sort_key else key in ("best", "created", "progress",
                                                                                    "disk")
        self.sort_key = key
        self._show()

    def action_text_filter(self) -> None:
        self.query_one("#jobs-filter", FilterInput).open()

    @on(Input.Changed, "#jobs-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.text_filter = event.value.strip()
        self._show()

    @on(Input.Submitted, "#jobs-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            self.close_text_filter()
        else:
            self.query_one(DataTable).focus()

    def on_filter_input_cleared(self, _: FilterInput.Cleared) -> None:
        self.close_text_filter()

    def close_text_filter(self) -> None:
        self.query_one("#jobs-filter", FilterInput).close()
        if self.text_filter:
            self.text_filter = ""
            self._show()
        self.query_one(DataTable).focus()

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "list" and event.state == WorkerState.ERROR:
            self.query_one("#jobs-status", Static).update(
                Text(f"⚠ could not list tuning jobs: {fmt.shorten(str(event.worker.error), 150)}",
                     style=Style(color=self.app.theme_variables["error"])))
            self._schedule()
        elif event.worker.group == "delete" and event.state == WorkerState.ERROR:
            self.notify(f"Could not delete: {fmt.shorten(str(event.worker.error), 300)}", severity="error",
                        timeout=10)
            self.action_refresh()

    @on(DataTable.RowSelected, "#tuning-jobs-table")
    def _selected(self) -> None:
        self.action_attach()

    def selected_job(self) -> TuningJobView | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            self.notify("No tuning job selected: none listed yet", severity="warning")
            return None
        name = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((job for job in self.jobs if job.name == name), None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # enter is a priority binding (so the footer shows it over the table's own enter);
        # while a text input has focus, enter belongs to the input (submit the filter).
        if action == "attach" and isinstance(self.app.focused, Input):
            return False
        return True

    def action_attach(self) -> None:
        job = self.selected_job()
        if job is not None:
            self.app.open_dashboard(job.name, self.backend_name or job.backend, status=job.status)

    def action_clone(self) -> None:
        job = self.selected_job()
        if job is not None:
            self.app.clone_tuning_job(job.name, self.backend_name or job.backend,
                                      warm_start=job.status == "Stopped")

    def action_copy_best(self, as_toml: bool = False) -> None:
        job = self.selected_job()
        if job is not None:
            self.app.copy_best_hyperparameters(job.name, self.backend_name or job.backend, as_toml=as_toml)

    def action_refresh(self) -> None:
        if not any(w.group == "list" and w.is_running for w in self.workers):
            self.list_jobs()

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()

    # --- compare and delete -------------------------------------------------------------

    def _selected_name(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def toggle_mark(self, name: str) -> None:
        if name in self.marked:
            self.marked.remove(name)
        else:
            self.marked.append(name)
        self._show()

    def action_mark(self) -> None:
        from hpo_tui.app.screens.compare import mark_for_compare

        mark_for_compare(self, self, self._selected_name(), "tuning job")

    def action_compare(self) -> None:
        from hpo_tui.app.screens.compare import CompareScreen, can_compare

        if can_compare(self, self.marked, "tuning jobs"):
            self.app.push_screen(CompareScreen(list(self.marked), backend_name=self.backend_name))

    def action_delete(self) -> None:
        names = list(self.marked) or [n for n in [self._selected_name()] if n]
        if not names:
            self.notify("No tuning job selected: none listed yet", severity="warning")
            return
        if self._on_sagemaker:  # nothing of it is kept here
            from hpo_tui.backends.local_housekeeping import SAGEMAKER_NOTE

            for name in names:
                self.app.watched.forget(name)
            self.notify(SAGEMAKER_NOTE, severity="warning", timeout=10)
            return
        self._plan_deletion(names)

    @property
    def _on_sagemaker(self) -> bool:
        # The listed tuning jobs say where they live (the app's default may be another backend).
        return (self.jobs[0].backend if self.jobs else self.backend_name or self.app.backend_name) == "sagemaker"

    def action_prune(self) -> None:
        if self._on_sagemaker:
            from hpo_tui.backends.local_housekeeping import SAGEMAKER_NOTE

            self.notify(SAGEMAKER_NOTE, severity="warning", timeout=10)
            return
        from hpo_tui.app.screens.housekeeping import PruneDialog

        self.app.push_screen(PruneDialog(), lambda age: self._plan_prune(age) if age else None)

    @work(thread=True, exclusive=True, group="delete", exit_on_error=False)
    def _plan_prune(self, age: str) -> None:
        from hpo_tui.backends import local_housekeeping as hk

        plans = hk.plan_older_than(hk.parse_age(age))
        self.post_message(DeletionPlanned(plans, none_note=f"No ended local tuning job is older than {age}: "
                                                         "nothing to prune."))

    @on(DiskUsed)
    def _disk_used(self, message: DiskUsed) -> None:
        self.disk, self._disk_final = message.sizes, message.final

    @work(thread=True, exclusive=True, group="delete", exit_on_error=False)
    def _plan_deletion(self, names: list[str]) -> None:
        from hpo_tui.backends import local_housekeeping as hk
        from hpo_tui.errors import UserError

        try:
            plans = hk.plan(names)
        except UserError as err:
            self.post_message(DeletionPlanned([], str(err)))
            return
        refused = [p.refused for p in plans if p.refused]
        self.post_message(DeletionPlanned(plans, "; ".join(refused) if refused else None))

    @on(DeletionPlanned)
    def _deletion_planned(self, message: DeletionPlanned) -> None:
        from hpo_tui.app.screens.housekeeping import DeleteDialog, deletion_question

        if not message.plans and message.none_note:
            self.notify(message.none_note, timeout=5)
            return
        if message.refusal:
            from hpo_tui.app.screens.dialogs import ErrorDialog

            self.app.push_screen(ErrorDialog("Nothing was deleted", message.refusal + "."))
            return
        title, body = deletion_question(message.plans)

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete([p.name for p in message.plans], sum(p.folder_bytes for p in message.plans))

        self.app.push_screen(DeleteDialog(title, body, confirm="Delete", variant="error", id="delete-dialog"),
                             answered)

    @work(thread=True, exclusive=True, group="delete", exit_on_error=False)
    def _delete(self, names: list[str], freed: int) -> None:
        from hpo_tui.backends import local_housekeeping as hk
        from hpo_tui.errors import UserError

        deleted: list[str] = []
        try:
            for name in names:
                hk.delete(name)
                deleted.append(name)
        except UserError as err:
            self.post_message(TuningJobsDeleted(deleted, freed, str(err)))
            return
        self.post_message(TuningJobsDeleted(deleted, freed))

    @on(TuningJobsDeleted)
    def _deleted(self, message: TuningJobsDeleted) -> None:
        from hpo_tui.backends.local_housekeeping import fmt_bytes

        for name in message.deleted:
            self.app.watched.forget(name)
            if name in self.marked:
                self.marked.remove(name)
        if message.error:
            self.notify(f"Deleted {len(message.deleted)}; then: {message.error}", severity="error", timeout=10)
        else:
            self.notify(f"Deleted {', '.join(message.deleted)} ({fmt_bytes(message.freed)} freed)", timeout=5)
        self.action_refresh()
