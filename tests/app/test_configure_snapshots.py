"""Snapshot tests of the configure screen (120x40): the defaults, and a form with errors."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Select

from hpo_tui.app.app import make_app

SIZE = (120, 40)


@pytest.fixture(autouse=True)
def _no_role_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # The role error must show whatever the machine's environment holds.
    monkeypatch.delenv("SAGEMAKER_ROLE_ARN", raising=False)


async def _settle(pilot: Pilot) -> None:
    # Focus a table, not an Input, so no blinking cursor lands in the picture.
    pilot.app.screen.query_one("#ranges-table").focus()
    await pilot.pause()


def test_configure_defaults(snap_compare) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=_settle)


def test_configure_with_errors(snap_compare) -> None:
    async def break_the_form(pilot: Pilot) -> None:
        screen = pilot.app.screen
        screen.query_one("#backend", Select).value = "sagemaker"  # no role ARN: an error
        screen.query_one("#max-parallel-jobs", Input).value = "12"  # more than max_jobs (9)
        screen.query_one("#random-seed", Input).value = "abc"  # not a number
        await _settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=break_the_form)


def test_range_editor_with_min_above_max(snap_compare) -> None:
    async def open_editor(pilot: Pilot) -> None:
        table = pilot.app.screen.query_one("#ranges-table")
        table.focus()
        table.move_cursor(row=table.get_row_index("learning_rate"))
        await pilot.press("e")
        await pilot.pause()
        pilot.app.screen.query_one("#range-min", Input).value = "0.5"
        pilot.app.screen.query_one("#range-ok").focus()
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=open_editor)
