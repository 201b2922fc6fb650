"""Progress of a tuning job by its budget, and its ETA from the epochs its training jobs
reported so far.

Headless and shared: every Snapshot carries one (Snapshot.estimate, whichever backend
made it), and the TUI and `hpo-tui status` only print it. It imports nothing of ours,
so the view dataclasses build on it.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from statistics import mean
from typing import Any, Sequence

# hpo_tui.views builds on this module (Snapshot.estimate), so it cannot import the views:
# they are duck-typed here (a TrainingJobView and a TuningJobView).
TrainingJobView = TuningJobView = Any


@dataclass(frozen=True)
class ProgressEstimate:
    """How far a tuning job is, by its budget, and the seconds it has left (None: unknown yet)."""

    # 0..1 of the budget: each of the max_jobs training jobs counts 1 once it ended and the
    # share of its epochs done while it runs. Never 1 before the tuning job is done.
    fraction: float
    epochs_done: int
    epochs_total: int  # planned epochs of all max_jobs jobs (unstarted ones at the mean so far)
    remaining_seconds: float | None
    job_remaining: tuple[tuple[str, float], ...] = ()  # (training job, seconds left) of running jobs
    ended: int = 0  # training jobs that ended and count against the budget
    slots: int = 1  # the jobs that run at once, as the ETA assumed
    work_seconds: float | None = None  # seconds of work left over all jobs (ETA x slots at most)


def epochs_done(job: TrainingJobView) -> int:
    """Epochs a job reported: logs count epochs from 0, people count them from 1."""
    return 0 if job.last_epoch is None else job.last_epoch + 1


def epochs_planned(job: TrainingJobView, view: TuningJobView) -> int | None:
    """The epochs a job will run: its own num_epoch when tuned, else the spec's maximum."""
    raw = job.hyperparameters.get("num_epoch")
    if raw is not None:
        try:
            return max(1, int(float(raw)))
        except ValueError:
            pass
    return view.max_epochs


def job_slots(view: TuningJobView) -> int:
    """The training jobs that really run at once: the local engine's slots (one per core, or
    [local] concurrency, capped by max_parallel_jobs); max_parallel_jobs on SageMaker."""
    slots = view.job_slots if view.job_slots is not None else view.max_parallel_jobs
    return max(1, int(slots or 1))


def budget_jobs(view: TuningJobView, jobs: Sequence[TrainingJobView]) -> tuple[int, int]:
    """(training jobs that count against max_jobs, those of them that ended). A job that
    failed with a retryable error (its runner died) does not count: it is run again."""
    retryable = view.status_counters.retryable_error
    ended = sum(1 for j in jobs if j.is_terminal)
    return max(0, len(jobs) - retryable), max(0, ended - retryable)


def ended_of(view: TuningJobView) -> int:
    """Training jobs that ended and count against max_jobs, by the tuning job's counters (a
    retryable failure, lost with a dead runner, is run again and does not): the 7 of "7/9"."""
    c = view.status_counters
    return c.completed + c.stopped + c.non_retryable_error


def whole_percent(fraction: float) -> int:
    """The whole percent reached, floored: 99.9% is 99, never 100 before the end."""
    return math.floor(fraction * 100 + 1e-9)


def ended_at_text(status: str, ended: int, max_jobs: int) -> str | None:
    """What a Stopped or Failed tuning job shows instead of a percentage: "stopped at 7/9"."""
    if status not in ("Stopped", "Failed"):
        return None
    return f"{'stopped' if status == 'Stopped' else 'failed'} at {ended}/{max_jobs}"


# A running job's share of its budget unit stays below 1: only its end completes it.
RUNNING_SHARE_MAX = 0.99
# The fraction of a tuning job not done yet stays below this (99.9% prints as 99%).
UNDONE_MAX = 0.999


def _running_seconds(job: TrainingJobView, now: float) -> float | None:
    start = job.started_at or job.created_at
    if start is None:
        return None
    end = job.ended_at if job.ended_at is not None else now
    return max(0.0, end - start)


