"""Helpers shared by the app tests: build the app on scripted data, let it settle, wait for
a condition or a notification, count table writes, and a backend whose calls wait at gates."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any, Callable

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from hpo_tui.app.widgets.dashboard_charts import DashboardCharts
from hpo_tui.spec import CategoricalParameter, ContinuousParameter, TuningSpec
from tests.app.fake_backend import (
    NOW,
    TUNING_JOB,
    FakeBackend,
    diverged_run_jobs,
    diverged_run_snapshot,
    finished_jobs,
    mid_run_jobs,
    snapshot_of,
)

SIZE = (120, 40)
WAIT = 30.0  # how long a gate of GatedBackend holds a call: guards against hangs, not speed
# How long wait_until waits: a guard against hangs (real jobs on a loaded machine), not speed.
UNTIL = 180.0


async def settle(pilot: Pilot, pause: float = 0.05) -> None:
    """Wait until the workers finished and their messages were handled, and the charts show
    their last drawing (they are built on a worker thread that starts at a frame)."""
    await pilot.pause(pause)
    await pilot.app.workers.wait_for_complete()
    # Messages posted by the workers, then the table's idle-time column sizing.
    await pilot.pause(pause)
    await pilot.pause()
    for _ in range(200):  # a guard against a hang, not a timing assertion
        if all(charts.is_current for screen in pilot.app.screen_stack for charts in screen.query(DashboardCharts)):
            break
        await pilot.pause(0.02)
        await pilot.app.workers.wait_for_complete()


async def started(pilot: Pilot) -> None:
    """Wait until the app shows its start screen: it is pushed once the app's own mount is
    over (HpoApp.on_mount), as a user would wait for it to appear."""
    for _ in range(500):  # a guard against a hang, not a timing assertion
        if len(pilot.app.screen_stack) > 1 and pilot.app.screen.is_mounted:
            break
        await pilot.pause(0.01)
    await pilot.pause()


@pytest.fixture(autouse=True)
def run_test_waits_for_the_start_screen(monkeypatch):
    """Pilot's run_test returns once the app's own mount is over, and the start screen is
    pushed after it (HpoApp.on_mount): the tests start once it is up and settled, as a
    user would see it (its footer built, its first focus given)."""
    from hpo_tui.app.app import HpoApp

    run_test = HpoApp.run_test

    @contextlib.asynccontextmanager
    async def waiting(self, *args, **kwargs):
        async with run_test(self, *args, **kwargs) as pilot:
            await started(pilot)
            yield pilot

    monkeypatch.setattr(HpoApp, "run_test", waiting)


@pytest.fixture
def snap_compare(snap_compare):
    """The snapshot plugin's snap_compare, whose run_before starts once the start screen is
    up (the plugin runs it as soon as the app's mount is over)."""

    def compare(app, *args, run_before=None, **kwargs):
        async def before(pilot: Pilot) -> None:
            await started(pilot)
            if run_before is not None:
                result = run_before(pilot)
                if result is not None:
                    await result

        return snap_compare(app, *args, run_before=before, **kwargs)

    return compare


@pytest.fixture
def mid_run_backend() -> FakeBackend:
    jobs = mid_run_jobs()
    return FakeBackend([snapshot_of(jobs)], jobs=jobs)


@pytest.fixture
def finished_backend() -> FakeBackend:
    jobs = finished_jobs()
    return FakeBackend([snapshot_of(jobs, "Completed", ended=NOW - 60.0)], jobs=jobs)


def dashboard_app(backend: FakeBackend, **kwargs):
    from hpo_tui.app.app import make_app

    # A long interval: the test decides when to poll again (r); the clock is frozen.
    return make_app(backend=backend, attach=TUNING_JOB, start="dashboard", interval=3600.0,
                    clock=lambda: NOW, **kwargs)


def record_tuning_job(name: str, spec=None, *, status: str = "Completed",
                      best: dict[str, str] | None = None) -> None:
    """Write a finished tuning job (and, with best, one Completed training job) into the real
    local store, as a runner would have left it: no process is started."""
    import json
    import time

    from hpo_tui import paths
    from hpo_tui.engine.store import Store, spec_to_json
    from hpo_tui.spec import TuningSpec

    spec = spec or TuningSpec()
    now = time.time()
    folder = paths.jobs_dir() / name
    writer = Store.writer(paths.store_path())
    try:
        with writer.write():
            writer.insert("tuning_jobs", dict(
                name=name, spec_json=spec_to_json(spec), status=status, strategy=spec.strategy,
                objective_name=spec.objective.name, objective_type=spec.objective.type,
                max_jobs=spec.max_jobs or 1,
                tuned_parameters=json.dumps(list(spec.ranges)), created_at=now - 60, ended_at=now - 1,
                folder=str(folder)))
            if best is not None:
                writer.insert("training_jobs", dict(
                    name=f"{name}-001-abcd", tuning_job=name, launch_index=0, status="Completed",
                    objective_status="Succeeded", hyperparameters=json.dumps(best), final_objective=0.97,
                    best_objective=0.97, last_epoch=1, created_at=now - 50, started_at=now - 49,
                    ended_at=now - 2, log_path=str(folder / "001.log")))
    finally:
        writer.close()


def row_order(table: DataTable) -> list[str]:
    """The row keys in the order the table shows them."""
    return [row.key.value for row in table.ordered_rows]


def cursor_key(table: DataTable) -> str:
    """The key of the row under the cursor."""
    return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value


class WriteCounter:
    """Counts the table writes (cell updates, add_row, remove_row) and lets them through.

    The training-jobs table writes cells through its own _set_cell (it keeps the other
    cells' renders); other tables through DataTable.update_cell."""

    def __init__(self, table: DataTable) -> None:
        self.updates: list[tuple[str, str]] = []
        self.adds: list[str] = []
        self.removes: list[str] = []
        cell_writer = "_set_cell" if hasattr(table, "_set_cell") else "update_cell"
        update_cell, add_row, remove_row = getattr(table, cell_writer), table.add_row, table.remove_row

        def counting_update(row_key, column_key, value, **kw):
            self.updates.append((str(getattr(row_key, "value", row_key)), str(getattr(column_key, "value", column_key))))
            return update_cell(row_key, column_key, value, **kw)

        def counting_add(*cells, **kw):
            self.adds.append(kw.get("key"))
            return add_row(*cells, **kw)

        def counting_remove(row_key):
            self.removes.append(str(getattr(row_key, "value", row_key)))
            return remove_row(row_key)

        setattr(table, cell_writer, counting_update)
        table.add_row, table.remove_row = counting_add, counting_remove

    @property
    def total(self) -> int:
        return len(self.updates) + len(self.adds) + len(self.removes)


def screen_text(app) -> list[str]:
    """The text of every line of the screen, as drawn."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def diverged_app():
    return dashboard_app(FakeBackend([diverged_run_snapshot()], jobs=diverged_run_jobs()))


def job_named(index: int) -> str:
    return diverged_run_jobs()[index].name


async def wait_until(pilot: Pilot, condition: Callable[[], bool], what: str, timeout: float = UNTIL) -> None:
    """Let the app run until condition() holds; fail naming what after timeout seconds."""
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


def palette_options(app) -> list[str]:
    """The prompts the open command palette lists, best match first (none when it is closed)."""
    from textual.command import CommandList

    lists = app.screen.query(CommandList)
    if not lists:
        return []
    commands = lists.first()
    return [str(commands.get_option_at_index(i).prompt) for i in range(commands.option_count)]


async def palette_search(pilot: Pilot, text: str) -> None:
    """Type text into the open command palette; wait until its search is over and the best
    match, highlighted (what enter runs), holds text."""
    from textual.command import CommandList

    await pilot.press(*text)

    def found() -> bool:
        lists = pilot.app.screen.query(CommandList)
        options = palette_options(pilot.app)
        return bool(options) and lists.first().highlighted == 0 and text.lower() in options[0].lower()

    await wait_until(pilot, found, f"the palette's best match for {text!r}")
    await pilot.app.workers.wait_for_complete()
    await wait_until(pilot, found, f"the palette's best match for {text!r} once its search is over")


async def wait_for_note(pilot: Pilot, text: str) -> None:
    """Wait for a notification (posted as a message) that contains text."""
    await wait_until(pilot, lambda: text in notifications(pilot.app), f"a notification saying {text!r}")


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


def reference_like_spec() -> TuningSpec:
    """A finished-looking tuning job's spec shaped like the reference workflow (optimizer and
    learning rate ranges, 2 epochs, 5 jobs 2 at a time), for the jobs list's clone and resume."""
    spec = TuningSpec()
    spec.ranges = {"optimizer": CategoricalParameter(["sgd", "Adam"]), "learning_rate": ContinuousParameter(0.02, 0.3)}
    spec.estimator.hyperparameters = {"batch_size": 64, "num_epoch": 2}
    spec.max_jobs, spec.max_parallel_jobs = 5, 2
    spec.tuning_job_name = "done-before"
    return spec
