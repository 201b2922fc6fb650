"""SageMakerBackend: the Backend protocol on Amazon SageMaker Automatic Model Tuning.
Sessions, clients and the error-translating call live here; launch, poll and logs are delegated
to their modules. Polling stays on a small, fixed request budget.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field, replace
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
from hpo_tui.backends.sagemaker.logs import JobLog, LoadedLog, PollCursor, log_tail, read_job_log
from hpo_tui.backends.sagemaker.poll import fetch_snapshot, tuning_job_summary_view
from hpo_tui.backends.sagemaker.checks import Check, failure_text
from hpo_tui.backends.sagemaker.cost import price_from_table
from hpo_tui.prices import load_prices, remember_price
from hpo_tui.backends.sagemaker.doctor import run_checks
from hpo_tui.backends.sagemaker.regions import check_region_name

if TYPE_CHECKING:
    import boto3

    from hpo_tui.spec import TuningSpec

# botocore retries throttled and failed calls itself; only what outlasts this reaches us.
POLL_RETRIES = {"mode": "adaptive", "max_attempts": 10}
MAX_INTERVAL = 240.0  # ceiling of the poll back-off, seconds
LIST_LIMIT = 1000  # tuning jobs `jobs` lists at most (10 pages); filters narrow it down
KEPT_SNAPSHOTS = 8  # last good snapshots kept per tuning job, for throttled polls of several watchers


_ALREADY_DONE = re.compile(
    r"already (been )?(stopped|stopping|completed|failed)|not in (an? )?(InProgress|in progress|running)"
    r"|is (Completed|Stopped|Stopping|Failed)\b|cannot be stopped",
    re.IGNORECASE,
)


@dataclass
class _Watch:
    """What the backend remembers about one tuning job between polls."""

    last_good: Snapshot | None = None
    # The last good snapshots by the cursor they returned (newest last, a few): a throttled
    # poll returns the one its own cursor came from, not another watcher's (a rows-only
    # `status` or first poll has no epoch of a running job: its progress is lower).
    by_cursor: list[tuple[Any, Snapshot]] = field(default_factory=list)
    throttle_count: int = 0
    failures_in_row: int = 0
    # What reading each training job's log needs, as of the last poll (for curves()), and
    # the logs curves() has read (for the polls after it to go on from).
    job_logs: dict[str, JobLog] = field(default_factory=dict)
    loaded: dict[str, LoadedLog] = field(default_factory=dict)


def profile_not_found(given: str | None, exc: Exception) -> str:
    """The message for a profile that is not in the AWS config: the name botocore looked for
    (from --profile, the spec or AWS_PROFILE), never None."""
    import os

    name = getattr(exc, "kwargs", {}).get("profile") or given or os.environ.get("AWS_PROFILE")
    source = "" if given else " (from AWS_PROFILE)" if os.environ.get("AWS_PROFILE") else ""
    return (f"AWS profile {name!r}{source} is not in your AWS config (~/.aws/config, ~/.aws/credentials): "
            f"create it with `aws configure --profile {name}`, or pass an existing one with --profile "
            "(`aws configure list-profiles` lists them).")


class SageMakerBackend:
    """Amazon SageMaker Automatic Model Tuning behind the Backend protocol."""

    name = "sagemaker"
    default_interval = 15.0
    # Polls can leave the metric points out (points=False) and curves() reads them per job:
    # a first poll costs the list pages, not every log line of the tuning job.
    points_on_demand = True
    curve_batch = 20  # jobs per curves() read: one FilterLogEvents query each
    list_limit = LIST_LIMIT  # tuning jobs `jobs` shows at most

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
        self.notes: list[str] = []  # what the user should know but that did not fail anything
        self._instance_types: dict[str, tuple[str, ...]] = {}  # per tuning job, from its last poll
        self.launch_retry_delay = LAUNCH_RETRY_DELAY

    # ------------------------------------------------------------------ sessions and clients

    def boto_session(self) -> boto3.Session:
        """The boto3 session: the default credential chain, or --profile / --region."""
        if self._session is None and self._region:
            check_region_name(self._region)  # before boto3 is loaded: a typo is answered at once
        with self._lock:
            if self._session is None:
                import boto3
                import botocore.exceptions

                try:
                    self._session = boto3.Session(profile_name=self._profile, region_name=self._region)
                except botocore.exceptions.ProfileNotFound as exc:
                    raise BackendError(profile_not_found(self._profile, exc)) from None
            if not self._session.region_name:
                raise BackendError(
                    "No AWS region is set: pass --region (e.g. --region us-east-1), set AWS_REGION, "
                    "or set region in the spec's [sagemaker] section."
                )
            # A mistyped region is answered now, before any call waits on a host that does not exist.
            check_region_name(self._session.region_name)
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

    def close(self) -> None:
        """Part of the Backend protocol: boto3's clients hold no connection worth closing,
        and a poll in progress is never waited on."""

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

    def launch(self, spec: TuningSpec) -> str:
        """Create the tuning job with the SDK's MXNet estimator and HyperparameterTuner."""
        from hpo_tui.spec import SpecError, validate

        issues = validate(spec)
        if issues:
            raise SpecError(issues)  # before any AWS call: nothing is created or uploaded
        self._adopt_spec_settings(spec)
        # The account's problems (quota, role, region, partition, data) before anything is
        # uploaded or billed; what cannot be checked does not block.
        checks = self.preflight(spec)
        if any(check.failed for check in checks):
            raise BackendError(failure_text(checks))
        name = launch_tuning_job(self.boto_session, self._call, spec, retry_delay=self.launch_retry_delay)
        self._param_order[name] = tuple(spec.ranges)
        price = spec.sagemaker.price_per_hour
        if price:
            # Given once, in the spec: kept for the instance type, so any later attach shows dollars.
            self.notes.extend(filter(None, [remember_price(spec.estimator.instance_type, price)]))
        return name

    def _price_of(self, name: str) -> Any:
        """Each training job's instance type at the price the user gave for it (settings.toml
        [prices], filled from the spec's price_per_hour at launch); the instance types seen are
        kept for remember_price()."""
        priced = price_from_table(load_prices())

        def price_of(definitions: list[Any], jobs: tuple[Any, ...]) -> float | None:
            self._instance_types[name] = tuple(sorted({d.instance_type for d in definitions if d.instance_type}))
            return priced(definitions, jobs)

        return price_of

    def remember_price(self, name: str, price: float) -> str:
        """Keep `price` for the instance type of tuning job `name` (as polled last), so that
        later reports of any tuning job of that type show dollars. Returns what was done."""
        types = self._instance_types.get(name, ())
        if len(types) != 1:
            return (f"the price was not kept: {name} runs {', '.join(types) or 'no known instance type'}; "
                    "give each type its price in the [prices] table of settings.toml")
        problem = remember_price(types[0], price)
        return problem or f"kept ${price:g}/instance-hour for {types[0]} (settings.toml [prices])"

    def preflight(self, spec: TuningSpec) -> list[Check]:
        """The read-only pre-flight checks of this account for a spec (`hpo-tui doctor`)."""
        self._adopt_spec_settings(spec)
        return run_checks(self.boto_session, spec)

    # ------------------------------------------------------------------ poll

    def poll(self, name: str, cursor: Any = None, *, points: bool = True) -> Snapshot:
        """One refresh: 1 describe + ceil(N/100) list pages + new log events (usually 1 page)
        + at most MaxParallelTrainingJobs DescribeTrainingJob of running jobs and
        ENDED_DESCRIBES_PER_POLL of ended ones (spot billing, once each).

        points=False reads no log line: the jobs there are now get their rows from the list
        pages, and their curves from curves() when shown; later polls with the cursor read
        the logs of the jobs that start after it, and of those curves() has read."""
        with self._lock:
            watch = self._watches.setdefault(name, _Watch())
            loaded = dict(watch.loaded)
        job_logs: dict[str, JobLog] = {}
        try:
            snapshot = fetch_snapshot(
                self._call, self.region, name, cursor if isinstance(cursor, PollCursor) else None,
                self._param_order.get(name), self._price_of(name),
                with_points=points, loaded=loaded, job_logs=job_logs,
            )
        except Transient as exc:
            return self._stale(name, watch, cursor, exc)
        watch.failures_in_row = 0
        snapshot = replace(snapshot, throttle_count=watch.throttle_count)
        with self._lock:
            watch.last_good = snapshot
            watch.by_cursor = [*watch.by_cursor[-(KEPT_SNAPSHOTS - 1):], (snapshot.cursor, snapshot)]
            watch.job_logs = job_logs
        return snapshot

    def curves(self, name: str, jobs: list[str], metric: str | None = None) -> tuple[MetricPoint, ...]:
        """Every metric point of these training jobs (of one metric, when given), each from its
        own log streams: one FilterLogEvents query per job, usually one page. Jobs the last
        poll did not list are skipped (the next request asks again). Raises AwsUnavailable
        when AWS throttles or cannot be reached; the jobs read before that stay read."""
        with self._lock:
            watch = self._watches.setdefault(name, _Watch())
            infos = {job: watch.job_logs[job] for job in jobs if job in watch.job_logs}
        out: list[MetricPoint] = []
        for job, info in infos.items():
            try:
                points, log = read_job_log(self._call, job, info, int(time.time() * 1000))
            except Transient as exc:
                raise AwsUnavailable(f"reading the log of {job}: {exc}", retry_after=self.default_interval) from None
            with self._lock:
                watch.loaded[job] = log
            out.extend(p for p in points if metric is None or p.metric == metric)
        return tuple(out)

    def _stale(self, name: str, watch: _Watch, cursor: Any, exc: Transient) -> Snapshot:
        """The last good data, marked stale, with a slower suggested interval. Never raises."""
        if exc.throttled:
            watch.throttle_count += 1
        watch.failures_in_row += 1
        interval = min(MAX_INTERVAL, self.default_interval * 2**watch.failures_in_row)
        what = "AWS is throttling requests (Rate exceeded)" if exc.throttled else f"AWS unreachable: {exc}"
        last = next((snap for kept, snap in reversed(watch.by_cursor) if cursor is not None and kept is cursor),
                    watch.last_good)
        if last is None:
            raise AwsUnavailable(
                f"{what} while reading tuning job {name!r} in region {self.region}. The dashboard "
                f"tries again in {interval:.0f} s; a command can be run again. If this persists, check "
                "the network, --region and `hpo-tui doctor --backend sagemaker`.",
                retry_after=interval,
            )
        now = time.time()
        age = now - last.fetched_at
        return replace(
            last,
            new_points=(),  # the caller already has them
            cursor=cursor if cursor is not None else last.cursor,
            throttle_count=watch.throttle_count,
            data_age=age,
            suggested_interval=interval,
            warning=f"{what}; showing data from {age:.0f} s ago, next try in {interval:.0f} s",
        )


    # ------------------------------------------------------------------ logs, stop, list

    def log_tail(self, job: str, cursor: Any = None) -> LogChunk:
        """New log lines of one training job (all of them for cursor None)."""
        return log_tail(self._call, job, cursor)

    def stop(self, name: str) -> bool:
        """StopHyperParameterTuningJob, sent before anything else is read (a failing log read
        or poll never keeps the stop from going out). Stopping a job that already ended is a
        success: returns False then, True when the stop was sent and accepted."""
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
                return False
            if self.tuning_job_status(name) in {"Completed", "Failed", "Stopped", "Stopping", "Deleting",
                                                "DeleteFailed"}:
                return False
            raise
        return True

    def delete_in_account(self, name: str) -> None:
        """DeleteHyperParameterTuningJob: SageMaker's record of an ended tuning job goes; its
        training jobs, models and logs stay. Only `hpo-tui delete --in-account` calls it."""
        status = self.tuning_job_status(name)
        if status not in {"Completed", "Failed", "Stopped", "DeleteFailed"}:
            raise BackendError(f"SageMaker tuning job {name} is {status}: stop it first (hpo-tui stop {name} "
                               "--backend sagemaker), then delete it once it has stopped")
        self._call("sagemaker", "delete_hyper_parameter_tuning_job", HyperParameterTuningJobName=name)

    def tuning_job_status(self, name: str) -> str:
        """The tuning job's status from one DescribeHyperParameterTuningJob."""
        try:
            desc = self._call("sagemaker", "describe_hyper_parameter_tuning_job", HyperParameterTuningJobName=name)
        except Transient as exc:
            raise AwsUnavailable(f"Could not read the status of {name!r}: {exc}", retry_after=self.default_interval) from None
        except TuningJobNotFound:
            raise TuningJobNotFound(f"No SageMaker tuning job named {name!r} in region {self.region}.") from None
        return str(desc.get("HyperParameterTuningJobStatus", ""))

    def training_job_status(self, job: str) -> str | None:
        """One training job's status from one DescribeTrainingJob: None when there is no such
        job, "" when AWS could not be asked this time (throttled: `logs --follow` goes on)."""
        try:
            desc = self._call("sagemaker", "describe_training_job", TrainingJobName=job)
        except Transient:
            return ""
        except TuningJobNotFound:
            return None
        except BackendError as exc:
            if error_code(exc.__cause__) == "ValidationException":  # "Requested resource not found"
                return None
            raise
        return str(desc.get("TrainingJobStatus", ""))

    def list_tuning_jobs(
        self, name_contains: str | None = None, status: str | None = None, limit: int = LIST_LIMIT
    ) -> list[TuningJobView]:
        """Tuning jobs in the region, newest first, page after page of 100 up to `limit`,
        filtered by AWS (NameContains, StatusEquals)."""
        params: dict[str, Any] = {"SortBy": "CreationTime", "SortOrder": "Descending", "MaxResults": 100}
        if name_contains:
            params["NameContains"] = name_contains
        if status:
            params["StatusEquals"] = status
        views: list[TuningJobView] = []
        while len(views) < limit:
            try:
                page = self._call("sagemaker", "list_hyper_parameter_tuning_jobs", **params)
            except Transient as exc:
                raise AwsUnavailable(
                    f"Could not list the tuning jobs: {exc}. Try again in a minute.", retry_after=self.default_interval
                ) from None
            views.extend(tuning_job_summary_view(s) for s in page.get("HyperParameterTuningJobSummaries", []))
            token = page.get("NextToken")
            if not token:
                break
            params["NextToken"] = token
        return views[:limit]
