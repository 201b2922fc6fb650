"""The TUI for daily use (issue 12, part A): nothing typed is lost, quitting never strands a
job or hangs, one navigation model, keys anyone can find, clone and copy best."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Footer, Input, Static

from hpo_tui.app.app import make_app
from hpo_tui.app.screens.configure import ConfigureScreen
from hpo_tui.app.screens.dashboard import DashboardScreen
from hpo_tui.app.screens.dialogs import ConfirmDialog, HelpScreen
from hpo_tui.app.screens.launch_check import LaunchCheckDialog
from hpo_tui.app.screens.jobs import TuningJobsScreen
from hpo_tui.spec import CategoricalParameter, ContinuousParameter, TuningSpec
from tests.app.conftest import dashboard_app, record_tuning_job, settle
from tests.app.fake_backend import NOW, TUNING_JOB, FakeBackend, finished_jobs, mid_run_jobs, snapshot_of

SIZE = (120, 40)
WAIT = 30.0  # guards against hangs, not speed


async def wait_until(pilot: Pilot, condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        await pilot.pause(0.05)


@pytest.fixture(autouse=True)
def _keep_every_notification(monkeypatch: pytest.MonkeyPatch) -> None:
    """Record every notification as it is raised: a toast expires after a few seconds, and on a
    loaded machine a test can look after that."""
    from textual.app import App

    raise_notification = App.notify

    def notify(self, message, *args, **kwargs):
        self.__dict__.setdefault("_seen_notifications", []).append(str(message))
        return raise_notification(self, message, *args, **kwargs)

    monkeypatch.setattr(App, "notify", notify)


def notifications(app) -> str:
    return "\n".join(getattr(app, "_seen_notifications", []) + [str(n.message) for n in app._notifications])


async def wait_for_note(pilot: Pilot, text: str) -> None:
    """Wait for a notification (posted as a message) that contains text."""
    await wait_until(pilot, lambda: text in notifications(pilot.app), f"a notification saying {text!r}")


def footer_keys(screen) -> dict[str, str]:
    """description -> key, as the footer shows them."""
    from textual.widgets._footer import FooterKey

    return {key.description: key.key_display for key in screen.query_one(Footer).query(FooterKey)}


class GatedBackend(FakeBackend):
    """Launch and poll wait at gates, as a slow AWS call or a locked store would."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.launch_gate = threading.Event()
        self.poll_gate = threading.Event()
        self.poll_gate.set()

    def launch(self, spec: Any) -> str:
        self.launched.append(spec)
        self.launch_gate.wait(WAIT)
        return TUNING_JOB

    def poll(self, name: str, cursor: Any = None):
        self.poll_gate.wait(WAIT)
        return super().poll(name, cursor)


def gated(jobs=None) -> GatedBackend:
    jobs = jobs or mid_run_jobs()
    return GatedBackend([snapshot_of(jobs)], jobs=jobs)


# --- defect 1: nothing typed is lost ---------------------------------------------------------


async def test_static_hyperparameter_typed_but_not_set_blocks_launch_at_its_field():
    backend = gated()
    backend.launch_gate.set()
    app = make_app(backend=backend, interval=3600.0, clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, ConfigureScreen)
        screen.query_one("#static-key", Input).focus()
        await pilot.press(*"max_train_samples")
        screen.query_one("#static-value", Input).focus()
        await pilot.press(*"3000")
        await pilot.pause()
        error = str(screen.query_one("#static-hps-error").render())
        assert "max_train_samples = 3000 is typed but not set" in error and "press Set" in error
        assert "1 problem" in str(screen.query_one("#problem-count").render())
        assert screen.query_one("#launch", Button).disabled

        await pilot.press("ctrl+l")  # blocked, with the reason, and the Set button focused
        await pilot.pause()
        assert backend.launched == []
        await wait_for_note(pilot, "typed but not set")
        assert app.focused is screen.query_one("#static-add", Button)

        await pilot.press("enter")  # Set
        await pilot.pause()
        assert "ready to launch" in str(screen.query_one("#problem-count").render())
        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "the dashboard")
        assert backend.launched[0].estimator.hyperparameters == {"batch_size": 100, "max_train_samples": 3000}


