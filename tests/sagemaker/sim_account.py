"""A simulated SageMaker account at the botocore level, on a clock the test advances.

SageMaker's tuning and training jobs are simulated here (moto cannot list a tuning job's
training jobs, nor run them): every SageMaker operation the product calls is answered from
this model through botocore's `before-call` event, after botocore validated the request
against the service model, and each answer is validated against the operation's output
shape (as botocore's Stubber does). CloudWatch Logs, S3 and STS are moto's, in server mode:
the log events the training jobs write are put into moto, and the product reads them over
HTTP. Throttling can be injected at random on every operation of every service.

Training jobs start while the tuning job has free slots and budget, emit one
`Epoch[k] Train-accuracy=... Validation-accuracy=...` line per epoch, can be
spot-interrupted (they go on in a new `JOB/algo-1-<ts>` stream, and the time lost is not
billed), stop and end. `fast_forward` makes a tuning job of hundreds of jobs at once (the
ended ones wrote no log), for an attach mid-run.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

from tests.sagemaker.sim_api import ACCOUNT, LOG_GROUP, REGION, TERMINAL, SimApi, SimValidationError, _dt  # noqa: F401

class Clock:
    """The simulated wall clock (epoch seconds); a stand-in for the `time` module where the
    product reads the time."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:  # noqa: ARG002 -- the test advances the clock
        return None

    def monotonic(self) -> float:
        return self.now


@dataclass
class SimJob:
    name: str
    tuning: str
    index: int
    created: float
    hps: dict[str, str]
    planned: int
    spot: bool
    epoch_seconds: float
    started: float | None = None
    ended: float | None = None
    status: str = "InProgress"
    secondary: str = "Starting"
    epochs: int = 0  # epochs emitted so far
    streams: list[str] = field(default_factory=list)
    lost: float = 0.0  # seconds lost to spot interruptions (not billed)
    resume_at: float | None = None  # while interrupted: when it starts again
    values: list[float] = field(default_factory=list)  # Validation-accuracy per epoch
    hosts: int = 1  # the instance count

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def billable(self) -> int | None:
        if self.started is None or self.ended is None:
            return None
        return int(round(self.ended - self.started - (self.lost if self.spot else 0.0)))

    def next_epoch_at(self) -> float:
        assert self.started is not None
        return self.started + self.lost + (self.epochs + 1) * self.epoch_seconds


@dataclass
class SimTuning:
    name: str
    created: float
    max_jobs: int
    max_parallel: int
    spot: bool
    request: dict[str, Any]
    status: str = "InProgress"
    ended: float | None = None
    jobs: list[SimJob] = field(default_factory=list)

    def running(self) -> list[SimJob]:
        return [j for j in self.jobs if not j.terminal]