def estimate_progress(view: TuningJobView, jobs: Sequence[TrainingJobView], now: float) -> ProgressEstimate:
    """Progress weighted by epochs, and the time left, of a tuning job seen at `now`.

    The rate is the tuning job's seconds per epoch so far (start-up cost included,
    since every job pays it), so a job's time left is its epochs left at that rate --
    or at its own rate once it has reported epochs. Jobs not started yet run the
    mean planned epochs of those started; they are dealt to the parallel slots as
    they free up, which is how both backends schedule them.
    """
    finished_epochs = 0  # a finished job is complete at whatever epoch it ended
    started_planned: list[int] = []
    running: list[tuple[TrainingJobView, int, int | None]] = []
    spent, epochs_seen = 0.0, 0
    for job in jobs:
        done = epochs_done(job)
        planned = epochs_planned(job, view)
        if planned is not None:
            started_planned.append(planned)
        if job.is_terminal:
            finished_epochs += done
        else:
            running.append((job, done, planned))
        seconds = _running_seconds(job, now)
        if done and seconds is not None:
            spent += seconds
            epochs_seen += done
    rate = spent / epochs_seen if epochs_seen else None  # seconds per epoch, start-up included

    per_job = view.max_epochs if not started_planned else mean(started_planned)
    counted, ended = budget_jobs(view, jobs)
    unstarted = max(0, view.max_jobs - counted)
    if view.is_terminal:
        unstarted, running = 0, []
    elif view.status == "Stopping":
        unstarted = 0  # a stopping tuning job starts nothing more
    running_done = sum(done for _, done, _ in running)
    running_total = sum(max(done, planned or done) for _, done, planned in running)
    total = finished_epochs + running_total + (unstarted * per_job if per_job else 0)
    done_all = finished_epochs + running_done
    fraction = _budget_fraction(view, ended, running)

    remaining: dict[str, float] = {}
    for job, done, planned in running:
        if rate is None or planned is None:
            continue
        seconds = _running_seconds(job, now) or 0.0
        own_rate = seconds / done if done else rate
        remaining[job.name] = max(0.0, (planned - done) * own_rate) if done else max(0.0, planned * rate - seconds)

    eta: float | None
    if view.is_terminal:
        eta = 0.0
    elif rate is None or per_job is None or len(remaining) < len(running):
        eta = None  # no epoch reported yet (or a job's length unknown): nothing to go on
    else:
        # Running jobs hold their slots; later jobs start as the earliest slot frees up.
        # Unstarted jobs wait for the slots that really run (job_slots), not max_parallel_jobs.
        slots = list(remaining.values()) + [0.0] * max(0, job_slots(view) - len(remaining))
        heapq.heapify(slots)
        for _ in range(unstarted):
            heapq.heappush(slots, heapq.heappop(slots) + per_job * rate)
        eta = max(slots) if slots else 0.0
    work = None if eta is None else sum(remaining.values()) + (unstarted * per_job * rate if unstarted else 0.0)
    return ProgressEstimate(fraction=fraction, epochs_done=done_all, epochs_total=round(total),
                            remaining_seconds=eta, job_remaining=tuple(sorted(remaining.items())),
                            ended=ended, slots=job_slots(view), work_seconds=work)


def _budget_fraction(view: TuningJobView, ended: int, running: list) -> float:
    """Progress by the budget: ended jobs count 1 each, running ones their share of epochs.

    It never goes down while the budget is unchanged (a job's share only grows, and its end
    makes it 1), whatever the jobs' lengths: weighting by epochs moved it back each time a
    job longer than the mean so far started. 1 only once done: the tuning job Completed, or
    every job of the budget ended. A Stopped or Failed one stays at what it reached.
    """
    if view.status == "Completed":
        return 1.0
    budget = max(1, view.max_jobs)
    share = 0.0
    for _, done, planned in running:
        if planned:
            share += min(RUNNING_SHARE_MAX, done / planned)
    fraction = min(1.0, (ended + share) / budget)
    if ended < budget:
        fraction = min(fraction, UNDONE_MAX)
    return fraction
