"""SageMaker backend: launch with the SageMaker Python SDK v2, watch with boto3 on a small,
fixed request budget (one describe, one list page per 100 training jobs, new log events only).
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from hpo_tui.backends.base import (
    BackendError,
    LogChunk,
    MetricPoint,
    ObjectiveCounters,
    Snapshot,
    StatusCounters,
    TrainingJobView,
    TuningJobNotFound,
    TuningJobView,
    clip_reason,
    is_better,
)
from hpo_tui.engine.metrics import MetricExtractor
from hpo_tui.errors import UserError

if TYPE_CHECKING:
    import boto3

    from hpo_tui.spec import TuningSpec

LOG_GROUP = "/aws/sagemaker/TrainingJobs"
LIST_PAGE_SIZE = 100  # the API's maximum: one page per 100 training jobs
# botocore retries throttled and failed calls itself; only what outlasts this reaches us.
POLL_RETRIES = {"mode": "adaptive", "max_attempts": 10}
MAX_INTERVAL = 240.0  # ceiling of the poll back-off, seconds
# Log events can be ingested a little after their timestamp; re-read this window each
# poll (deduplicated by eventId) so late arrivals are not skipped.
LOG_OVERLAP_MS = 120_000
LOG_TAIL_MAX_PAGES = 20
LAUNCH_ATTEMPTS = 4
LAUNCH_RETRY_DELAY = 2.0  # seconds, doubled per attempt
SAMPLE_DATA = "s3://sagemaker-sample-data-{region}/mxnet/mnist/{channel}"

_THROTTLE_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
        "ProvisionedThroughputExceededException",
    }
)
_SERVER_CODES = frozenset(
    {"InternalFailure", "InternalError", "InternalServerError", "InternalServerException", "ServiceUnavailable"}
)
_EXPIRED_CODES = frozenset({"ExpiredToken", "ExpiredTokenException", "TokenRefreshRequired", "RequestExpired"})
_BAD_CREDENTIAL_CODES = frozenset(
    {"InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch", "InvalidAccessKeyId"}
)
_DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"})
# S3 operations whose IAM action has another name.
_S3_ACTIONS = {
    "ListObjectsV2": "ListBucket",
    "ListObjects": "ListBucket",
    "HeadBucket": "ListBucket",
    "HeadObject": "GetObject",
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "ListBuckets": "ListAllMyBuckets",
}
# Operations the SDK makes on other services during a launch (ClientError has no service name).
_OTHER_SERVICE_OPS = {
    **{op: "s3" for op in (*_S3_ACTIONS, "CreateBucket", "PutObject", "GetObject", "GetBucketLocation")},
    "GetCallerIdentity": "sts",
}
_INTERNAL_HP = re.compile(r"^(_|sagemaker_)")
_ALREADY_DONE = re.compile(
    r"already (been )?(stopped|stopping|completed|failed)|not in (an? )?(InProgress|in progress|running)"
    r"|is (Completed|Stopped|Stopping|Failed)\b|cannot be stopped",
    re.IGNORECASE,
)
_MONEY_HINT = "No training instance was started by this failed call."


class AwsUnavailable(BackendError):
    """AWS throttled us or could not be reached, beyond botocore's retries, with no data to keep."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class _Transient(Exception):
    """Internal: a failure worth waiting out (throttling, 5xx, network)."""

    def __init__(self, message: str, throttled: bool) -> None:
        super().__init__(message)
        self.throttled = throttled


@dataclass
class _JobProgress:
    best: float | None = None
    last_epoch: int | None = None
    last_objective: float | None = None