async def test_ctrl_l_on_an_invalid_form_says_why_and_focuses_the_field():
    backend = gated()
    app = make_app(backend=backend, interval=3600.0, clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        field = screen.query_one("#max-parallel-jobs", Input)
        field.value = "12"  # more than max_jobs (9)
        screen.query_one("#ranges-table").focus()
        await pilot.pause()
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert backend.launched == []
        await wait_for_note(pilot, "Cannot launch: 1 problem. First: max_parallel_jobs")
        assert app.focused is field


# --- defect 2: quitting never strands a job; one navigation model ----------------------------


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
        await pilot.press(*f"dashboard of {TUNING_JOB[:9]}")
        await pilot.pause(0.3)
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


async def test_attaching_from_the_jobs_list_knows_a_completed_job_is_not_running():
    jobs = finished_jobs()
    backend = GatedBackend([snapshot_of(jobs, "Completed", ended=NOW - 60.0)], jobs=jobs)
    app = make_app(backend=backend, start="jobs", interval=3600.0, clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        backend.poll_gate.clear()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("q")  # before the dashboard's first poll: the list said Completed
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmDialog)
        backend.poll_gate.set()
    assert app.exit_hint is None


# --- defect 3: quitting never waits for a worker ---------------------------------------------


def test_quit_never_waits_for_a_blocked_poll(tmp_path: Path):
    """A poll that never returns (a hung network call) must not keep the process alive."""
    script = tmp_path / "blocked.py"
    script.write_text(textwrap.dedent("""
        import asyncio, sys, threading
        sys.path.insert(0, sys.argv[1])
        from tests.app.fake_backend import FakeBackend, finished_jobs, snapshot_of, TUNING_JOB
        from hpo_tui.app.app import make_app

        class Hung(FakeBackend):
            def poll(self, name, cursor=None):
                print("polling", flush=True)
                threading.Event().wait()  # forever

        jobs = finished_jobs()
        app = make_app(backend=Hung([snapshot_of(jobs, "Completed")], jobs=jobs), attach=TUNING_JOB,
                       start="dashboard", interval=3600.0)

        async def main():
            async with app.run_test(size=(100, 30)) as pilot:
                while app.screen.snapshot is None and not any(w.is_running for w in app.workers):
                    await pilot.pause(0.05)
                await pilot.pause(0.2)
                await pilot.press("q")
                await pilot.pause(0.2)
                await pilot.press("enter")  # status unknown: the question; yes
            print("app closed", flush=True)

        asyncio.run(main())
    """))
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, str(script), str(root)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "polling" in result.stdout and "app closed" in result.stdout


# --- defect 9: attach to a missing tuning job --------------------------------------------------


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


# --- SageMaker launch confirmation ------------------------------------------------------------


async def test_a_sagemaker_launch_is_confirmed_with_instances_jobs_and_parallel_count():
    backend = gated()
    backend.launch_gate.set()
    spec = TuningSpec(backend="sagemaker")
    spec.sagemaker.role_arn = "arn:aws:iam::123456789012:role/SageMakerRole"
    spec.estimator.instance_type, spec.estimator.instance_count = "ml.c5.2xlarge", 2
    app = make_app(backend=backend, spec=spec, interval=3600.0, clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert isinstance(app.screen, LaunchCheckDialog)  # with the account checks (tests/sagemaker)
        body = str(app.screen.query_one(".dialog-body").render())
        assert "9 training jobs × 2 × ml.c5.2xlarge, 3 in parallel" in body
        assert "up to 6 instances at once" in body
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ConfigureScreen) and backend.launched == []
        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: isinstance(app.screen, LaunchCheckDialog)
                         and not app.screen.query_one("#confirm").disabled, "Launch enabled after the checks")
        await pilot.click("#confirm")
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "the dashboard")
        assert backend.launched[0].backend == "sagemaker"


# --- keys anyone can find ----------------------------------------------------------------------


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


# --- clone and copy best ----------------------------------------------------------------------


def _reference_like_spec() -> TuningSpec:
    spec = TuningSpec()
    spec.ranges = {"optimizer": CategoricalParameter(["sgd", "Adam"]), "learning_rate": ContinuousParameter(0.02, 0.3)}
    spec.estimator.hyperparameters = {"batch_size": 64, "num_epoch": 2}
    spec.max_jobs, spec.max_parallel_jobs = 5, 2
    spec.tuning_job_name = "done-before"
    return spec


async def test_new_tuning_job_from_a_listed_one_opens_configure_prefilled():
    record_tuning_job("done-before", _reference_like_spec())
    app = make_app(start="jobs", interval=3600.0)  # the real local backend and store
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.screen.jobs, "the jobs list")
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfigureScreen), "the configure screen")
        spec = app.screen.current_spec()
        assert spec.estimator.hyperparameters == {"batch_size": 64, "num_epoch": 2}
        assert set(spec.ranges) == {"optimizer", "learning_rate"} and spec.ranges["learning_rate"].max == 0.3
        assert (spec.max_jobs, spec.max_parallel_jobs) == (5, 2)
        assert spec.tuning_job_name is None  # a new name is generated at launch
        await wait_for_note(pilot, "New tuning job from done-before")


