"""Resume from the dashboard (R): it always asks first. A tuning job whose runner died is
resumed once confirmed; a Stopped one stays stopped (as on SageMaker), and the question
offers its way on instead: a new tuning job that warm-starts from it."""

from __future__ import annotations

from typing import Any

from hpo_tui.estimate import ended_of

# The dashboard calls in here; it is not imported back (no import cycle): `screen` is a
# DashboardScreen (tuning_job, backend_name, snapshot, action_refresh).
DashboardScreen = Any


def ask_to_resume(screen: DashboardScreen) -> None:
    from hpo_tui.app.screens.dialogs import ConfirmDialog

    name, snap = screen.tuning_job, screen.snapshot
    backend = screen.app.backend_for(screen.backend_name)
    if snap is None:
        screen.notify("Nothing to resume yet: waiting for the first poll", severity="warning")
        return
    view = snap.tuning_job
    if view.status == "Stopped":
        def warm(yes: bool | None) -> None:
            if yes:
                screen.app.clone_tuning_job(name, screen.backend_name, warm_start=True)

        screen.app.push_screen(ConfirmDialog(
            f"{name} stays stopped",
            f"It was stopped at {ended_of(view)}/{view.max_jobs}. Resume restarts only a tuning job whose "
            "runner died; SageMaker cannot restart a stopped one either. Start a new tuning job that "
            "warm-starts from it?", confirm="New, warm-started"), warm)
        return
    if view.status != "Failed" or getattr(backend, "resume", None) is None:
        why = ("it is still running" if not view.is_terminal else f"it ended {view.status}")
        if getattr(backend, "resume", None) is None:
            why = f"{backend.name} cannot restart a tuning job"
        screen.notify(f"Nothing to resume: {why}. n starts a new tuning job from this one.", markup=False)
        return

    def confirmed(yes: bool | None) -> None:
        if yes:
            screen.app.run_worker(lambda: _resume(screen, name), thread=True, group="resume",
                                  exclusive=True, exit_on_error=False)

    left = max(0, view.max_jobs - ended_of(view))
    screen.app.push_screen(ConfirmDialog(
        f"Resume {name}?",
        f"A new runner continues it: {ended_of(view)}/{view.max_jobs} training jobs ended and are kept, "
        f"{left} left to run (the jobs lost with the dead runner run again).", confirm="Resume"), confirmed)


def _resume(screen: DashboardScreen, name: str) -> None:
    """In a thread: resume, then say how it went on the main thread (the error names the
    cause and the fix; the screen keeps polling either way)."""
    from hpo_tui.app.screens.dialogs import ErrorDialog
    from hpo_tui.errors import UserError

    try:
        screen.app.backend_for(screen.backend_name).resume(name)
    except UserError as err:
        screen.app.call_from_thread(screen.app.push_screen, ErrorDialog("Could not resume the tuning job", str(err)))
        return
    screen.app.call_from_thread(screen.notify, f"Resumed {name}", title="Resume", markup=False)
    screen.app.call_from_thread(screen.action_refresh)