class SimAccount(SimApi):
    """The account's SageMaker, on `clock`; log events go to moto through `logs_client`."""

    def __init__(self, clock: Clock, logs_client: Any, seed: int = 0, epoch_seconds: float = 60.0) -> None:
        self.clock = clock
        self.logs = logs_client
        self.rng = random.Random(seed)
        self.epoch_seconds = epoch_seconds
        self.tunings: dict[str, SimTuning] = {}
        self.throttle_rate = 0.0
        self.throttled = 0
        self.calls: list[str] = []
        self.created_requests: list[dict[str, Any]] = []
        # The account changes (advance, interrupt, stop) while a TUI's poll threads ask it.
        self.lock = threading.RLock()
        self._pending: dict[str, list[dict[str, Any]]] = {}  # stream -> events not put yet
        self._streams: set[str] = set()
        self.logs.create_log_group(logGroupName=LOG_GROUP)

    # ------------------------------------------------------------------ the simulation

    def create(self, request: dict[str, Any]) -> SimTuning:
        config = request["HyperParameterTuningJobConfig"]
        limits = config["ResourceLimits"]
        definition = request.get("TrainingJobDefinition") or {}
        tuning = SimTuning(
            request["HyperParameterTuningJobName"], self.clock.now, int(limits["MaxNumberOfTrainingJobs"]),
            int(limits["MaxParallelTrainingJobs"]), bool(definition.get("EnableManagedSpotTraining")), request)
        self.tunings[tuning.name] = tuning
        self._fill(tuning)
        return tuning

    def _draw_hps(self, request: dict[str, Any]) -> tuple[dict[str, str], int]:
        ranges = request["HyperParameterTuningJobConfig"].get("ParameterRanges", {})
        hps: dict[str, str] = {}
        for r in ranges.get("CategoricalParameterRanges", []):
            hps[r["Name"]] = self.rng.choice(r["Values"])
        for r in ranges.get("ContinuousParameterRanges", []):
            hps[r["Name"]] = f"{self.rng.uniform(float(r['MinValue']), float(r['MaxValue'])):.6f}"
        for r in ranges.get("IntegerParameterRanges", []):
            hps[r["Name"]] = str(self.rng.randint(int(r["MinValue"]), int(r["MaxValue"])))
        planned = int(hps.get("num_epoch", "3"))
        return hps, planned

    def _start_job(self, tuning: SimTuning, *, at: float | None = None) -> SimJob:
        index = len(tuning.jobs)
        hps, planned = self._draw_hps(tuning.request)
        at = self.clock.now if at is None else at
        job = SimJob(f"{tuning.name}-{index + 1:03d}-{self.rng.getrandbits(32):08x}", tuning.name, index, at, hps,
                     planned, tuning.spot, self.epoch_seconds)
        resources = tuning.request["TrainingJobDefinition"].get("HyperParameterTuningResourceConfig") or {}
        job.hosts = int(resources.get("InstanceCount") or 1)
        job.started = at + 30.0
        job.secondary = "Training"
        job.streams.append(f"{job.name}/algo-1-{int(job.started)}")
        tuning.jobs.append(job)
        return job

    def _fill(self, tuning: SimTuning) -> None:
        if tuning.status != "InProgress":
            return
        while len(tuning.running()) < tuning.max_parallel and len(tuning.jobs) < tuning.max_jobs:
            self._start_job(tuning)
        if not tuning.running() and len(tuning.jobs) >= tuning.max_jobs:
            tuning.status, tuning.ended = "Completed", self.clock.now

    def fast_forward(self, name: str, ended: int, running: int, *, hours: float = 40.0) -> None:
        """`ended` training jobs that ended before now (they wrote no log) and `running` ones
        started just now: a tuning job far into its run, as an attach finds it."""
        tuning = self.tunings[name]
        span = hours * 3600.0
        for k in range(ended):
            at = tuning.created + span * k / max(1, ended)
            job = self._start_job(tuning, at=at)
            job.streams.clear()
            job.epochs = job.planned
            job.ended = at + 30.0 + job.planned * job.epoch_seconds
            if job.spot:
                job.lost = self.rng.choice([0.0, 0.0, 120.0])
                job.ended += job.lost
            job.status, job.secondary = "Completed", "Completed"
            job.values = [0.9] * job.planned
        self.clock.now = max(self.clock.now, tuning.created + span + 3600.0)
        for _ in range(running):
            self._start_job(tuning)

    def advance(self, seconds: float) -> None:
        with self.lock:
            self._advance(seconds)

    def _advance(self, seconds: float) -> None:
        """Time passes: running jobs emit their epochs (the log events go to moto), end, and
        free their slots for new jobs."""
        end = self.clock.now + seconds
        while True:
            due = [(j.resume_at if j.resume_at is not None else j.next_epoch_at(), j)
                   for t in self.tunings.values() if t.status in ("InProgress", "Stopping")
                   for j in t.running() if j.started is not None]
            due = [(at, j) for at, j in due if at <= end]
            if not due:
                break
            at, job = min(due, key=lambda d: (d[0], d[1].name))
            self.clock.now = max(self.clock.now, at)
            if job.resume_at is not None:
                job.resume_at = None
                job.secondary = "Training"
                job.streams.append(f"{job.name}/algo-1-{int(at)}")
                self._emit(job, at, f"Resuming training from checkpoint at {int(at)}")
                continue
            value = round(0.5 + 0.45 * (1 - 1 / (job.epochs + 2)) + self.rng.uniform(0, 0.01), 4)
            job.values.append(value)
            self._emit(job, at, f"Epoch[{job.epochs}] Train-accuracy={min(1.0, value + 0.01):.4f}")
            self._emit(job, at, f"Epoch[{job.epochs}] Validation-accuracy={value:.4f}")
            if job.hosts > 1 and job.epochs >= 1:
                # The other hosts of a multi-instance job: their streams start late, each
                # with its own lines (not read for metrics: SageMaker's come from algo-1).
                for host in range(2, job.hosts + 1):
                    stream = f"{job.name}/algo-{host}-{int(job.started or at) + 7 * host}"
                    if stream not in job.streams:
                        job.streams.insert(0, stream)
                    self._pending.setdefault(stream, []).append(
                        {"timestamp": int(at * 1000), "message": f"algo-{host}: epoch {job.epochs} synced"})
            job.epochs += 1
            if job.epochs >= job.planned:
                job.status, job.secondary, job.ended = "Completed", "Completed", at
                self._fill(self.tunings[job.tuning])
        self.clock.now = end
        self.flush()

    def interrupt(self, job: SimJob, pause: float = 300.0) -> None:
        with self.lock:
            self._interrupt(job, pause)

    def _interrupt(self, job: SimJob, pause: float = 300.0) -> None:
        """A spot interruption: the job waits `pause` seconds (not billed) and goes on in a new
        log stream."""
        now = self.clock.now
        self._emit(job, now, f"Spot instance interrupted at {int(now)}; waiting for capacity")
        job.secondary = "Interrupted"
        job.resume_at = now + pause
        job.lost += pause
        self.flush()

    def stop(self, name: str) -> None:
        with self.lock:
            self._stop(name)

    def _stop(self, name: str) -> None:
        tuning = self.tunings[name]
        if tuning.status != "InProgress":
            raise SimValidationError(f"The hyperparameter tuning job {name} is not in InProgress status.")
        now = self.clock.now
        for job in tuning.running():
            job.status, job.secondary, job.ended = "Stopped", "Stopped", now
            if job.resume_at is not None and job.resume_at > now:
                job.lost -= job.resume_at - now  # the pause ends with the stop
            job.resume_at = None
            if job.started is not None and job.started > now:
                job.started = None  # stopped while starting: never trained, never billed
        tuning.status, tuning.ended = "Stopped", now

    def _emit(self, job: SimJob, at: float, message: str) -> None:
        self._pending.setdefault(job.streams[-1], []).append({"timestamp": int(at * 1000), "message": message})

    def flush(self) -> None:
        for stream, events in self._pending.items():
            if stream not in self._streams:
                self.logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
                self._streams.add(stream)
            self.logs.put_log_events(logGroupName=LOG_GROUP, logStreamName=stream, logEvents=events)
        self._pending.clear()

    def _read_stream(self, stream: str) -> list[dict[str, Any]]:
        """Every event of one log stream, from moto, in the stream's order."""
        events: list[dict[str, Any]] = []
        token = None
        while True:
            params: dict[str, Any] = {"logGroupName": LOG_GROUP, "logStreamName": stream, "startFromHead": True}
            if token:
                params["nextToken"] = token
            page = self.logs.get_log_events(**params)
            events.extend(page["events"])
            if not page["events"] or page.get("nextForwardToken") == token:
                return events
            token = page.get("nextForwardToken")

    def _job_streams(self, job: str) -> list[str]:
        return sorted(s for s in self._streams if s.startswith(f"{job}/"))

    def stream_events(self, job: str) -> dict[str, list[str]]:
        """Every message of each of a job's log streams, in the stream's order."""
        return {stream: [e["message"] for e in self._read_stream(stream)] for stream in self._job_streams(job)}

    def bill_at(self, name: str, at: float) -> float:
        """What the training jobs of a tuning job cost up to time `at`, in seconds: ended
        ones what SageMaker bills, running ones the time since they started (less the time a
        spot job lost to interruptions so far)."""
        total = 0.0
        for job in self.tunings[name].jobs:
            if job.started is None or job.started > at:
                continue
            if job.ended is not None and job.ended <= at:
                total += job.billable() or 0
            else:
                total += max(0.0, at - job.started - (job.lost if job.spot else 0.0))
        return total

    def all_events(self, job: str) -> list[str]:
        """Every message a job wrote, in the order it wrote them (the truth for `logs`)."""
        events = [(e["timestamp"], rank, seq, e["message"]) for rank, stream in enumerate(self._job_streams(job))
                  for seq, e in enumerate(self._read_stream(stream))]
        return [m for *_, m in sorted(events)]
