"""SageMakerBackend: the Backend protocol on Amazon SageMaker Automatic Model Tuning.
Sessions, clients and the error-translating call live here; launch, poll and logs are delegated
to their modules. Polling stays on a small, fixed request budget.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from hpo_tui.views import (
    LogChunk,
    MetricPoint,
    Snapshot,
    TuningJobView,
)
from hpo_tui.backends.base import BackendError, TuningJobNotFound
from hpo_tui.backends.sagemaker.errors import (
    AwsUnavailable,
    Transient,
    error_code,
    error_message,
    translate_error,
)
from hpo_tui.backends.sagemaker.launch import LAUNCH_RETRY_DELAY, launch_tuning_job
from hpo_tui.backends.sagemaker.logs import PollCursor, log_tail, metric_definitions_of, read_job_points
from hpo_tui.backends.sagemaker.poll import fetch_snapshot, tuning_job_summary_view

if TYPE_CHECKING:
    import boto3

    from hpo_tui.spec import TuningSpec

# botocore retries throttled and failed calls itself; only what outlasts this reaches us.
POLL_RETRIES = {"mode": "adaptive", "max_attempts": 10}
MAX_INTERVAL = 240.0  # ceiling of the poll back-off, seconds


_ALREADY_DONE = re.compile(
    r"already (been )?(stopped|stopping|completed|failed)|not in (an? )?(InProgress|in progress|running)"
    r"|is (Completed|Stopped|Stopping|Failed)\b|cannot be stopped",
    re.IGNORECASE,
)


@dataclass
class _Watch:
    """What the backend remembers about one tuning job between polls."""

    last_good: Snapshot | None = None
    throttle_count: int = 0
    failures_in_row: int = 0


class SageMakerBackend:
    """Amazon SageMaker Automatic Model Tuning behind the Backend protocol."""

    name = "sagemaker"
    default_interval = 15.0
    points_on_demand = True  # poll(points=False) and curves(): see hpo_tui.backends.base

    def __init__(
        self,
        region: str | None = None,
        profile: str | None = None,
        *,
        boto_session: boto3.Session | None = None,
    ) -> None:
        self._region = region
        self._profile = profile
        self._session = boto_session
        self._session_injected = boto_session is not None
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._watches: dict[str, _Watch] = {}
        self._param_order: dict[str, tuple[str, ...]] = {}
        self.launch_retry_delay = LAUNCH_RETRY_DELAY

    # ------------------------------------------------------------------ sessions and clients

    def boto_session(self) -> boto3.Session:
        """The boto3 session: the default credential chain, or --profile / --region."""
        with self._lock:
            if self._session is None:
                import boto3
                import botocore.exceptions

                try:
                    self._session = boto3.Session(profile_name=self._profile, region_name=self._region)
                except botocore.exceptions.ProfileNotFound:
                    raise BackendError(
                        f"AWS profile {self._profile!r} is not in your AWS config: create it with "
                        f"`aws configure --profile {self._profile}`, or pass another --profile."
                    ) from None
            if not self._session.region_name:
                raise BackendError(
                    "No AWS region is set: pass --region (e.g. --region us-east-1), set AWS_REGION, "
                    "or set region in the spec's [sagemaker] section."
                )
            return self._session

    @property
    def region(self) -> str:
        return self.boto_session().region_name

    def client(self, service: str) -> Any:
        """The one polling client for a service, created once, with botocore's retries."""
        session = self.boto_session()
        with self._lock:
            if service not in self._clients:
                from botocore.config import Config

                config = Config(retries=dict(POLL_RETRIES), connect_timeout=10, read_timeout=30)
                self._clients[service] = session.client(service, config=config)
            return self._clients[service]

    def _adopt_spec_settings(self, spec: TuningSpec) -> None:
        """--region/--profile win; otherwise the spec's [sagemaker] values are used."""
        settings = spec.sagemaker
        changed = False
        if self._region is None and settings.region:
            self._region, changed = settings.region, True
        if self._profile is None and settings.profile:
            self._profile, changed = settings.profile, True
        if changed and not self._session_injected:
            with self._lock:
                self._session = None
                self._clients.clear()

    # ------------------------------------------------------------------ calls and errors

    def _call(self, service: str, operation: str, **params: Any) -> dict[str, Any]:
        client = self.client(service)
        try:
            return getattr(client, operation)(**params)
        except Exception as exc:  # noqa: BLE001 -- every AWS failure is translated below
            translated = translate_error(exc, service, operation)
            if translated is exc:
                raise
            raise translated from exc

    # ------------------------------------------------------------------ launch


    # ------------------------------------------------------------------ launch

    def launch(self, spec: TuningSpec) -> str:
        """Create the tuning job with the SDK's MXNet estimator and HyperparameterTuner."""
        from hpo_tui.spec import SpecError, validate

        issues = validate(spec)
        if issues:
            raise SpecError(issues)  # before any AWS call: nothing is created or uploaded
        self._adopt_spec_settings(spec)
        name = launch_tuning_job(self.boto_session, self._call, spec, retry_delay=self.launch_retry_delay)
        self._param_order[name] = tuple(spec.ranges)
        return name

    # ------------------------------------------------------------------ poll

    def poll(self, name: str, cursor: Any = None, *, points: bool = True) -> Snapshot:
        """One refresh: 1 describe + ceil(N/100) list pages + new log events (usually 1 page).
        points=False reads no log: rows only, and the next poll reads from now on."""
        watch = self._watches.setdefault(name, _Watch())
        try:
            snapshot = fetch_snapshot(
                self._call, self.region, name, cursor if isinstance(cursor, PollCursor) else None,
                self._param_order.get(name), points=points,
            )
        except Transient as exc:
            return self._stale(name, watch, cursor, exc)
        watch.failures_in_row = 0
        snapshot = replace(snapshot, throttle_count=watch.throttle_count)
        watch.last_good = snapshot
        return snapshot

    def curves(self, name: str, jobs: list[str], metric: str | None = None) -> tuple[MetricPoint, ...]:
        """Every metric point of the training jobs named, from their own log streams."""
        desc = self._call("sagemaker", "describe_hyper_parameter_tuning_job", HyperParameterTuningJobName=name)
        return tuple(read_job_points(self._call, list(jobs), metric_definitions_of(desc), metric))

    def _stale(self, name: str, watch: _Watch, cursor: Any, exc: Transient) -> Snapshot:
        """The last good data, marked stale, with a slower suggested interval. Never raises."""
        if exc.throttled:
            watch.throttle_count += 1
        watch.failures_in_row += 1
        interval = min(MAX_INTERVAL, self.default_interval * 2**watch.failures_in_row)
        what = "AWS is throttling requests (Rate exceeded)" if exc.throttled else f"AWS unreachable: {exc}"
        if watch.last_good is None:
            raise AwsUnavailable(
                f"{what} while reading tuning job {name!r}; retrying in {interval:.0f} s. "
                "If this persists, raise the poll interval or check the AWS service health.",
                retry_after=interval,
            )
        now = time.time()
        age = now - watch.last_good.fetched_at
        return replace(
            watch.last_good,
            new_points=(),  # the caller already has them
            cursor=cursor if cursor is not None else watch.last_good.cursor,
            throttle_count=watch.throttle_count,
            data_age=age,
            suggested_interval=interval,
            warning=f"{what}; showing data from {age:.0f} s ago, next try in {interval:.0f} s",
        )


    # ------------------------------------------------------------------ logs, stop, list

    def log_tail(self, job: str, cursor: Any = None) -> LogChunk:
        """New log lines of one training job (all of them for cursor None)."""
        return log_tail(self._call, job, cursor)

    def stop(self, name: str) -> None:
        """StopHyperParameterTuningJob; stopping a job that already ended is a success."""
        try:
            self._call("sagemaker", "stop_hyper_parameter_tuning_job", HyperParameterTuningJobName=name)
        except Transient as exc:
            raise BackendError(f"Could not stop {name!r}: {exc}. Press stop again in a moment.") from None
        except TuningJobNotFound:
            raise TuningJobNotFound(f"No SageMaker tuning job named {name!r} in region {self.region}.") from None
        except BackendError as exc:
            if error_code(exc.__cause__) != "ValidationException":
                raise
            message = error_message(exc.__cause__)
            if _ALREADY_DONE.search(message):
                return
            desc = self._call("sagemaker", "describe_hyper_parameter_tuning_job", HyperParameterTuningJobName=name)
            if desc.get("HyperParameterTuningJobStatus") in {"Completed", "Failed", "Stopped", "Stopping"}:
                return
            raise

    def list_tuning_jobs(self) -> list[TuningJobView]:
        """The newest 100 tuning jobs in the region, newest first (one call)."""
        page = self._call(
            "sagemaker",
            "list_hyper_parameter_tuning_jobs",
            SortBy="CreationTime",
            SortOrder="Descending",
            MaxResults=100,
        )
        return [tuning_job_summary_view(s) for s in page.get("HyperParameterTuningJobSummaries", [])]
