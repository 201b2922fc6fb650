"""The shared language of every layer: the view dataclasses a poll returns (Snapshot,
TuningJobView, ParameterRangeView, TrainingJobView, MetricPoint, LogChunk), SageMaker's
status vocabulary, and the comparison helpers.

At the bottom of the house: imports nothing from hpo_tui but hpo_tui.estimate (arithmetic
on these views, for Snapshot.estimate) and hpo_tui.sanitize (for failure reasons), so the
engine, the backends, the report, the app and the commands can all use it.
"""

from __future__ import annotations

import functools
import heapq
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hpo_tui.estimate import ProgressEstimate

# SageMaker's own status vocabularies (DescribeHyperParameterTuningJob / ListTrainingJobsFor...).
TUNING_STATUSES = ("InProgress", "Completed", "Failed", "Stopping", "Stopped", "Deleting", "DeleteFailed")
TRAINING_STATUSES = ("InProgress", "Completed", "Failed", "Stopping", "Stopped")
OBJECTIVE_STATUSES = ("Pending", "Succeeded", "Failed")
TERMINAL_STATUSES = frozenset({"Completed", "Failed", "Stopped"})
# A tuning job being deleted (or whose deletion failed) never runs again: nothing to wait for.
TUNING_TERMINAL_STATUSES = TERMINAL_STATUSES | {"Deleting", "DeleteFailed"}

FAILURE_REASON_MAX = 1024  # SageMaker's FailureReason limit
LEADERS = 10  # Snapshot.leaders: the best jobs kept ranked (the dashboard's chart draws 5)


def clip_reason(text: str | None) -> str | None:
    """A failure reason without terminal control sequences (it comes from a training job or
    AWS), shortened to SageMaker's 1024-character limit."""
    if text is None:
        return None
    from hpo_tui.sanitize import sanitize

    text = sanitize(text).strip()
    if len(text) <= FAILURE_REASON_MAX:
        return text
    return text[: FAILURE_REASON_MAX - 1] + "…"


@dataclass(frozen=True)
class StatusCounters:
    """TrainingJobStatusCounters, as SageMaker defines them."""

    completed: int = 0
    in_progress: int = 0
    retryable_error: int = 0
    non_retryable_error: int = 0
    stopped: int = 0

    @property
    def finished(self) -> int:
        return self.completed + self.retryable_error + self.non_retryable_error + self.stopped


@dataclass(frozen=True)
class ObjectiveCounters:
    """ObjectiveStatusCounters, as SageMaker defines them."""

    succeeded: int = 0
    pending: int = 0
    failed: int = 0


@dataclass(frozen=True)
class TrainingJobView:
    name: str
    status: str  # one of TRAINING_STATUSES
    objective_status: str  # one of OBJECTIVE_STATUSES
    hyperparameters: dict[str, str]  # the tuned hyperparameters, values as strings
    final_objective: float | None = None  # the LAST value the log emitted
    best_objective: float | None = None  # best per-epoch value so far
    last_epoch: int | None = None
    created_at: float | None = None  # epoch seconds
    started_at: float | None = None
    ended_at: float | None = None
    failure_reason: str | None = None
    launch_index: int = 0  # 0-based order of creation within the tuning job
    # True when final_objective is the last value the log showed, standing in until SageMaker
    # reports its own final objective (never for a job SageMaker ended without one).
    objective_from_log: bool = False
    # SageMaker only: what an in-progress job is doing (Starting, Downloading, Training, ...).
    secondary_status: str | None = None
    # Cost: seconds billed (training time, or BillableTimeInSeconds with spot) and what
    # they make in instance-hours (times the instance count).
    billable_seconds: float | None = None
    instance_hours: float | None = None
    definition_name: str | None = None  # SageMaker: the training job definition it ran
    # Billed, but by an amount not known yet (SageMaker: a spot job whose
    # BillableTimeInSeconds was not read yet); billable_seconds is None then.
    billing_unknown: bool = False
    # Local engine: when a running job went silent (no log output, no CPU progress), once
    # that has lasted [local] stall_seconds; and whether its process is stopped (state T).
    silent_since: float | None = None
    process_stopped: bool = False

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    def stall_text(self, now: float) -> str | None:
        """"silent 5m 12s, stopped (state T)" for a stalled running job, else None."""
        if self.silent_since is None or self.is_terminal:
            return None
        seconds = max(0, int(now - self.silent_since))
        silent = f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"
        return f"silent {silent}" + (", stopped (state T)" if self.process_stopped else "")