@pytest.mark.parametrize("start", ["dashboard", "jobs"])
async def test_new_tuning_job_from_a_stopped_one_warm_starts_from_it(start):
    # A Stopped tuning job stays stopped (resume refuses it); `n` offers the way on: a warm start.
    record_tuning_job("stopped-before", _reference_like_spec(), status="Stopped",
                      best={"optimizer": "Adam", "learning_rate": "0.0871"})
    app = make_app(attach="stopped-before" if start == "dashboard" else None, start=start, interval=3600.0)
    async with app.run_test(size=SIZE) as pilot:
        if start == "dashboard":
            await wait_until(pilot, lambda: app.screen.snapshot is not None, "the first poll")
        else:
            await wait_until(pilot, lambda: app.screen.jobs, "the jobs list")
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfigureScreen), "the configure screen")
        spec = app.screen.current_spec()
        assert spec.warm_start.parents == ["stopped-before"]
        assert spec.tuning_job_name is None
        await wait_for_note(pilot, "warm-starting from stopped-before")


async def test_copy_best_hyperparameters_as_cli_arguments_or_toml():
    record_tuning_job("done-before", _reference_like_spec(),
                      best={"optimizer": "Adam", "learning_rate": "0.0871"})
    app = make_app(attach="done-before", start="dashboard", interval=3600.0)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.screen.snapshot is not None, "the first poll")
        await pilot.press("y")
        await wait_until(pilot, lambda: app.clipboard, "the clipboard")
        assert app.clipboard == "--batch_size 64 --num_epoch 2 --optimizer Adam --learning_rate 0.0871"
        await wait_for_note(pilot, app.clipboard)
        await pilot.press("Y")
        await wait_until(pilot, lambda: app.clipboard.startswith("["), "the TOML")
        assert app.clipboard == ('[estimator.hyperparameters]\nbatch_size = 64\nnum_epoch = 2\n'
                                 'optimizer = "Adam"\nlearning_rate = 0.0871\n')


async def test_copy_best_says_so_when_nothing_has_an_objective_yet():
    jobs = [j for j in mid_run_jobs() if j.status == "InProgress"]
    backend = FakeBackend([snapshot_of(jobs)], jobs=jobs)
    app = dashboard_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        await wait_for_note(pilot, "nothing to copy")
        assert app.clipboard == ""


@pytest.mark.parametrize("start", ["dashboard", "jobs"])
async def test_clone_on_a_backend_that_cannot_give_the_spec_back_says_so(start, mid_run_backend):
    app = make_app(backend=mid_run_backend, attach=TUNING_JOB, start=start, interval=3600.0, clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await wait_for_note(pilot, "cannot be read back yet")
        assert not isinstance(app.screen, ConfigureScreen)


async def test_resume_from_the_dashboard_asks_first_and_a_stopped_job_is_offered_a_warm_start():
    # A Stopped tuning job is never resumed: R asks, and offers a new one warm-starting from it.
    record_tuning_job("stopped-before", _reference_like_spec(), status="Stopped",
                      best={"optimizer": "Adam", "learning_rate": "0.0871"})
    app = make_app(attach="stopped-before", start="dashboard", interval=3600.0)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.screen.snapshot is not None, "the first poll")
        await pilot.press("R")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
        assert "stays stopped" in str(app.screen.query_one(".dialog-title").render())
        assert "stopped at 1/5" in " ".join(str(app.screen.query_one(".dialog-body").render()).split())
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfigureScreen), "the configure screen")
        assert app.screen.current_spec().warm_start.parents == ["stopped-before"]
    from hpo_tui.backends.local import LocalBackend

    backend = LocalBackend()
    try:
        assert backend.poll("stopped-before").tuning_job.status == "Stopped"
    finally:
        backend.close()


async def test_resume_of_a_job_whose_runner_died_runs_only_once_confirmed():
    jobs = finished_jobs()
    backend = FakeBackend([snapshot_of(jobs, "Failed", ended=NOW - 60.0)], jobs=jobs)
    app = dashboard_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("R")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
        body = str(app.screen.query_one(".dialog-body").render())
        assert "ended and are kept" in body
        await pilot.press("escape")  # cancelled: nothing resumed
        await settle(pilot)
        assert backend.resumed == []
        await pilot.press("R")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
        await pilot.press("enter")
        await wait_until(pilot, lambda: backend.resumed == [TUNING_JOB], "the resume")
        await wait_for_note(pilot, f"Resumed {TUNING_JOB}")


async def test_the_jobs_list_shows_what_status_warns_about():
    """A runner not responding (or a stalled job) is marked in the jobs list, as `status` says it."""
    jobs = finished_jobs()
    frame = snapshot_of(jobs, "InProgress")
    warned = replace(frame.tuning_job, warning="runner not responding (42 s); `kill -CONT 4242` resumes it")
    backend = FakeBackend([replace(frame, tuning_job=warned)], jobs=jobs)
    app = make_app(backend=backend, start="jobs", interval=3600.0, clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        assert table.get_cell_at((0, 1)).plain == "InProgress ⚠"
        status = str(app.screen.query_one("#jobs-status", Static).render())
        assert f"⚠ {warned.name}: runner not responding (42 s)" in status
