"""Whole local sessions, in any order of the user's moves, keep every invariant
(hpo_tui.invariants) after every step: Hypothesis drives tests/lifecycle/local_session.py.

Bounded here (a few examples of a dozen steps, well under 60 s); bench/lifecycle.py runs
the same machine for thousands of examples. A counter-example it finds is replayed below
as a fixed sequence of moves.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

from tests.lifecycle.local_session import LocalSession

SESSION_SETTINGS = settings(max_examples=8, stateful_step_count=12, deadline=None, derandomize=True,
                            suppress_health_check=list(HealthCheck), database=None)


class TestLocalSession(LocalSession.TestCase):
    settings = SESSION_SETTINGS


def replay(*moves: tuple[str, dict], **launch) -> None:
    """Run one session through the given moves, checking the invariants after each, as
    Hypothesis does."""
    machine = LocalSession()
    try:
        machine.launch(**{"max_jobs": 4, "parallel": 2, "concurrency": None, "epochs": 3, "sleep": 0.15,
                          **launch})
        machine.the_numbers_hold()
        for name, args in moves:
            getattr(machine, name)(**args)
            machine.the_numbers_hold()
    finally:
        machine.teardown()


def test_the_issues_sequence_kill_resume_stop_resume_keeps_the_stop():
    replay(("time_passes", {"events": 2}), ("sigkill_the_runner", {}), ("poll", {"watcher": 0}),
           ("resume", {}), ("time_passes", {"events": 1}), ("stop", {}), ("time_passes", {"events": 2}),
           ("resume", {}), ("attach_another_watcher", {}), ("list_jobs", {}), ("export_and_status", {}),
           ("time_passes", {"events": 1}), ("resume", {}), ("poll", {"watcher": 1}))


def test_a_killed_training_job_and_a_killed_runner_then_resume_to_the_end():
    replay(("time_passes", {"events": 1}), ("sigkill_a_training_job", {"which": 0}),
           ("time_passes", {"events": 1}), ("sigkill_the_runner", {}), ("export_and_status", {}),
           ("resume", {}), ("attach_another_watcher", {}), ("time_passes", {"events": 2}),
           ("list_jobs", {}), ("poll", {"watcher": 1}), max_jobs=3, parallel=3, concurrency=1, epochs=2)