@dataclass(frozen=True)
class ParameterRangeView:
    """One tuned hyperparameter's range, as the tuning job was launched with it."""

    name: str
    kind: str  # "categorical", "continuous" or "integer"
    min: float | None = None  # continuous and integer ranges
    max: float | None = None
    scaling: str = "Auto"  # Auto, Linear, Logarithmic or ReverseLogarithmic
    values: tuple[str, ...] = ()  # categorical ranges

    @property
    def is_log(self) -> bool:
        return self.scaling == "Logarithmic"


@dataclass(frozen=True)
class TuningJobView:
    name: str
    backend: str  # "local" or "sagemaker"
    status: str  # one of TUNING_STATUSES
    strategy: str
    objective_name: str
    objective_type: str  # "Maximize" or "Minimize"
    max_jobs: int
    max_parallel_jobs: int
    status_counters: StatusCounters = field(default_factory=StatusCounters)
    objective_counters: ObjectiveCounters = field(default_factory=ObjectiveCounters)
    best_training_job: str | None = None
    best_objective: float | None = None
    created_at: float | None = None
    ended_at: float | None = None
    failure_reason: str | None = None
    # Why a tuning job ended before max_jobs: a completion criterion or the runtime limit.
    completion_reason: str | None = None
    tuned_parameters: tuple[str, ...] = ()  # hyperparameter names, in spec order
    max_epochs: int | None = None  # when known (largest num_epoch the spec allows)
    # Local engine only: jobs it runs at once (max_parallel_jobs capped by [local] concurrency,
    # default one per core), and the cores it counted. None on SageMaker.
    job_slots: int | None = None
    cores: int | None = None
    # Local engine only: the machine's slots (shared by every local tuning job running) and
    # who holds them now, as (tuning job, slots held), busiest first.
    machine_slots: int | None = None
    slot_users: tuple[tuple[str, int], ...] = ()
    # What a list of tuning jobs must say beside the row: a runner not responding, stalled
    # training jobs (a poll's Snapshot.warning says it for one tuning job).
    warning: str | None = None
    parameter_ranges: tuple[ParameterRangeView, ...] = ()  # when known, in spec order
    # SageMaker only: the best job across a warm start's parents and this job, the tuning
    # job's ConsumedResources, its region (for console links) and the price for estimates.
    overall_best_training_job: str | None = None
    overall_best_objective: float | None = None
    consumed_seconds: int | None = None
    region: str | None = None
    price_per_hour: float | None = None
    # The metrics the spec defines (objective first when it is one), and the tuning jobs it
    # warm-started from with how (IdenticalDataAndAlgorithm or TransferLearning): for compare.
    metric_names: tuple[str, ...] = ()
    warm_start_parents: tuple[str, ...] = ()
    warm_start_type: str | None = None
    # The values the objective can take, as the spec says ([objective] lowest/highest; local
    # only): the charts' axes never pass them. None: inferred (hpo_tui.scales).
    objective_bounds: tuple[float | None, float | None] | None = None

    @property
    def is_terminal(self) -> bool:
        return self.status in TUNING_TERMINAL_STATUSES

    def slots_text(self) -> str | None:
        """"2 of 2 in use: this job 1, other-job 1" for a live local tuning job, else None."""
        if self.machine_slots is None or self.is_terminal:
            return None
        used = sum(n for _, n in self.slot_users)
        users = ", ".join(f"{'this job' if name == self.name else name} {n}" for name, n in self.slot_users)
        return f"{used} of {self.machine_slots} in use" + (f": {users}" if users else "")


@dataclass(frozen=True)
class MetricPoint:
    job: str
    metric: str
    epoch: int  # epoch from the log line ("Epoch[k]"), else the 0-based match index
    timestamp: float
    value: float


@dataclass(frozen=True)
class Billing:
    """The billed training jobs of a snapshot, added up (Snapshot.billing)."""

    jobs: int
    seconds: float  # billable seconds
    instance_hours: float
    trained_seconds: float  # training time, to the fetch for a job still running
    unknown: int = 0  # billed jobs whose amount is not known yet: left out of the sums above

    @property
    def partial(self) -> bool:
        return self.unknown > 0


