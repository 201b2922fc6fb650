"""Delete (d) and prune (P) in the real tuning jobs list, on the real local engine: the dialog
says what goes and keeps everything on enter (Cancel has the focus); a running tuning job is
refused; prune lists only what ended before the age."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Input, Static

from hpo_tui import paths
from hpo_tui.app.app import make_app
from hpo_tui.app.screens.dialogs import ErrorDialog
from hpo_tui.app.screens.housekeeping import DeleteDialog, PruneDialog
from hpo_tui.backends.local import LocalBackend
from tests.compare.jobs import backdate, fake_spec, launch, until

def rows(table: DataTable) -> list[str]:
    return [str(table.get_row(key)[0]).removeprefix("● ") for key in [r.key for r in table.ordered_rows]]


async def select(pilot: Pilot, table: DataTable, name: str) -> None:
    table.move_cursor(row=rows(table).index(name))
    await pilot.pause()


def record_notices(app) -> list[str]:
    """Every message the app notifies, kept (a toast expires after seconds: a loaded machine
    could miss it). The app's own notify still runs."""
    said: list[str] = []
    notify = app.notify

    def recording(message, *args, **kwargs):
        said.append(str(message))
        return notify(message, *args, **kwargs)

    app.notify = recording
    return said


async def test_delete_asks_with_cancel_focused_refuses_running_and_deletes(tmp_path: Path) -> None:
    keep = launch(fake_spec(tmp_path, name="tui-keep", max_jobs=1))
    gone = launch(fake_spec(tmp_path, name="tui-gone", max_jobs=2))
    running = launch(fake_spec(tmp_path, name="tui-running", max_jobs=1, static={"hang": 1}), wait=False)
    try:
        app = make_app(start="jobs", interval=3600.0)
        async with app.run_test(size=(140, 40)) as pilot:
            table = app.screen.query_one(DataTable)
            await until(pilot, lambda: table.row_count == 3, "the three tuning jobs")
            from hpo_tui.backends.local_housekeeping import disk_usage, fmt_bytes

            for name in (keep, gone):  # each local tuning job's folder size, as delete reports it
                assert str(table.get_cell(name, "disk")) == fmt_bytes(disk_usage(paths.jobs_dir() / name))
            await select(pilot, table, gone)
            await pilot.press("d")
            await until(pilot, lambda: isinstance(app.screen, DeleteDialog), "the delete dialog")
            body = " ".join(str(s.render()) for s in app.screen.query(Static))
            assert f"Delete {gone}?" in body and "2 training job rows" in body
            assert str(paths.jobs_dir() / gone) in body and "KB" in body
            assert app.focused is app.screen.query_one("#cancel", Button)
            await pilot.press("enter")  # the default keeps everything
            await until(pilot, lambda: not isinstance(app.screen, DeleteDialog), "the dialog to close")
            assert (paths.jobs_dir() / gone).is_dir() and len(rows(table)) == 3
            await pilot.press("d")
            await until(pilot, lambda: isinstance(app.screen, DeleteDialog), "the delete dialog again")
            await pilot.press("shift+tab", "enter")  # Delete, on purpose
            await until(pilot, lambda: gone not in rows(table), "the row to go")
            assert not (paths.jobs_dir() / gone).exists()
            assert sorted(rows(table)) == sorted([keep, running])
            # A running tuning job: refused with how to stop it, no dialog.
            await select(pilot, table, running)
            await pilot.press("d")
            await until(pilot, lambda: isinstance(app.screen, ErrorDialog), "the refusal")
            said = str(app.screen.query_one("#error-message", Static).render())
            assert "is InProgress: stop it first" in said and f"hpo-tui stop {running}" in said
            await pilot.press("escape")
            assert sorted(rows(table)) == sorted([keep, running])
    finally:
        backend = LocalBackend()
        backend.stop(running)
        backend.close()


async def test_prune_lists_only_what_ended_before_the_age(tmp_path: Path) -> None:
    old = launch(fake_spec(tmp_path, name="tui-old", max_jobs=1))
    new = launch(fake_spec(tmp_path, name="tui-new", max_jobs=1))
    backdate(old, 40)
    app = make_app(start="jobs", interval=3600.0)
    said = record_notices(app)
    async with app.run_test(size=(140, 40)) as pilot:
        table = app.screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count == 2, "the two tuning jobs")
        await pilot.press("P")
        await until(pilot, lambda: isinstance(app.screen, PruneDialog), "the prune dialog")
        assert app.screen.query_one("#prune-age", Input).value == "30d"
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DeleteDialog), "the list of what goes")
        body = " ".join(str(s.render()) for s in app.screen.query(Static))
        assert old in body and new not in body
        await pilot.press("shift+tab", "enter")
        await until(pilot, lambda: old not in rows(table), "the old one to go")
        assert rows(table) == [new] and not (paths.jobs_dir() / old).exists()
        await pilot.press("P")
        await until(pilot, lambda: isinstance(app.screen, PruneDialog), "the prune dialog")
        await pilot.press("enter")
        await until(pilot, lambda: any("nothing to prune" in m for m in said), "the note")
        assert not isinstance(app.screen, DeleteDialog) and rows(table) == [new]
