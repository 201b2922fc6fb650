"""A deterministic fake Backend for the UI's snapshot and diffing tests: it replays
scripted Snapshots (the issue allows this one fake; every other UI test uses the real
local backend).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from hpo_tui.backends.base import TuningJobNotFound
from hpo_tui.views import (
    LogChunk,
    MetricPoint,
    ObjectiveCounters,
    Snapshot,
    StatusCounters,
    TrainingJobView,
    TuningJobView,
)

T0 = 1_764_340_000.0  # 2025-11-28 14:26:40 UTC: the scripted tuning job's creation time
NOW = T0 + 754.0  # the frozen clock the tests give the app
TUNING_JOB = "mnist-hpo-251128-1426"
OBJECTIVE = "Validation-accuracy"


@dataclass
class ScriptedJob:
    """One training job: its hyperparameters and per-epoch metric values, as the log reports."""

    index: int
    status: str
    hyperparameters: dict[str, str]
    accuracy: list[float]  # Validation-accuracy per epoch
    loss: list[float] = field(default_factory=list)
    failure_reason: str | None = None
    start: float = 0.0  # seconds after T0
    duration: float | None = None  # None while it runs

    @property
    def name(self) -> str:
        return f"{TUNING_JOB}-{self.index + 1:03d}-{0xa3c1 * (self.index + 7) % 0xffff:04x}"

    def view(self) -> TrainingJobView:
        terminal = self.status in ("Completed", "Failed", "Stopped")
        final = self.accuracy[-1] if self.accuracy else None
        objective_status = "Succeeded" if terminal and final is not None else "Failed" if terminal else "Pending"
        return TrainingJobView(
            name=self.name,
            status=self.status,
            objective_status=objective_status,
            hyperparameters=dict(self.hyperparameters),
            final_objective=final,
            best_objective=max(self.accuracy) if self.accuracy else None,
            last_epoch=len(self.accuracy) - 1 if self.accuracy else None,
            created_at=T0 + self.start,
            started_at=T0 + self.start + 1.0,
            ended_at=T0 + self.start + 1.0 + self.duration if self.duration is not None else None,
            failure_reason=self.failure_reason,
            launch_index=self.index,
        )

    def points(self) -> list[MetricPoint]:
        out = []
        for epoch, value in enumerate(self.accuracy):
            ts = T0 + self.start + 10.0 * (epoch + 1)
            out.append(MetricPoint(self.name, "Train-accuracy", epoch, ts, min(1.0, value + 0.012)))
            out.append(MetricPoint(self.name, OBJECTIVE, epoch, ts, value))
            if epoch < len(self.loss):
                out.append(MetricPoint(self.name, "Validation-loss", epoch, ts, self.loss[epoch]))
        return out

    def log(self) -> list[str]:
        lines = [f"INFO:root:Training {self.name} with " + " ".join(f"--{k} {v}" for k, v in self.hyperparameters.items())]
        for epoch, value in enumerate(self.accuracy):
            lines.append(f"INFO:root:Epoch[{epoch}] Train-accuracy={min(1.0, value + 0.012):.6f}")
            lines.append(f"INFO:root:Epoch[{epoch}] Time cost=3.{epoch}17")
            lines.append(f"INFO:root:Epoch[{epoch}] Validation-accuracy={value:.6f}")
            if epoch < len(self.loss):
                lines.append(f"INFO:root:Epoch[{epoch}] Validation-loss={self.loss[epoch]:.6f}")
        if self.failure_reason:
            # Terminal colour codes and markup-like text, as real tracebacks may contain.
            lines.append("\x1b[31mTraceback (most recent call last):\x1b[0m")
            lines.append("  File \"mnist.py\", line 88, in <module> [bold]not markup[/bold]")
            lines.append(self.failure_reason)
        return lines


def mid_run_jobs() -> list[ScriptedJob]:
    """Six jobs of nine: two completed, one failed, three running."""
    return [
        ScriptedJob(0, "Completed", {"optimizer": "sgd", "learning_rate": "0.1375212", "num_epoch": "4"},
                    [0.9212, 0.9488, 0.9571, 0.9634], [0.27, 0.17, 0.14, 0.12], start=0, duration=61),
        ScriptedJob(1, "Completed", {"optimizer": "Adam", "learning_rate": "0.0112947", "num_epoch": "3"},
                    [0.9405, 0.9529, 0.9552], [0.21, 0.16, 0.15], start=0, duration=47),
        ScriptedJob(2, "Failed", {"optimizer": "Adam", "learning_rate": "0.1980001", "num_epoch": "5"},
                    [0.1135], [2.31],
                    failure_reason="AlgorithmError: ExecuteUserScriptError: \x1b[31mValueError\x1b[0m: "
                                   "loss became NaN at epoch 1 [red]check the learning rate[/red]",
                    start=0, duration=19),
        ScriptedJob(3, "InProgress", {"optimizer": "sgd", "learning_rate": "0.0723115", "num_epoch": "5"},
                    [0.9102, 0.9437], [0.31, 0.19], start=48),
        ScriptedJob(4, "InProgress", {"optimizer": "sgd", "learning_rate": "0.1799", "num_epoch": "4"},
                    [0.9288], [0.25], start=62),
        ScriptedJob(5, "InProgress", {"optimizer": "Adam", "learning_rate": "0.0456", "num_epoch": "3"},
                    [], [], start=74),
    ]


def finished_jobs() -> list[ScriptedJob]:
    """All nine jobs ended: a new best (job 8), one failure, one early-stopped."""
    jobs = mid_run_jobs()
    jobs[3] = replace(jobs[3], status="Completed", accuracy=[0.9102, 0.9437, 0.9581, 0.9622, 0.9655],
                      loss=[0.31, 0.19, 0.14, 0.13, 0.11], duration=80)
    jobs[4] = replace(jobs[4], status="Stopped", accuracy=[0.9288, 0.9301], loss=[0.25, 0.24], duration=30)
    jobs[5] = replace(jobs[5], status="Completed", accuracy=[0.9391, 0.9517, 0.9560], loss=[0.22, 0.17, 0.15],
                      duration=52)
    jobs += [
        ScriptedJob(6, "Completed", {"optimizer": "sgd", "learning_rate": "0.1122", "num_epoch": "4"},
                    [0.9301, 0.9529, 0.9618, 0.9641], [0.24, 0.16, 0.13, 0.12], start=130, duration=66),
        ScriptedJob(7, "Completed", {"optimizer": "sgd", "learning_rate": "0.1544", "num_epoch": "5"},
                    [0.9350, 0.9561, 0.9640, 0.9688, 0.9702], [0.22, 0.15, 0.12, 0.11, 0.10],
                    start=150, duration=81),
        ScriptedJob(8, "Completed", {"optimizer": "Adam", "learning_rate": "0.0203", "num_epoch": "3"},
                    [0.9350, 0.9459, 0.9480], [0.23, 0.19, 0.18], start=170, duration=49),
    ]
    return jobs


def tuning_view(jobs: list[ScriptedJob], status: str, *, ended: float | None = None) -> TuningJobView:
    views = [j.view() for j in jobs]
    scored = [v for v in views if v.final_objective is not None and v.status == "Completed"]
    best = max(scored, key=lambda v: v.final_objective) if scored else None
    count = lambda s: sum(1 for v in views if v.status == s)  # noqa: E731
    return TuningJobView(
        name=TUNING_JOB,
        backend="local",
        status=status,
        strategy="Bayesian",
        objective_name=OBJECTIVE,
        objective_type="Maximize",
        max_jobs=9,
        max_parallel_jobs=3,
        status_counters=StatusCounters(completed=count("Completed"), in_progress=count("InProgress"),
                                       non_retryable_error=count("Failed"), stopped=count("Stopped")),
        objective_counters=ObjectiveCounters(
            succeeded=sum(1 for v in views if v.objective_status == "Succeeded"),
            pending=sum(1 for v in views if v.objective_status == "Pending"),
            failed=sum(1 for v in views if v.objective_status == "Failed")),
        best_training_job=best.name if best else None,
        best_objective=best.final_objective if best else None,
        created_at=T0,
        ended_at=ended,
        tuned_parameters=("optimizer", "learning_rate", "num_epoch"),
        max_epochs=5,
    )


def snapshot_of(jobs: list[ScriptedJob], status: str = "InProgress", *, ended: float | None = None,
                warning: str | None = None) -> Snapshot:
    points = [p for j in jobs for p in j.points()]
    return Snapshot(tuning_job=tuning_view(jobs, status, ended=ended),
                    training_jobs=tuple(j.view() for j in jobs),
                    new_points=tuple(points), cursor=None, fetched_at=NOW - 2.0, warning=warning)


class FakeBackend:
    """Replays scripted frames; `frame` picks the one poll() returns next."""

    name = "local"
    default_interval = 1.0

    def __init__(self, frames: list[Snapshot], *, jobs: list[ScriptedJob] | None = None,
                 others: list[TuningJobView] | None = None) -> None:
        self.frames = frames
        self.frame = 0
        self.jobs = jobs or []
        self.others = others or []
        self.polls = 0
        self.stopped: list[str] = []
        self.resumed: list[str] = []
        self.launched: list[Any] = []
        self.fail_next: Exception | None = None

    def poll(self, name: str, cursor: Any = None) -> Snapshot:
        self.polls += 1
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
        snap = self.frames[self.frame]
        if name != snap.tuning_job.name:
            raise TuningJobNotFound(f"no tuning job named {name!r}: list them with hpo-tui jobs")
        # The cursor counts points already delivered, as a real backend's would.
        start = cursor or 0
        return replace(snap, new_points=snap.new_points[start:], cursor=len(snap.new_points))

    def log_tail(self, job: str, cursor: Any = None) -> LogChunk:
        lines = next((j.log() for j in self.jobs if j.name == job), [])
        start = cursor or 0
        return LogChunk(tuple(lines[start:]), len(lines))

    def list_tuning_jobs(self) -> list[TuningJobView]:
        return [self.frames[self.frame].tuning_job, *self.others]

    def stop(self, name: str) -> None:
        self.stopped.append(name)

    def resume(self, name: str) -> None:
        self.resumed.append(name)

    def launch(self, spec: Any) -> str:
        self.launched.append(spec)
        return TUNING_JOB


def twelve_jobs() -> list[ScriptedJob]:
    """Twelve jobs of a 12-job tuning job: nine ended (one failed), three running."""
    jobs = finished_jobs()
    rates = ("0.0861", "0.1203", "0.0318")
    for offset, (rate, accuracy) in enumerate(zip(rates, ([0.9311, 0.9502], [0.9398], [0.9205, 0.9477, 0.9533]))):
        jobs.append(ScriptedJob(9 + offset, "InProgress", {"optimizer": "sgd" if offset != 1 else "Adam",
                                                          "learning_rate": rate, "num_epoch": "5"},
                                accuracy, start=200 + 10 * offset))
    return jobs


def twelve_job_snapshot() -> Snapshot:
    snap = snapshot_of(twelve_jobs())
    return replace(snap, tuning_job=replace(snap.tuning_job, max_jobs=12))


def diverged_run_jobs() -> list[ScriptedJob]:
    """Thirteen jobs as a real run has them: an Adam job at a high learning rate collapsed to
    about 0.10 (Completed: diverged), and a job that failed part-way with good partial values
    (never ranked nor plotted as finished)."""
    jobs = twelve_jobs()
    jobs[2] = replace(jobs[2], accuracy=[0.9398, 0.9581, 0.9690], loss=[0.2, 0.14, 0.1],
                      failure_reason="AlgorithmError: MemoryError at epoch 3", duration=40)
    jobs.append(ScriptedJob(12, "Completed", {"optimizer": "Adam", "learning_rate": "0.1913", "num_epoch": "3"},
                            [0.1135, 0.1009, 0.0980], [2.31, 2.30, 2.30], start=230, duration=45))
    return jobs


def diverged_run_snapshot() -> Snapshot:
    snap = snapshot_of(diverged_run_jobs())
    # As the local engine reports it: 4 allowed at once, 3 slots on a 3-core machine.
    return replace(snap, tuning_job=replace(snap.tuning_job, max_jobs=15, max_parallel_jobs=4, job_slots=3, cores=3))