@dataclass(frozen=True)
class Snapshot:
    """Everything one poll returns. Plain data; both backends return the same shapes."""

    tuning_job: TuningJobView
    training_jobs: tuple[TrainingJobView, ...]
    new_points: tuple[MetricPoint, ...]  # points newer than the cursor passed in
    cursor: Any  # opaque; pass it to the next poll
    fetched_at: float  # time.time() of the fetch
    throttle_count: int = 0  # throttling errors that outlasted botocore's retries
    data_age: float = 0.0  # seconds since the data was last fetched successfully
    suggested_interval: float | None = None  # set when the backend wants a slower poll
    warning: str | None = None  # a message to show in the status bar (data kept)

    # Values derived from every training job, each computed once per snapshot. prepare()
    # computes them in the thread that polled, so a 10,000-job snapshot costs the UI
    # thread nothing but reading them (the estimate alone is 15 ms at 10,000 jobs).

    @functools.cached_property
    def estimate(self) -> "ProgressEstimate":
        """Progress weighted by epochs and the ETA, as of the fetch (hpo_tui.estimate)."""
        from hpo_tui.estimate import estimate_progress

        return estimate_progress(self.tuning_job, self.training_jobs, self.fetched_at)

    @functools.cached_property
    def running(self) -> tuple[TrainingJobView, ...]:
        """The training jobs not finished yet."""
        return tuple(j for j in self.training_jobs if not j.is_terminal)

    @functools.cached_property
    def finished_objectives(self) -> tuple[tuple[int, float], ...]:
        """(launch number, counted from 1; final objective) of each finished job that has
        one, in launch order. A Failed job's last value is partial: it is not a result."""
        finished = [j for j in self.training_jobs
                    if j.is_terminal and j.status != "Failed" and j.final_objective is not None]
        finished.sort(key=lambda j: j.launch_index)
        return tuple((j.launch_index + 1, j.final_objective) for j in finished)  # type: ignore[misc]

    @functools.cached_property
    def leaders(self) -> tuple[str, ...]:
        """The LEADERS training jobs with the best final objective, best first (ties in the
        order of training_jobs). Failed jobs are never ranked (their last value is partial),
        nor a NaN."""
        scored = [j for j in self.training_jobs
                  if j.final_objective is not None and j.status != "Failed" and not math.isnan(j.final_objective)]
        pick = heapq.nlargest if self.tuning_job.objective_type == "Maximize" else heapq.nsmallest
        return tuple(j.name for j in pick(LEADERS, scored, key=lambda j: j.final_objective))

    @functools.cached_property
    def any_failure_reason(self) -> bool:
        """Some training job has a failure reason (the dashboard then shows the column)."""
        return any(j.failure_reason for j in self.training_jobs)

    @functools.cached_property
    def billing(self) -> "Billing | None":
        """What the billed training jobs add up to (None: none is billed, as locally)."""
        jobs = [j for j in self.training_jobs if j.billable_seconds is not None]
        unknown = sum(1 for j in self.training_jobs if j.billing_unknown)
        if not jobs and not unknown:
            return None
        return Billing(jobs=len(jobs), seconds=sum(j.billable_seconds or 0.0 for j in jobs),
                       instance_hours=sum(j.instance_hours or 0.0 for j in jobs),
                       trained_seconds=sum((j.ended_at or self.fetched_at) - j.started_at
                                           for j in jobs if j.started_at is not None),
                       unknown=unknown)

    def prepare(self, previous: "Snapshot | None" = None) -> "Snapshot":
        """Compute the derived values now; returns self (call it where the poll ran).

        `previous`: the snapshot before. A poll with nothing new returns the very same
        training-job tuple (the local backend's incremental poll): the values derived
        from it alone are taken over, and the ETA too when nothing runs (it then no
        longer depends on the time): a finished 5,000-job dashboard polled every 5 s
        recomputed 20 ms of them each time for nothing.
        """
        if previous is not None and previous.training_jobs is self.training_jobs:
            taken = ["running", "finished_objectives", "any_failure_reason"]  # the rows' alone
            if previous.tuning_job.objective_type == self.tuning_job.objective_type:
                taken.append("leaders")
            for name in taken:
                if name in previous.__dict__:
                    self.__dict__[name] = previous.__dict__[name]
            if (not self.running and previous.tuning_job == self.tuning_job
                    and "estimate" in previous.__dict__):
                self.__dict__["estimate"] = previous.__dict__["estimate"]
        for name in ("estimate", "running", "finished_objectives", "leaders", "billing", "any_failure_reason"):
            getattr(self, name)
        return self


@dataclass(frozen=True)
class LogChunk:
    lines: tuple[str, ...]
    cursor: Any  # opaque; pass it to the next log_tail


def is_better(a: float, b: float | None, objective_type: str) -> bool:
    """True when objective value a beats b (None always loses)."""
    if b is None or (isinstance(b, float) and math.isnan(b)):
        return True
    return a > b if objective_type == "Maximize" else a < b
