"""Snapshot of the compare screen on scripted data: two finished training jobs marked on the
dashboard (space), compared (m): their curves, and their hyperparameters with the differing
ones marked."""

from __future__ import annotations

from tests.app.conftest import dashboard_app, settle

SIZE = (120, 40)


def test_compare_two_training_jobs(snap_compare, finished_backend):
    async def mark_two_and_compare(pilot):
        await settle(pilot)
        await pilot.press("space", "j", "space", "m")
        await settle(pilot)
        # The "marked" toasts last 3 s: gone or not depends on the machine's load, so not in the picture.
        pilot.app.clear_notifications()
        await settle(pilot)

    assert snap_compare(dashboard_app(finished_backend), terminal_size=SIZE, run_before=mark_two_and_compare)
