"""A whole local session as a Hypothesis state machine: a real runner and real training
processes (the fake trainer), a real SQLite store, and the user's moves in any order --
poll, SIGKILL the runner, SIGKILL a training job, resume, stop, attach a second watcher,
export, list, time passing. Every rule of hpo_tui.invariants is checked after every step.

Shared by tests/lifecycle/test_local_session.py (bounded) and bench/lifecycle.py (long).
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from hpo_tui import invariants, paths
from hpo_tui.backends.base import BackendError
from hpo_tui.backends.local import LocalBackend
from hpo_tui.engine.store import Store
from hpo_tui.report import export_rows, render_status
from hpo_tui.spec import Channels, CompletionCriteria, ContinuousParameter, Estimator, LocalSettings, TuningSpec
from hpo_tui.views import Snapshot
from tests.conftest import processes_with_home

FAKE_TRAIN = Path(__file__).resolve().parent.parent / "engine" / "fake_train.py"


@dataclass
class Counts:
    """What the machines did, for bench/lifecycle.py."""

    examples: int = 0
    steps: int = 0
    checks: int = 0
    failures: int = 0
    refusals: dict[str, int] = field(default_factory=dict)


COUNTS = Counts()


class Watcher:
    """One dashboard or `status --watch`: its own backend (own reader), its own cursor, and
    the last snapshot it saw, against which the next is checked."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.backend = LocalBackend()
        self.cursor: Any = None
        self.last: Snapshot | None = None
        self.resumed_since = False

    def poll(self) -> Snapshot:
        snap = self.backend.poll(self.name, self.cursor, points=False).prepare(self.last)
        found = invariants.check_snapshot(snap)
        if self.last is not None:
            found += invariants.check_transition(self.last, snap, resumed=self.resumed_since)
        COUNTS.checks += 1 + (self.last is not None)
        invariants.assert_holds(found)
        self.cursor, self.last, self.resumed_since = snap.cursor, snap, False
        return snap

    def close(self) -> None:
        self.backend.close()