@dataclass
class PollCursor:
    """Where the last poll stopped reading the logs. Opaque to the UI; each poll returns a
    new one, so an old cursor stays valid (re-polling with it returns the same points again).
    """

    log_start_ms: int | None = None
    seen: dict[str, int] = field(default_factory=dict)  # eventId -> timestamp, inside the overlap
    extractors: dict[str, MetricExtractor] = field(default_factory=dict)  # per log stream
    progress: dict[str, _JobProgress] = field(default_factory=dict)  # per training job


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

    def launch(self, spec: TuningSpec) -> str:
        """Create the tuning job with the SDK's MXNet estimator and HyperparameterTuner."""
        from hpo_tui.spec import SpecError, validate

        issues = validate(spec)
        if issues:
            raise SpecError(issues)  # before any AWS call: nothing is created or uploaded
        self._adopt_spec_settings(spec)
        role = spec.sagemaker.role_arn or os.environ.get("SAGEMAKER_ROLE_ARN")
        if not role:
            raise UserError(
                "No IAM role for the training jobs: set role_arn in the spec's [sagemaker] section or "
                "export SAGEMAKER_ROLE_ARN=arn:aws:iam::<account>:role/<role> (a role SageMaker can "
                "assume; see 'Running on SageMaker' in the README)."
            )
        source_dir = resolve_source_dir(spec)
        name = spec.tuning_job_name or make_job_name(spec)
        session = self.boto_session()
        region = session.region_name
        # The SDK would build its own STS endpoint for this; ask through our session instead.
        account = self._call("sts", "get_caller_identity")["Account"]

        quiet_sdk_logging()
        import botocore.config
        import sagemaker
        from sagemaker.mxnet import MXNet
        from sagemaker.tuner import HyperparameterTuner

        # No botocore retries on the create client: a retried create after a read timeout could
        # hit a job AWS already accepted. _create_once describes by name before any retry.
        create_client = session.client(
            "sagemaker", config=botocore.config.Config(retries={"mode": "standard", "max_attempts": 1})
        )
        request: dict[str, Any] = {}

        def capture(params: dict[str, Any], **_: Any) -> None:
            request.clear()
            request.update(copy.deepcopy(params))

        create_client.meta.events.register(
            "provide-client-params.sagemaker.CreateHyperParameterTuningJob", capture
        )
        sm_session = sagemaker.Session(
            boto_session=session,
            sagemaker_client=create_client,
            default_bucket=f"sagemaker-{region}-{account}",
        )
        try:
            estimator = MXNet(
                entry_point=spec.estimator.entry_point,
                source_dir=str(source_dir),
                role=role,
                instance_count=spec.estimator.instance_count,
                instance_type=spec.estimator.instance_type,
                framework_version=spec.estimator.framework_version,
                py_version=spec.estimator.py_version,
                hyperparameters=dict(spec.estimator.hyperparameters),
                base_job_name=spec.estimator.base_job_name,
                sagemaker_session=sm_session,
            )
            tuner = HyperparameterTuner(estimator=estimator, **tuner_arguments(spec))
        except ValueError as exc:
            raise BackendError(f"The SageMaker SDK rejected the spec: {exc}. Fix the spec and launch again.") from None

        inputs = self._resolve_inputs(spec, sm_session, region, name)

        def fit() -> None:
            tuner.fit(inputs, job_name=name, wait=False)

        self._create_once(name, fit, create_client, request)
        self._param_order[name] = tuple(spec.ranges)
        return name

    def _create_once(
        self, name: str, fit: Callable[[], None], create_client: Any, request: dict[str, Any]
    ) -> None:
        """Run the create; after a timeout or dropped connection, create again only if a describe
        by name shows that AWS did not accept the first one (so no duplicate tuning job)."""
        delay = self.launch_retry_delay
        attempt = 0
        while True:
            attempt += 1
            try:
                if attempt == 1 or not request:
                    fit()  # uploads the source (idempotent) and sends the create
                else:
                    create_client.create_hyper_parameter_tuning_job(**request)
                return
            except Exception as exc:  # noqa: BLE001 -- translated or retried below
                translated = translate_error(exc, "sagemaker", "CreateHyperParameterTuningJob")
                if _error_code(exc) == "ResourceInUse" and attempt > 1 and self._tuning_job_exists(name):
                    return  # the earlier attempt went through after all
                if translated is exc:
                    raise
                if not isinstance(translated, _Transient):
                    raise translated from exc
                if request and self._tuning_job_exists(name):
                    return  # AWS accepted it; only the response was lost
                if attempt >= LAUNCH_ATTEMPTS:
                    raise BackendError(
                        f"Could not create tuning job {name!r}: {translated}. AWS did not record it "
                        f"(checked by name), so nothing was launched. Try Launch again in a minute."
                    ) from exc
            time.sleep(delay)
            delay *= 2

    def _tuning_job_exists(self, name: str) -> bool:
        try:
            self._call("sagemaker", "describe_hyper_parameter_tuning_job", HyperParameterTuningJobName=name)
        except TuningJobNotFound:
            return False
        except _Transient:
            # Cannot tell; refuse to risk a duplicate and let the user look.
            raise BackendError(
                f"The create request for {name!r} timed out and AWS cannot be asked whether it "
                f"arrived. Check with `hpo-tui jobs --backend sagemaker` before launching again."
            ) from None
        return True

    def _resolve_inputs(self, spec: TuningSpec, sm_session: Any, region: str, name: str) -> dict[str, str]:
        """S3 URIs as they are; local directories uploaded to the default bucket; else sample data."""
        inputs: dict[str, str] = {}
        for channel in ("train", "test"):
            value = getattr(spec.channels, channel)
            if not value:
                inputs[channel] = SAMPLE_DATA.format(region=region, channel=channel)
            elif value.startswith("s3://"):
                inputs[channel] = value
            else:
                path = Path(value).expanduser()
                if not path.exists():
                    raise UserError(
                        f"channels.{channel}: {value!r} does not exist. Give an existing directory or "
                        f"an s3:// URI, or leave it empty for SageMaker's public MNIST sample data."
                    )
                try:
                    inputs[channel] = sm_session.upload_data(str(path), key_prefix=f"{name}/data/{channel}")
                except Exception as exc:  # noqa: BLE001 -- S3 failures get the same clear messages
                    raise _as_user_error(translate_error(exc, "s3", "PutObject")) from exc
        return inputs

    # ------------------------------------------------------------------ poll

    def poll(self, name: str, cursor: Any = None) -> Snapshot:
        """One refresh: 1 describe + ceil(N/100) list pages + new log events (usually 1 page)."""
        watch = self._watches.setdefault(name, _Watch())
        try:
            snapshot = self._fetch(name, cursor if isinstance(cursor, PollCursor) else None)
        except _Transient as exc:
            return self._stale(name, watch, cursor, exc)
        watch.failures_in_row = 0
        snapshot = replace(snapshot, throttle_count=watch.throttle_count)
        watch.last_good = snapshot
        return snapshot

    def _stale(self, name: str, watch: _Watch, cursor: Any, exc: _Transient) -> Snapshot:
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

    def _fetch(self, name: str, cursor: PollCursor | None) -> Snapshot:
        fetched_at = time.time()
        try:
            desc = self._call("sagemaker", "describe_hyper_parameter_tuning_job", HyperParameterTuningJobName=name)
        except TuningJobNotFound:
            raise TuningJobNotFound(
                f"No SageMaker tuning job named {name!r} in region {self.region}: check the name "
                "(`hpo-tui jobs --backend sagemaker`) and --region."
            ) from None
        summaries = self._list_training_jobs(name)
        config = desc.get("HyperParameterTuningJobConfig", {})
        objective = config.get("HyperParameterTuningJobObjective", {})
        objective_name = objective.get("MetricName", "")
        objective_type = objective.get("Type", "Maximize")
        definitions = metric_definitions_of(desc)

        new_cursor = copy.deepcopy(cursor) if cursor is not None else PollCursor()
        points: list[MetricPoint] = []
        if summaries:
            if new_cursor.log_start_ms is None:
                created = desc.get("CreationTime")
                new_cursor.log_start_ms = int(created.timestamp() * 1000) if created else 0
            known = {s["TrainingJobName"] for s in summaries}
            points = self._read_log_points(name, new_cursor, definitions, known, objective_name, objective_type)

        ordered = sorted(summaries, key=lambda s: (_ts(s.get("CreationTime")) or 0.0, s["TrainingJobName"]))
        order = self._param_order.get(name) or parameter_names(config)
        jobs = tuple(
            training_job_view(s, index, new_cursor.progress.get(s["TrainingJobName"]), order)
            for index, s in enumerate(ordered)
        )
        return Snapshot(
            tuning_job=tuning_job_view(desc, order, job_count=len(summaries)),
            training_jobs=jobs,
            new_points=tuple(points),
            cursor=new_cursor,
            fetched_at=fetched_at,
        )

    def _list_training_jobs(self, name: str) -> list[dict[str, Any]]:
        summaries: list[dict[str, Any]] = []
        params: dict[str, Any] = {
            "HyperParameterTuningJobName": name,
            "MaxResults": LIST_PAGE_SIZE,
            # Never FinalObjectiveMetricValue: that order leaves out jobs without an objective.
            "SortBy": "CreationTime",
            "SortOrder": "Ascending",
        }
        while True:
            page = self._call("sagemaker", "list_training_jobs_for_hyper_parameter_tuning_job", **params)
            summaries.extend(page.get("TrainingJobSummaries", []))
            token = page.get("NextToken")
            if not token:
                return summaries
            params["NextToken"] = token

    def _read_log_points(
        self,
        name: str,
        cursor: PollCursor,
        definitions: list[tuple[str, str]],
        known_jobs: set[str],
        objective_name: str,
        objective_type: str,
    ) -> list[MetricPoint]:
        """New metric points from CloudWatch Logs; each event is parsed exactly once."""
        params: dict[str, Any] = {
            "logGroupName": LOG_GROUP,
            "logStreamNamePrefix": name,
            "startTime": cursor.log_start_ms or 0,
        }
        pattern = filter_pattern(definitions)
        if pattern:
            params["filterPattern"] = pattern
        events: list[dict[str, Any]] = []
        while True:
            try:
                page = self._call("logs", "filter_log_events", **params)
            except BackendError as exc:
                if _error_code(exc.__cause__) == "ResourceNotFoundException":
                    return []  # no training job has written a log yet
                raise
            events.extend(page.get("events", []))
            token = page.get("nextToken")
            if not token:
                break
            params["nextToken"] = token

        points: list[MetricPoint] = []
        newest = cursor.log_start_ms or 0
        for event in sorted(events, key=lambda e: (e.get("timestamp", 0), e.get("eventId", ""))):
            event_id = event.get("eventId", "")
            stream = event.get("logStreamName", "")
            job, _, host = stream.partition("/")
            # The prefix also matches other tuning jobs whose name starts with ours (and moto
            # ignores the prefix): keep only this tuning job's training jobs.
            if event_id in cursor.seen or job not in known_jobs:
                continue
            timestamp = int(event.get("timestamp", 0))
            cursor.seen[event_id] = timestamp
            newest = max(newest, timestamp)
            if host.startswith("algo-") and not host.startswith("algo-1-"):
                continue  # one host's log per job, as SageMaker's metrics come from algo-1
            extractor = cursor.extractors.get(stream)
            if extractor is None:
                extractor = cursor.extractors[stream] = MetricExtractor(definitions)
            progress = cursor.progress.setdefault(job, _JobProgress())
            for line in str(event.get("message", "")).splitlines():
                for p in extractor.feed(line):
                    points.append(MetricPoint(job, p.metric, p.epoch, timestamp / 1000.0, p.value))
                    # Same bookkeeping as the local runner: any metric advances the epoch.
                    if progress.last_epoch is None or p.epoch > progress.last_epoch:
                        progress.last_epoch = p.epoch
                    if p.metric == objective_name:
                        progress.last_objective = p.value
                        if is_better(p.value, progress.best, objective_type):
                            progress.best = p.value
        start = max(cursor.log_start_ms or 0, newest - LOG_OVERLAP_MS)
        cursor.log_start_ms = start
        cursor.seen = {eid: ts for eid, ts in cursor.seen.items() if ts >= start}
        return points

    # ------------------------------------------------------------------ logs, stop, list

    def log_tail(self, job: str, cursor: Any = None) -> LogChunk:
        """New log lines of one training job (all of them for cursor None)."""
        state: dict[str, str | None] = dict(cursor) if isinstance(cursor, dict) else {}
        try:
            if not state:
                streams = self._call(
                    "logs", "describe_log_streams", logGroupName=LOG_GROUP, logStreamNamePrefix=f"{job}/"
                ).get("logStreams", [])
                state = {s["logStreamName"]: None for s in sorted(streams, key=lambda s: s["logStreamName"])}
            lines: list[str] = []
            for stream, token in list(state.items()):
                label = f"[{stream.partition('/')[2]}] " if len(state) > 1 else ""
                for _ in range(LOG_TAIL_MAX_PAGES):
                    params: dict[str, Any] = {"logGroupName": LOG_GROUP, "logStreamName": stream, "startFromHead": True}
                    if token:
                        params["nextToken"] = token
                    page = self._call("logs", "get_log_events", **params)
                    for event in page.get("events", []):
                        lines.extend(label + line for line in str(event.get("message", "")).splitlines())
                    next_token = page.get("nextForwardToken")
                    if not page.get("events") or not next_token or next_token == token:
                        token = next_token or token
                        break
                    token = next_token
                state[stream] = token
        except _Transient:
            return LogChunk((), cursor)  # nothing lost: the same cursor reads them next time
        except BackendError as exc:
            if _error_code(exc.__cause__) == "ResourceNotFoundException":
                return LogChunk((), cursor)  # the job has not logged anything yet
            raise
        return LogChunk(tuple(lines), state)

    def stop(self, name: str) -> None:
        """StopHyperParameterTuningJob; stopping a job that already ended is a success."""
        try:
            self._call("sagemaker", "stop_hyper_parameter_tuning_job", HyperParameterTuningJobName=name)
        except _Transient as exc:
            raise BackendError(f"Could not stop {name!r}: {exc}. Press stop again in a moment.") from None
        except TuningJobNotFound:
            raise TuningJobNotFound(f"No SageMaker tuning job named {name!r} in region {self.region}.") from None
        except BackendError as exc:
            if _error_code(exc.__cause__) != "ValidationException":
                raise
            message = _error_message(exc.__cause__)
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


