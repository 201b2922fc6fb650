"""Stop and export, asked from the dashboard (s, e): each asks first, then runs in a thread
worker of the screen; worker_changed() says how a stop went, or why an export failed (the
screen forwards its workers' state changes), and a written export posts ExportWritten."""

from __future__ import annotations

import io
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from textual.worker import Worker, WorkerState

from hpo_tui.app.messages import ExportWritten
from hpo_tui.report import render_export, write_export
from hpo_tui.views import Snapshot

if TYPE_CHECKING:
    from hpo_tui.app.screens.dashboard_poll import PolledDashboard


def ask_to_stop(screen: PolledDashboard) -> None:
    from hpo_tui.app.screens.dialogs import ConfirmDialog

    name, snapshot = screen.tuning_job, screen.snapshot
    if snapshot is not None and snapshot.tuning_job.is_terminal:
        screen.notify(f"{name} has already ended ({snapshot.tuning_job.status})", markup=False)
        return

    def stop() -> None:
        screen.app.backend_for(screen.backend_name).stop(name)

    def confirmed(yes: bool | None) -> None:
        if yes:
            screen.run_worker(stop, thread=True, exclusive=True, group="stop", exit_on_error=False)

    screen.app.push_screen(
        ConfirmDialog(f"Stop {name}?",
                      "Running training jobs are stopped and no new ones start. "
                      "Finished jobs and their results are kept.",
                      confirm="Stop", variant="error"),
        confirmed,
    )


def ask_to_export(screen: PolledDashboard) -> None:
    from hpo_tui.app.screens.dialogs import ExportDialog

    if screen.snapshot is None:
        screen.notify("Nothing to export yet: waiting for the first poll", severity="warning")
        return

    def chosen(result: tuple[str, Path] | None) -> None:
        snapshot = screen.snapshot
        if result is None or snapshot is None:
            return
        format_name, path = result
        if screen.app.is_web:
            _deliver(screen, snapshot, format_name, path)
        else:
            screen.run_worker(partial(_write, screen, snapshot, format_name, path), thread=True,
                              group="export", exit_on_error=False)

    screen.app.push_screen(ExportDialog(screen.tuning_job, download=screen.app.is_web), chosen)


def _deliver(screen: PolledDashboard, snapshot: Snapshot, format_name: str, path: Path) -> None:
    """Served in a browser: the browser downloads the file (nothing is written here)."""
    text = render_export(snapshot, format_name)
    mime_type = "application/json" if format_name == "json" else "text/csv"
    screen.app.deliver_text(io.StringIO(text), save_filename=path.name, mime_type=mime_type, encoding="utf-8")
    screen.notify(f"{len(snapshot.training_jobs)} training jobs sent to your browser as {path.name}",
                  title="Export", markup=False)


def _write(screen: PolledDashboard, snapshot: Snapshot, format_name: str, path: Path) -> None:
    count = write_export(snapshot, format_name, path)
    screen.post_message(ExportWritten(str(path), count))


def worker_changed(screen: PolledDashboard, event: Worker.StateChanged) -> None:
    """A stop or an export ended: say how (an error in a dialog)."""
    from hpo_tui.app.screens.dialogs import ErrorDialog

    worker = event.worker
    if worker.group == "stop" and event.state == WorkerState.ERROR:
        screen.app.push_screen(ErrorDialog("Could not stop the tuning job", str(worker.error)))
    elif worker.group == "stop" and event.state == WorkerState.SUCCESS:
        screen.notify(f"Stopping {screen.tuning_job}", title="Stop", markup=False)
        screen.action_refresh()
    elif worker.group == "export" and event.state == WorkerState.ERROR:
        screen.app.push_screen(ErrorDialog("Export failed", f"{worker.error}\nChoose another file."))