class LocalSession(RuleBasedStateMachine):
    """One tuning job's life on the local backend, driven by the moves a user makes."""

    def __init__(self) -> None:
        super().__init__()
        self.home = Path(tempfile.mkdtemp(prefix="lifecycle-"))
        self.saved_home = os.environ.get("HPO_TUI_HOME")
        os.environ["HPO_TUI_HOME"] = str(self.home)
        os.environ.setdefault("HPO_TUI_STOP_GRACE", "0.5")
        self.backend = LocalBackend()
        self.watchers: list[Watcher] = []
        self.name = ""
        self.stopped_seen = False
        COUNTS.examples += 1

    # -- the tuning job -------------------------------------------------------------------

    @initialize(max_jobs=st.integers(2, 5), parallel=st.integers(1, 3), concurrency=st.sampled_from([None, 1, 2]),
                epochs=st.integers(1, 4), sleep=st.sampled_from([0.05, 0.15, 0.3]),
                goal=st.sampled_from([None, None, 0.6]))
    def launch(self, max_jobs: int, parallel: int, concurrency: int | None, epochs: int, sleep: float,
               goal: float | None = None) -> None:
        """goal: a completion criterion (a target objective value), which may end the
        tuning job Completed before its budget is spent."""
        channels = self.home / "channels"
        for sub in ("train", "test"):
            (channels / sub).mkdir(parents=True, exist_ok=True)
        spec = TuningSpec(
            estimator=Estimator(entry_point=FAKE_TRAIN.name, source_dir=str(FAKE_TRAIN.parent),
                                hyperparameters={"num_epoch": epochs, "sleep": sleep}, base_job_name="life"),
            ranges={"learning_rate": ContinuousParameter(0.001, 0.5, "Logarithmic")},
            strategy="Random", max_jobs=max_jobs, max_parallel_jobs=min(parallel, max_jobs), random_seed=3,
            channels=Channels(train=str(channels / "train"), test=str(channels / "test")),
            local=LocalSettings(concurrency=concurrency),
            completion=CompletionCriteria(target_objective_value=goal),
        )
        self.name = self.backend.launch(spec)
        self.watchers.append(Watcher(self.name))
        # The runner takes a moment to start: the session begins once a training job runs.
        self._until(lambda s: bool(s.training_jobs) or s.tuning_job.is_terminal, 30.0)
        self._step()

    def _until(self, condition: Any, timeout: float) -> Snapshot:
        """Poll (each poll checked) until condition(snapshot) or timeout seconds passed."""
        deadline = time.monotonic() + timeout
        while True:
            snap = self._fresh()
            if condition(snap) or time.monotonic() >= deadline:
                return snap
            time.sleep(0.05)

    def _step(self) -> None:
        COUNTS.steps += 1

    def _fresh(self) -> Snapshot:
        return self.watchers[0].poll()

    def _rows(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        store = Store.reader(paths.store_path())
        try:
            return store.tuning_job(self.name), store.training_jobs(self.name)
        finally:
            store.close()

    def _refused(self, kind: str) -> None:
        COUNTS.refusals[kind] = COUNTS.refusals.get(kind, 0) + 1

    # -- moves --------------------------------------------------------------------------------

    @rule(watcher=st.integers(0, 3))
    def poll(self, watcher: int) -> None:
        self.watchers[watcher % len(self.watchers)].poll()
        self._step()

    @precondition(lambda self: len(self.watchers) < 3)
    @rule()
    def attach_another_watcher(self) -> None:
        self.watchers.append(Watcher(self.name))
        self.watchers[-1].poll()
        self._step()

    @rule(events=st.integers(1, 3))
    def time_passes(self, events: int) -> None:
        """Until the session moves on (an epoch, a job's start or end, a status), `events`
        times, or 5 s pass each (nothing more happens once it ended)."""
        for _ in range(events):
            before = self._fresh()
            key = lambda s: (s.tuning_job.status, [(j.name, j.status, j.last_epoch) for j in s.training_jobs])  # noqa: E731
            if before.tuning_job.is_terminal:
                break  # nothing more happens to a tuning job that ended
            self._until(lambda s: key(s) != key(before), 5.0)
        self._step()

    @rule()
    def sigkill_the_runner(self) -> None:
        row, _ = self._rows()
        if row["runner_pid"] and row["status"] in ("InProgress", "Stopping"):
            with contextlib.suppress(ProcessLookupError):
                os.kill(row["runner_pid"], signal.SIGKILL)
        self._step()

    @rule(which=st.integers(0, 4))
    def sigkill_a_training_job(self, which: int) -> None:
        _, jobs = self._rows()
        running = [j for j in jobs if j["status"] in ("InProgress", "Stopping") and j["pgid"]]
        if running:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(running[which % len(running)]["pgid"], signal.SIGKILL)
        self._step()

    @rule()
    def stop(self) -> None:
        self.backend.stop(self.name)
        self._step()

    @rule()
    def resume(self) -> None:
        before = self._fresh().tuning_job.status
        try:
            self.backend.resume(self.name)
        except BackendError as err:
            text = str(err)
            if before == "Stopped":
                assert "stays stopped" in text and "warm" in text, text
            self._refused(before)
            return
        finally:
            self._step()
        # The state a resume may start from: a Failed tuning job (its runner died), never one
        # that was Stopped or Completed.
        assert before not in ("Stopped", "Completed"), f"resume restarted a {before} tuning job"
        for w in self.watchers:
            w.resumed_since = True

    @rule()
    def export_and_status(self) -> None:
        snap = self._fresh()
        invariants.assert_holds(invariants.check_status_text(snap, render_status(snap)))
        invariants.assert_holds(invariants.check_export(snap, export_rows(snap)[1]))
        COUNTS.checks += 2
        self._step()

    @rule()
    def list_jobs(self) -> None:
        from hpo_tui.cli import main

        before = self._fresh()
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert main(["jobs"]) == 0
        after = self._fresh()
        line = next(line for line in out.getvalue().splitlines() if line.startswith(self.name))
        done, budget = (int(x) for x in line.split()[3].split("/"))
        assert budget == after.tuning_job.max_jobs, line
        assert invariants.ended_jobs(before) <= done <= invariants.ended_jobs(after) <= budget, line
        COUNTS.checks += 1
        self._step()

    # -- after every step ------------------------------------------------------------------------

    @invariant()
    def the_numbers_hold(self) -> None:
        if not self.name:
            return
        snap = self._fresh()
        if snap.tuning_job.status == "Stopped":
            self.stopped_seen = True
        elif self.stopped_seen:
            raise AssertionError(f"a Stopped tuning job is now {snap.tuning_job.status}")

    def teardown(self) -> None:
        try:
            for w in self.watchers:
                w.close()
            self.backend.close()
        finally:
            for _ in range(5):
                pids = processes_with_home(self.home)
                if not pids:
                    break
                for pid in pids:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                time.sleep(0.1)
            with contextlib.suppress(ChildProcessError):
                while os.waitpid(-1, os.WNOHANG)[0]:
                    pass
            if self.saved_home is None:
                os.environ.pop("HPO_TUI_HOME", None)
            else:
                os.environ["HPO_TUI_HOME"] = self.saved_home
            import shutil

            shutil.rmtree(self.home, ignore_errors=True)
