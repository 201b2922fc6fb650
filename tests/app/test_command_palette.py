"""The command palette offers every key of the screen it opens on, with the key in its help:
read from what the palette shows, in the app users run."""

from __future__ import annotations

import pytest
from textual.binding import Binding
from textual.command import CommandList

from hpo_tui.app.app import make_app
from hpo_tui.app.screens.configure import ConfigureScreen
from hpo_tui.app.widgets.form_fields import MetricsTable
from tests.app.conftest import dashboard_app, settle
from tests.app.fake_backend import NOW


def palette_lines(app) -> list[str]:
    lists = app.screen.query(CommandList)
    if not lists:
        return []
    return [str(lists.first().get_option_at_index(i).prompt) for i in range(lists.first().option_count)]


async def open_palette(pilot) -> list[str]:
    """The palette's entries with nothing typed (each name with its help)."""
    await pilot.press("ctrl+p")
    for _ in range(200):  # a guard against a hang, not a timing assertion
        lines = palette_lines(pilot.app)
        if lines:
            break
        await pilot.pause(0.02)
    await pilot.pause(0.1)
    return palette_lines(pilot.app)


def keyed_actions(*classes) -> list[Binding]:
    """The bindings a user presses on a screen: ours (with an id), not the app's own."""
    return [b for cls in classes for b in cls.BINDINGS if b.id and not b.action.startswith("app.")]


def expect_offered(lines: list[str], binding: Binding, app) -> None:
    key = next(iter(Binding.make_bindings([binding])))
    shown = key.key_display or app.get_key_display(key)
    assert any(f"({shown})" in line for line in lines), f"{binding.key} ({binding.action}) is not in the palette:\n" \
        + "\n".join(lines)


async def test_the_configure_palette_offers_its_keys_and_the_metric_tables():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        lines = await open_palette(pilot)
        for binding in keyed_actions(ConfigureScreen, MetricsTable):
            expect_offered(lines, binding, app)
        text = "\n".join(lines)
        assert "Launch tuning job" in text and "Add metric" in text and "Add range" in text
        # A palette entry runs what its key runs.
        await pilot.press(*"add metric")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        from hpo_tui.app.screens.spec_dialogs import MetricEditor

        assert isinstance(app.screen, MetricEditor)


@pytest.mark.parametrize("start", ["dashboard", "jobs"])
async def test_the_dashboard_and_jobs_palettes_offer_every_key(mid_run_backend, start):
    from hpo_tui.app.screens.dashboard import DashboardScreen
    from hpo_tui.app.screens.jobs import TuningJobsScreen

    if start == "dashboard":
        app, screen_class = dashboard_app(mid_run_backend), DashboardScreen
    else:
        app = make_app(backend=mid_run_backend, start="jobs", interval=3600.0, clock=lambda: NOW)
        screen_class = TuningJobsScreen
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        lines = await open_palette(pilot)
        for binding in keyed_actions(screen_class):
            expect_offered(lines, binding, app)
