"""Quitting never strands a job or hangs, and says what keeps running; escape always leaves
a way back; a missing job is a message; ?, the footers and the command palette show the keys."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from textual.widgets import Footer

from hpo_tui.app.app import make_app
from hpo_tui.app.screens.configure import ConfigureScreen
from hpo_tui.app.screens.dashboard import DashboardScreen
from hpo_tui.app.screens.dialogs import ConfirmDialog, FilterDialog, HelpScreen
from hpo_tui.app.screens.jobs import TuningJobsScreen
from tests.app.conftest import (
    SIZE,
    GatedBackend,
    dashboard_app,
    gated,
    palette_options,
    palette_search,
    record_tuning_job,
    settle,
    wait_for_note,
    wait_until,
)
from tests.app.fake_backend import NOW, TUNING_JOB, FakeBackend, finished_jobs, mid_run_jobs, snapshot_of


def footer_keys(screen) -> dict[str, str]:
    """description -> key, as the footer shows them."""
    from textual.widgets._footer import FooterKey

    return {key.description: key.key_display for key in screen.query_one(Footer).query(FooterKey)}


async def test_quit_while_running_says_it_keeps_running_and_how_to_reattach(mid_run_backend):
    app = dashboard_app(mid_run_backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        body = str(app.screen.query_one(".dialog-body").render())
        assert f"hpo-tui attach {TUNING_JOB}" in body and "keeps running" in body
        await pilot.click("#confirm")
        await pilot.pause()
    assert app.exit_hint is not None and f"hpo-tui attach {TUNING_JOB}" in app.exit_hint
    assert mid_run_backend.stopped == []


async def test_quit_on_a_finished_job_exits_at_once(finished_backend):
    app = dashboard_app(finished_backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmDialog)
    assert app.return_code == 0 and app.exit_hint is None


async def test_quit_before_the_first_poll_does_not_claim_the_job_keeps_running():
    jobs = finished_jobs()
    backend = GatedBackend([snapshot_of(jobs, "Completed", ended=NOW - 60.0)], jobs=jobs)
    backend.poll_gate.clear()  # the first poll has not answered yet
    app = dashboard_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        body = str(app.screen.query_one(".dialog-body").render())
        assert "status not known yet" in body and "keeps running" not in body
        await pilot.press("escape")
        backend.poll_gate.set()
        await settle(pilot)
        await pilot.press("q")  # now known to be Completed: no question
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmDialog)
    assert app.exit_hint is None


async def test_quit_while_a_launch_is_in_flight_asks_first():
    backend = gated()
    app = make_app(backend=backend, interval=3600.0, clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: backend.launched, "the launch to start")
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        assert "A launch is in progress" in str(app.screen.query_one(".dialog-body").render())
        await pilot.press("escape")  # stay
        backend.launch_gate.set()
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "the dashboard")
        await pilot.press("ctrl+q")  # launched a moment ago: it runs, even before a poll says so
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.click("#confirm")
        await pilot.pause()
    assert app.exit_hint and f"Reattach with: hpo-tui attach {TUNING_JOB}" in app.exit_hint


def test_quit_never_waits_for_a_blocked_poll(tmp_path: Path):
    """A poll that never returns (a hung network call) must not keep the process alive."""
    script = tmp_path / "blocked.py"
    script.write_text(textwrap.dedent("""
        import asyncio, sys, threading
        sys.path.insert(0, sys.argv[1])
        from tests.app.fake_backend import FakeBackend, finished_jobs, snapshot_of, TUNING_JOB
        from hpo_tui.app.app import make_app
        from hpo_tui.app.screens.dialogs import ConfirmDialog

        polling = threading.Event()

        class Hung(FakeBackend):
            def poll(self, name, cursor=None):
                print("polling", flush=True)
                polling.set()
                threading.Event().wait()  # forever

        jobs = finished_jobs()
        app = make_app(backend=Hung([snapshot_of(jobs, "Completed")], jobs=jobs), attach=TUNING_JOB,
                       start="dashboard", interval=3600.0)

        async def main():
            async with app.run_test(size=(100, 30)) as pilot:
                while not polling.is_set():  # the poll is blocked
                    await pilot.pause(0.05)
                await pilot.press("q")
                while not isinstance(app.screen, ConfirmDialog):
                    await pilot.pause(0.05)
                await pilot.press("enter")  # status unknown: the question; yes
            print("app closed", flush=True)

        asyncio.run(main())
    """))
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, str(script), str(root)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "polling" in result.stdout and "app closed" in result.stdout


async def test_escape_from_a_running_dashboard_keeps_a_way_back():
    backend = gated()
    backend.launch_gate.set()
    app = make_app(backend=backend, interval=3600.0, clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        configure = app.screen
        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "the dashboard")
        await settle(pilot)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is configure
        await wait_for_note(pilot, "ctrl+g comes back")

        await pilot.press("ctrl+g")  # the key back
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen) and app.screen.tuning_job == TUNING_JOB
        await pilot.press("escape")
        await pilot.pause()

        await pilot.press("ctrl+p")  # and the palette
        await pilot.pause()
        await palette_search(pilot, f"dashboard of {TUNING_JOB[:9]}")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "the dashboard from the palette")
        await pilot.press("escape")
        await pilot.pause()

        await pilot.press("ctrl+q")  # from configure: asks, with how to reattach
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        assert f"hpo-tui attach {TUNING_JOB}" in str(app.screen.query_one(".dialog-body").render())
        await pilot.click("#confirm")
        await pilot.pause()
    assert app.exit_hint and f"hpo-tui attach {TUNING_JOB}" in app.exit_hint


async def test_escape_from_an_attached_dashboard_opens_the_jobs_list_and_ctrl_n_a_configure(mid_run_backend):
    app = dashboard_app(mid_run_backend)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, TuningJobsScreen)
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, ConfigureScreen)
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert isinstance(app.screen, TuningJobsScreen)
        assert len(app.screen_stack) <= 4  # went back to the open jobs list, not a new one


def test_attach_to_a_missing_job_exits_with_a_message_before_the_app_opens(hpo_home: Path):
    record_tuning_job("some-other-job")  # a store exists, without that job
    hpo_tui = Path(sys.executable).parent / "hpo-tui"
    result = subprocess.run([str(hpo_tui), "attach", "nosuchjob"], capture_output=True, text=True, timeout=120,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 1
    assert "no local tuning job named 'nosuchjob'" in result.stderr and "hpo-tui jobs" in result.stderr
    assert "\x1b[" not in result.stdout  # no screen was drawn


async def test_a_missing_job_in_the_app_is_a_notification_and_back_to_the_jobs_list():
    jobs = mid_run_jobs()
    backend = FakeBackend([snapshot_of(jobs)], jobs=jobs)
    app = make_app(backend=backend, attach="no-such-job", start="dashboard", interval=3600.0, clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, TuningJobsScreen), "the jobs list")
        await wait_for_note(pilot, "no tuning job named 'no-such-job'")
        await settle(pilot)
        await pilot.press("q")  # nothing known to be running: no question
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmDialog)
    assert app.exit_hint is None


async def test_question_mark_works_on_every_screen_and_footers_show_the_main_keys(mid_run_backend):
    app = make_app(backend=mid_run_backend, start="jobs", interval=3600.0, clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert footer_keys(app.screen).get("Attach") in ("enter", "⏎")
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        body = str(app.screen.query_one(".dialog-body").render())
        assert "Attach" in body and "Tuning jobs" in body and "^n" in body, body
        assert "Cursor up" not in body, body
        await pilot.press("escape")

        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        assert footer_keys(app.screen).get("Detail") in ("enter", "⏎")
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert "^g" in str(app.screen.query_one(".dialog-body").render())
        await pilot.press("escape")

        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, ConfigureScreen)
        assert footer_keys(app.screen).get("Quit") == "^q"
        app.screen.query_one("#ranges-table").focus()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        body = str(app.screen.query_one(".dialog-body").render())
        assert "Launch" in body and "Quit" in body


async def test_command_palette_offers_the_dashboard_actions(mid_run_backend):
    app = dashboard_app(mid_run_backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await palette_search(pilot, "filter by status")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, FilterDialog), "the filter dialog")
        assert isinstance(app.screen, FilterDialog)


async def test_the_palette_finds_slice(mid_run_backend):
    app = dashboard_app(mid_run_backend)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"slice")
        await wait_until(pilot, lambda: "Search views" in " ".join(palette_options(app)), "the search views command")