# ---------------------------------------------------------------------- launch helpers


def quiet_sdk_logging() -> None:
    """Before importing the SDK: no v3 banner, and no INFO/WARNING lines on stdout/stderr that
    would land on top of a full-screen terminal UI (unless the user configured these loggers)."""
    import logging

    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    for name in ("sagemaker", "sagemaker.config"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.ERROR)


def resolve_source_dir(spec: TuningSpec) -> Path:
    """The spec's source_dir when it exists, else the training/ dir shipped with hpo-tui."""
    candidate = Path(spec.estimator.source_dir).expanduser() if spec.estimator.source_dir else None
    if candidate is not None and candidate.is_dir():
        source = candidate.resolve()
    else:
        from hpo_tui.paths import training_dir

        source = training_dir()
    if not (source / spec.estimator.entry_point).is_file():
        raise UserError(
            f"estimator.entry_point: {spec.estimator.entry_point!r} is not in {source}. Set "
            "estimator.source_dir to the folder that holds your training script."
        )
    return source


def make_job_name(spec: TuningSpec) -> str:
    """A SageMaker-valid tuning job name (<= 32 chars) from the spec's base job name."""
    from hpo_tui.spec import make_tuning_job_name

    return make_tuning_job_name(spec)


def tuner_arguments(spec: TuningSpec) -> dict[str, Any]:
    """HyperparameterTuner keyword arguments for a spec (SDK classes imported lazily)."""
    from sagemaker.tuner import (
        CategoricalParameter,
        ContinuousParameter,
        HyperbandStrategyConfig,
        IntegerParameter,
        StrategyConfig,
        TuningJobCompletionCriteriaConfig,
    )

    from hpo_tui.spec import hyperband_resources, resolved_max_jobs

    ranges: dict[str, Any] = {}
    for name, param in spec.ranges.items():
        if param.kind == "integer":
            ranges[name] = IntegerParameter(param.min, param.max, scaling_type=param.scaling)
        elif param.kind == "continuous":
            ranges[name] = ContinuousParameter(param.min, param.max, scaling_type=param.scaling)
        else:
            ranges[name] = CategoricalParameter([str(v) for v in param.values])
    args: dict[str, Any] = {
        "objective_metric_name": spec.objective.name,
        "hyperparameter_ranges": ranges,
        "metric_definitions": [{"Name": m.name, "Regex": m.regex} for m in spec.metric_definitions],
        "strategy": spec.strategy,
        "objective_type": spec.objective.type,
        # Grid: the number of combinations. SDK 2.257 would send MaxNumberOfTrainingJobs=None
        # for max_jobs=None, which botocore rejects before the request leaves.
        "max_jobs": resolved_max_jobs(spec),
        "max_parallel_jobs": spec.max_parallel_jobs,
        "early_stopping_type": spec.early_stopping,
        "base_tuning_job_name": spec.estimator.base_job_name,
    }
    if spec.max_runtime_seconds:
        args["max_runtime_in_seconds"] = spec.max_runtime_seconds
    if spec.random_seed is not None:
        args["random_seed"] = spec.random_seed
    resources = hyperband_resources(spec) if spec.strategy == "Hyperband" else None
    if resources is not None:
        low, high = resources
        args["strategy_config"] = StrategyConfig(HyperbandStrategyConfig(max_resource=high, min_resource=low))
    crit = spec.completion
    if crit.target_objective_value is not None or crit.max_jobs_not_improving is not None:
        args["completion_criteria_config"] = TuningJobCompletionCriteriaConfig(
            max_number_of_training_jobs_not_improving=crit.max_jobs_not_improving,
            target_objective_metric_value=crit.target_objective_value,
        )
    return args


