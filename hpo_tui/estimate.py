"""Progress and ETA of a tuning job, from the epochs its training jobs reported so far.

Headless and shared: every Snapshot carries one (Snapshot.estimate, whichever backend
made it), and the TUI and `hpo-tui status` only print it. It imports nothing of ours,
so the view dataclasses build on it.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from statistics import mean
from typing import Any, Sequence

# hpo_tui.views builds on this module (Snapshot.estimate), so it cannot import the views:
# they are duck-typed here (a TrainingJobView and a TuningJobView).
TrainingJobView = TuningJobView = Any


@dataclass(frozen=True)
class ProgressEstimate:
    """How far a tuning job is, in epochs, and the seconds it has left (None: unknown yet)."""

    fraction: float  # 0..1, by the budget: ended jobs whole, running ones by their epochs
    epochs_done: int
    epochs_total: int  # planned epochs of all max_jobs jobs (unstarted ones at the mean so far)
    remaining_seconds: float | None
    job_remaining: tuple[tuple[str, float], ...] = ()  # (training job, seconds left) of running jobs


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


def _running_seconds(job: TrainingJobView, now: float) -> float | None:
    start = job.started_at or job.created_at
    if start is None:
        return None
    end = job.ended_at if job.ended_at is not None else now
    return max(0.0, end - start)


def budget_fraction(view: TuningJobView, jobs: Sequence[TrainingJobView],
                    running: Sequence[tuple[TrainingJobView, int, int | None]]) -> float:
    """Progress by the budget: each of the max_jobs training jobs is one equal share, a job
    that ended fills its share whatever its log told (an attach reads no log of the jobs
    that ended before it: they are done all the same), a running job fills the part of its
    planned epochs it reported. It never goes back while the budget stays the same: epochs
    only grow and a job only ends."""
    budget = max(view.max_jobs, len(jobs))
    if not budget:
        return 0.0
    shares = float(len(jobs) - len(running))
    for _, done, planned in running:
        if planned:
            shares += min(1.0, done / planned)
    return min(1.0, shares / budget)


def estimate_progress(view: TuningJobView, jobs: Sequence[TrainingJobView], now: float) -> ProgressEstimate:
    """Progress by the budget (budget_fraction), the epochs reported, and the time left, of
    a tuning job seen at `now`.

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
    unstarted = max(0, view.max_jobs - len(jobs))
    if view.is_terminal:
        unstarted, running = 0, []
    running_done = sum(done for _, done, _ in running)
    running_total = sum(max(done, planned or done) for _, done, planned in running)
    total = finished_epochs + running_total + (unstarted * per_job if per_job else 0)
    done_all = finished_epochs + running_done
    fraction = 1.0 if view.is_terminal else budget_fraction(view, jobs, running)

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
        slots = list(remaining.values()) + [0.0] * max(0, max(1, view.max_parallel_jobs) - len(remaining))
        heapq.heapify(slots)
        for _ in range(unstarted):
            heapq.heappush(slots, heapq.heappop(slots) + per_job * rate)
        eta = max(slots) if slots else 0.0
    return ProgressEstimate(fraction=min(1.0, fraction), epochs_done=done_all, epochs_total=round(total),
                            remaining_seconds=eta, job_remaining=tuple(sorted(remaining.items())))