# ---------------------------------------------------------------------- poll helpers


def metric_definitions_of(desc: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, regex) pairs from the tuning job's training job definition."""
    definition = desc.get("TrainingJobDefinition") or (desc.get("TrainingJobDefinitions") or [{}])[0]
    metrics = definition.get("AlgorithmSpecification", {}).get("MetricDefinitions", [])
    return [(m["Name"], m["Regex"]) for m in metrics]


def filter_pattern(definitions: list[tuple[str, str]]) -> str | None:
    """A CloudWatch Logs filter pattern matching any metric's literal text: `?"a" ?"b"`.

    None (read every event) when some regex starts without at least 3 literal characters.
    """
    terms: list[str] = []
    for _, regex in definitions:
        literal = _literal_prefix(regex)
        if len(literal) < 3:
            return None
        if literal not in terms:
            terms.append(literal)
    if not terms:
        return None
    return " ".join(f'?"{t}"' for t in terms)


def _literal_prefix(regex: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(regex):
        ch = regex[i]
        if ch == "\\" and i + 1 < len(regex) and not regex[i + 1].isalnum():
            out.append(regex[i + 1])
            i += 2
            continue
        if ch in ".^$*+?{}[]()|\\":
            # A quantifier applies to the previous character, which then is not literal.
            if ch in "*?{" and out:
                out.pop()
            break
        out.append(ch)
        i += 1
    # Filter-pattern terms are quoted; keep to characters that need no escaping, and end on
    # a letter or digit so the term matches however CloudWatch splits words at punctuation.
    literal = "".join(out).split('"')[0]
    return re.sub(r"[^A-Za-z0-9]+$", "", literal).strip()


def parameter_names(config: dict[str, Any]) -> tuple[str, ...]:
    ranges = config.get("ParameterRanges", {})
    names: list[str] = []
    for key in ("CategoricalParameterRanges", "ContinuousParameterRanges", "IntegerParameterRanges"):
        names.extend(r["Name"] for r in ranges.get(key, []))
    return tuple(n for n in names if not _INTERNAL_HP.match(n))


def plain_value(value: str) -> str:
    """A hyperparameter value as the user typed it: the SDK JSON-quotes framework strings."""
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        try:
            decoded = json.loads(value)
        except ValueError:
            return value
        if isinstance(decoded, str):
            return decoded
    return value


def _ts(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


def _objective_value(metric: dict[str, Any] | None) -> float | None:
    if not metric or metric.get("Value") is None:
        return None
    value = float(metric["Value"])
    return value if math.isfinite(value) else None


def training_job_view(
    summary: dict[str, Any], index: int, progress: _JobProgress | None, order: tuple[str, ...]
) -> TrainingJobView:
    tuned = {k: plain_value(str(v)) for k, v in summary.get("TunedHyperParameters", {}).items() if not _INTERNAL_HP.match(k)}
    ordered = {k: tuned[k] for k in order if k in tuned}
    ordered.update({k: v for k, v in tuned.items() if k not in ordered})
    final = _objective_value(summary.get("FinalHyperParameterTuningJobObjectiveMetric"))
    if final is None and progress is not None:
        # Until SageMaker reports it (and for jobs it never reports it for), the last value
        # the log emitted, which is what the final objective will be -- as the local engine shows.
        final = progress.last_objective
    return TrainingJobView(
        name=summary["TrainingJobName"],
        status=summary.get("TrainingJobStatus", "InProgress"),
        objective_status=summary.get("ObjectiveStatus") or "Pending",
        hyperparameters=ordered,
        final_objective=final,
        best_objective=progress.best if progress else None,
        last_epoch=progress.last_epoch if progress else None,
        created_at=_ts(summary.get("CreationTime")),
        started_at=_ts(summary.get("TrainingStartTime")),
        ended_at=_ts(summary.get("TrainingEndTime")),
        failure_reason=clip_reason(summary.get("FailureReason") or None),
        launch_index=index,
    )


def _status_counters(raw: dict[str, Any] | None) -> StatusCounters:
    raw = raw or {}
    return StatusCounters(
        completed=raw.get("Completed", 0),
        in_progress=raw.get("InProgress", 0),
        retryable_error=raw.get("RetryableError", 0),
        non_retryable_error=raw.get("NonRetryableError", 0),
        stopped=raw.get("Stopped", 0),
    )


def _objective_counters(raw: dict[str, Any] | None) -> ObjectiveCounters:
    raw = raw or {}
    return ObjectiveCounters(succeeded=raw.get("Succeeded", 0), pending=raw.get("Pending", 0), failed=raw.get("Failed", 0))


def _max_epochs(desc: dict[str, Any]) -> int | None:
    config = desc.get("HyperParameterTuningJobConfig", {})
    for r in config.get("ParameterRanges", {}).get("IntegerParameterRanges", []):
        if r.get("Name") == "num_epoch":
            return int(r["MaxValue"])
    definition = desc.get("TrainingJobDefinition") or {}
    static = definition.get("StaticHyperParameters", {})
    if "num_epoch" in static:
        try:
            return int(plain_value(static["num_epoch"]))
        except ValueError:
            return None
    hb = config.get("StrategyConfig", {}).get("HyperbandStrategyConfig", {})
    return hb.get("MaxResource")


def _completion_reason(desc: dict[str, Any]) -> str | None:
    """Why SageMaker completed the tuning job early, in the local engine's words."""
    if desc.get("HyperParameterTuningJobStatus") != "Completed":
        return None
    config = desc.get("HyperParameterTuningJobConfig", {})
    criteria = config.get("TuningJobCompletionCriteria") or {}
    details = desc.get("TuningJobCompletionDetails") or {}
    target = criteria.get("TargetObjectiveMetricValue")
    best = _objective_value((desc.get("BestTrainingJob") or {}).get("FinalHyperParameterTuningJobObjectiveMetric"))
    if target is not None and best is not None:
        maximize = config.get("HyperParameterTuningJobObjective", {}).get("Type", "Maximize") == "Maximize"
        if (best >= target) if maximize else (best <= target):
            return "target objective value reached"
    patience = (criteria.get("BestObjectiveNotImproving") or {}).get("MaxNumberOfTrainingJobsNotImproving")
    not_improving = details.get("NumberOfTrainingJobsObjectiveNotImproving")
    if patience and not_improving is not None and not_improving >= patience:
        return f"{patience} jobs did not improve the best by 1%"
    if details.get("ConvergenceDetectedTime"):
        return "convergence detected"
    return None


def tuning_job_view(desc: dict[str, Any], order: tuple[str, ...], job_count: int = 0) -> TuningJobView:
    config = desc.get("HyperParameterTuningJobConfig", {})
    objective = config.get("HyperParameterTuningJobObjective", {})
    limits = config.get("ResourceLimits", {})
    best = desc.get("BestTrainingJob") or {}
    return TuningJobView(
        name=desc["HyperParameterTuningJobName"],
        backend="sagemaker",
        status=desc.get("HyperParameterTuningJobStatus", "InProgress"),
        strategy=config.get("Strategy", ""),
        objective_name=objective.get("MetricName", ""),
        objective_type=objective.get("Type", "Maximize"),
        # Grid may leave the limit out (SageMaker computes it): count the jobs, as local does.
        max_jobs=limits.get("MaxNumberOfTrainingJobs") or job_count,
        max_parallel_jobs=limits.get("MaxParallelTrainingJobs", 0),
        status_counters=_status_counters(desc.get("TrainingJobStatusCounters")),
        objective_counters=_objective_counters(desc.get("ObjectiveStatusCounters")),
        best_training_job=best.get("TrainingJobName"),
        best_objective=_objective_value(best.get("FinalHyperParameterTuningJobObjectiveMetric")),
        created_at=_ts(desc.get("CreationTime")),
        ended_at=_ts(desc.get("HyperParameterTuningEndTime")),
        failure_reason=clip_reason(desc.get("FailureReason") or None),
        completion_reason=_completion_reason(desc),
        tuned_parameters=order,
        max_epochs=_max_epochs(desc),
    )


def tuning_job_summary_view(summary: dict[str, Any]) -> TuningJobView:
    """A listing row. The listing API carries no objective; poll() fills it in."""
    limits = summary.get("ResourceLimits", {})
    return TuningJobView(
        name=summary["HyperParameterTuningJobName"],
        backend="sagemaker",
        status=summary.get("HyperParameterTuningJobStatus", "InProgress"),
        strategy=summary.get("Strategy", ""),
        objective_name="",
        objective_type="",
        max_jobs=limits.get("MaxNumberOfTrainingJobs", 0),
        max_parallel_jobs=limits.get("MaxParallelTrainingJobs", 0),
        status_counters=_status_counters(summary.get("TrainingJobStatusCounters")),
        objective_counters=_objective_counters(summary.get("ObjectiveStatusCounters")),
        created_at=_ts(summary.get("CreationTime")),
        ended_at=_ts(summary.get("HyperParameterTuningEndTime")),
    )


# ---------------------------------------------------------------------- error translation


def _error_code(exc: BaseException | None) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _error_message(exc: BaseException | None) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Message", ""))
    return str(exc or "")


def _as_user_error(exc: Exception) -> Exception:
    if isinstance(exc, _Transient):
        return BackendError(f"{exc}. Nothing was launched; try again in a minute.")
    return exc


def iam_action(service: str, operation: str) -> str:
    if service == "s3":
        operation = _S3_ACTIONS.get(operation, operation)
    return f"{service}:{operation}"


def translate_error(exc: BaseException, service: str, operation: str) -> Exception:
    """An AWS failure as a BackendError naming cause and fix, or _Transient (worth waiting out).

    `operation` may be a method name (describe_...) or an API name; ClientError's own wins.
    """
    import botocore.exceptions as bexc

    if isinstance(exc, (BackendError, _Transient)):
        return exc
    api = getattr(exc, "operation_name", None) or _api_name(operation)
    service = _OTHER_SERVICE_OPS.get(api, service)
    if isinstance(exc, (bexc.NoCredentialsError, bexc.PartialCredentialsError)):
        return BackendError(
            "No AWS credentials found. Configure them with `aws configure` (or `aws sso login`), "
            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pick a profile with --profile / "
            "AWS_PROFILE. To tune on this machine without AWS, use --backend local."
        )
    if isinstance(exc, (bexc.TokenRetrievalError, bexc.SSOTokenLoadError, bexc.UnauthorizedSSOTokenError)):
        return BackendError(
            f"Your AWS login has expired ({exc}). Log in again (e.g. `aws sso login`) and retry."
        )
    if isinstance(exc, bexc.NoRegionError):
        return BackendError("No AWS region is set: pass --region, or set AWS_REGION.")
    if isinstance(exc, (bexc.ConnectionError, bexc.HTTPClientError)):
        return _Transient(f"network error talking to AWS ({type(exc).__name__})", throttled=False)
    upload_failed = _s3_upload_failure(exc)
    if upload_failed is not None:
        return upload_failed
    if not isinstance(exc, bexc.ClientError):
        return exc if isinstance(exc, Exception) else RuntimeError(str(exc))

    code = _error_code(exc)
    message = _error_message(exc)
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if code in _THROTTLE_CODES or "rate exceeded" in message.lower():
        return _Transient(f"throttled on {api} ({code}: {message})", throttled=True)
    if code in _SERVER_CODES or (isinstance(status, int) and status >= 500):
        return _Transient(f"AWS error on {api} ({code}: {message})", throttled=False)
    if code in _EXPIRED_CODES:
        return BackendError(
            f"Your AWS session token has expired ({api}). Refresh the credentials (e.g. `aws sso "
            "login`, or a new `aws sts assume-role` session) and try again."
        )
    if code in _BAD_CREDENTIAL_CODES:
        return BackendError(
            f"AWS rejected the credentials ({code}: {message}). Check the access key, secret and "
            "profile in use (`aws sts get-caller-identity` shows who you are)."
        )
    if code in _DENIED_CODES:
        found = re.search(r"perform: ([A-Za-z0-9-]+:[A-Za-z0-9]+)", message)
        action = found.group(1) if found else iam_action(service, api)
        return BackendError(
            f"Access denied: your AWS identity may not call {action}. Add {action} to its IAM "
            "policy (the smallest policy is in the README, 'Running on SageMaker')."
        )
    if code in {"ResourceNotFound", "ResourceNotFoundException", "NoSuchBucket"}:
        if service == "sagemaker":
            return TuningJobNotFound(f"SageMaker could not find it ({api}): {message}")
        return BackendError(f"{api} failed, not found: {message}")
    if code == "ValidationException":
        return BackendError(f"SageMaker rejected {api}: {message} Fix the field it names and try again.")
    if code == "ResourceLimitExceeded":
        quota = re.search(r"limit '([^']+)'", message)
        which = f"the quota '{quota.group(1)}'" if quota else "a SageMaker quota"
        return BackendError(
            f"SageMaker refused {api}: {which} is exhausted ({message}). Request an increase in the "
            "Service Quotas console (Amazon SageMaker), or lower max_parallel_jobs / instance_count, "
            f"or choose another instance type. {_MONEY_HINT}"
        )
    if code == "ResourceInUse":
        return BackendError(f"{message} Pick another tuning job name and launch again.")
    return BackendError(f"AWS error on {api} ({code}): {message}")


def _s3_upload_failure(exc: BaseException) -> Exception | None:
    try:
        from boto3.exceptions import S3UploadFailedError
    except ImportError:  # pragma: no cover -- boto3 is a dependency
        return None
    if not isinstance(exc, S3UploadFailedError):
        return None
    text = str(exc)
    if "AccessDenied" in text:
        return BackendError(
            "Access denied: your AWS identity may not call s3:PutObject on the SageMaker default "
            "bucket. Add s3:PutObject to its IAM policy (see 'Running on SageMaker' in the README)."
        )
    if "SlowDown" in text or "Throttl" in text:
        return _Transient(f"throttled while uploading to S3 ({text})", throttled=True)
    return BackendError(f"Uploading to S3 failed: {text}")


def _api_name(operation: str) -> str:
    if "_" in operation or operation.islower():
        return "".join(part.capitalize() for part in operation.split("_"))
    return operation
