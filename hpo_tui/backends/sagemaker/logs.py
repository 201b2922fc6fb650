"""CloudWatch Logs for SageMaker training jobs: the poll cursor, the filter pattern built
from the metric regexes, new metric points from FilterLogEvents, and one job's log tail.

Imports only `hpo_tui.views`, `hpo_tui.engine.metrics` and this package's `errors`.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from hpo_tui.views import (
    LogChunk,
    MetricPoint,
    is_better,
)
from hpo_tui.backends.base import BackendError
from hpo_tui.backends.sagemaker.errors import AwsCall, Transient, error_code
from hpo_tui.engine.metrics import MetricExtractor
from hpo_tui.sanitize import sanitize

LOG_GROUP = "/aws/sagemaker/TrainingJobs"
# Within one log stream, events are ingested in order, but not always at once: each stream
# re-reads this window behind its own newest event (deduplicated by eventId).
LOG_OVERLAP_MS = 120_000
# A training job's log is read until this long after it ended (late ingestion), then no more.
LOG_SETTLE_MS = 300_000
LOG_TAIL_MAX_PAGES = 20


@dataclass
class JobProgress:
    best: float | None = None
    last_epoch: int | None = None
    last_objective: float | None = None


@dataclass
class StreamCursor:
    """How far one log stream was read: its newest event and the events seen near it."""

    newest_ms: int = 0
    seen: dict[str, int] = field(default_factory=dict)  # eventId -> timestamp, inside the overlap
    extractor: MetricExtractor | None = None


@dataclass
class JobLog:
    """What reading one training job's log needs: its metric definitions and objective, when it
    was created and whether (and when) it ended."""

    definitions: list[tuple[str, str]]
    objective_name: str
    objective_type: str
    created_ms: int
    ended_ms: int | None = None  # set once the job is terminal


@dataclass
class PollCursor:
    """Where the last poll stopped reading the logs: one cursor per log stream, so a stream
    whose events arrive late is never skipped because another stream is ahead. Opaque to the
    UI; each poll returns a new one, so an old cursor stays valid (re-polling with it returns
    the same points again).
    """

    streams: dict[str, StreamCursor] = field(default_factory=dict)
    settled: set[str] = field(default_factory=set)  # jobs whose log is read to the end
    ended_seen: dict[str, int] = field(default_factory=dict)  # ended jobs without TrainingEndTime
    progress: dict[str, JobProgress] = field(default_factory=dict)  # per training job
    # Per training job, what DescribeTrainingJob told (SecondaryStatus, BillableTimeInSeconds,
    # FinalMetricDataList), and the poll count it was last asked at.
    details: dict[str, dict[str, Any]] = field(default_factory=dict)
    polls: int = 0
    # Jobs whose log no poll reads: already there when a poll without points first saw them.
    # Their rows come from the list pages alone; curves() reads the log of the ones shown.
    lazy: set[str] = field(default_factory=set)


@dataclass
class LoadedLog:
    """One training job's log as read by curves(): where each of its streams stopped, and its
    progress (best, last epoch), for the polls after it to go on from."""

    streams: dict[str, StreamCursor]
    progress: JobProgress


def metric_definitions_of(definition: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, regex) pairs of one training job definition."""
    metrics = definition.get("AlgorithmSpecification", {}).get("MetricDefinitions", []) or []
    return [(m["Name"], m["Regex"]) for m in metrics]


def filter_pattern(definitions: list[tuple[str, str]]) -> str | None:
    """A CloudWatch Logs filter pattern matching any metric's literal text: `?"a" ?"b"`.

    A regex with a top-level `|` contributes one term per alternative. None (read every
    event) when some alternative starts without at least 3 literal characters.
    """
    terms: list[str] = []
    for _, regex in definitions:
        for alternative in _top_level_alternatives(regex):
            literal = _literal_prefix(alternative)
            if len(literal) < 3:
                return None
            if literal not in terms:
                terms.append(literal)
    if not terms:
        return None
    return " ".join(f'?"{t}"' for t in terms)


def _top_level_alternatives(regex: str) -> list[str]:
    """The regex split at each `|` outside groups and character classes."""
    parts: list[str] = []
    depth, in_class, start, i = 0, False, 0, 0
    while i < len(regex):
        ch = regex[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            if regex[i + 1 : i + 2] == "]":
                i += 1  # a literal ] first in the class
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        elif ch == "|" and depth == 0:
            parts.append(regex[start:i])
            start = i + 1
        i += 1
    parts.append(regex[start:])
    return parts


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


def log_start_ms(cursor: PollCursor, jobs: dict[str, JobLog]) -> int | None:
    """FilterLogEvents' startTime: the earliest point any unsettled job still needs read (its
    streams' own cursors, or its creation while it has no stream); None when none does."""
    starts: list[int] = []
    for job, info in jobs.items():
        if job in cursor.settled:
            continue
        streams = [c for name, c in cursor.streams.items() if name.partition("/")[0] == job]
        if streams:
            starts.append(max(info.created_ms, min(c.newest_ms for c in streams) - LOG_OVERLAP_MS))
        else:
            starts.append(info.created_ms)
    return min(starts) if starts else None


def read_log_points(
    call: AwsCall, name: str, cursor: PollCursor, jobs: dict[str, JobLog], now_ms: int, prefix: str | None = None,
) -> list[MetricPoint]:
    """New metric points from CloudWatch Logs (one FilterLogEvents query, usually one page);
    each event is parsed exactly once. Jobs without metric definitions (built-in algorithms)
    and jobs left to curves() (cursor.lazy) are not read. `prefix` narrows the query to some
    log streams (one job's: "JOB/"); the default is every stream of the tuning job."""
    readable = {job: info for job, info in jobs.items() if info.definitions and job not in cursor.lazy}
    start = log_start_ms(cursor, readable)
    if start is None:
        return []
    params: dict[str, Any] = {"logGroupName": LOG_GROUP, "logStreamNamePrefix": prefix or name, "startTime": start}
    every: list[tuple[str, str]] = []
    for info in readable.values():
        every.extend(d for d in info.definitions if d not in every)
    pattern = filter_pattern(every)
    if pattern:
        params["filterPattern"] = pattern
    events: list[dict[str, Any]] = []
    while True:
        try:
            page = call("logs", "filter_log_events", **params)
        except BackendError as exc:
            if error_code(exc.__cause__) == "ResourceNotFoundException":
                return []  # no training job has written a log yet
            raise
        events.extend(page.get("events", []))
        token = page.get("nextToken")
        if not token:
            break
        params["nextToken"] = token

    points: list[MetricPoint] = []
    for event in sorted(events, key=lambda e: (e.get("timestamp", 0), e.get("eventId", ""))):
        event_id = event.get("eventId", "")
        stream = event.get("logStreamName", "")
        job, _, host = stream.partition("/")
        # The prefix also matches other tuning jobs whose name starts with ours (and moto
        # ignores the prefix): keep only this tuning job's training jobs.
        info = readable.get(job)
        if info is None or job in cursor.settled:
            continue
        timestamp = int(event.get("timestamp", 0))
        sc = cursor.streams.setdefault(stream, StreamCursor())
        if event_id in sc.seen or timestamp < sc.newest_ms - LOG_OVERLAP_MS:
            continue  # read before
        sc.seen[event_id] = timestamp
        sc.newest_ms = max(sc.newest_ms, timestamp)
        if host.startswith("algo-") and not host.startswith("algo-1-"):
            continue  # one host's log per job, as SageMaker's metrics come from algo-1
        if sc.extractor is None:
            sc.extractor = MetricExtractor(info.definitions)
        progress = cursor.progress.setdefault(job, JobProgress())
        for line in str(event.get("message", "")).splitlines():
            for p in sc.extractor.feed(line):
                points.append(MetricPoint(job, p.metric, p.epoch, timestamp / 1000.0, p.value))
                # Same bookkeeping as the local runner: any metric advances the epoch.
                if progress.last_epoch is None or p.epoch > progress.last_epoch:
                    progress.last_epoch = p.epoch
                if p.metric == info.objective_name:
                    progress.last_objective = p.value
                    if is_better(p.value, progress.best, info.objective_type):
                        progress.best = p.value
    for sc in cursor.streams.values():
        sc.seen = {eid: ts for eid, ts in sc.seen.items() if ts >= sc.newest_ms - LOG_OVERLAP_MS}
    # A job that ended long enough ago has nothing more to arrive: stop reading it.
    for job, info in readable.items():
        if info.ended_ms is not None and now_ms - info.ended_ms >= LOG_SETTLE_MS:
            cursor.settled.add(job)
    return points


def read_job_log(call: AwsCall, job: str, info: JobLog, now_ms: int) -> tuple[list[MetricPoint], LoadedLog]:
    """Every metric point of one training job, from its own log streams ("JOB/" prefix): one
    FilterLogEvents query from the job's creation, one page for most jobs."""
    cursor = PollCursor()
    points = read_log_points(call, job, cursor, {job: info}, now_ms, prefix=f"{job}/")
    return points, LoadedLog(cursor.streams, cursor.progress.get(job) or JobProgress())


def adopt_loaded(cursor: PollCursor, loaded: dict[str, LoadedLog], jobs: dict[str, JobLog], now_ms: int) -> None:
    """Jobs of cursor.lazy whose log curves() has read since: polls go on from where it
    stopped (a job that ended long ago has nothing more to read: settled at once)."""
    for job in [j for j in cursor.lazy if j in loaded]:
        log = loaded[job]
        cursor.lazy.discard(job)
        cursor.progress[job] = copy.deepcopy(log.progress)
        for stream, sc in log.streams.items():
            cursor.streams[stream] = copy.deepcopy(sc)
        info = jobs.get(job)
        if info is not None and info.ended_ms is not None and now_ms - info.ended_ms >= LOG_SETTLE_MS:
            cursor.settled.add(job)


def _job_streams(call: AwsCall, job: str) -> list[str]:
    """Every log stream of one training job ("JOB/" prefix, all pages), by name."""
    names: list[str] = []
    params: dict[str, Any] = {"logGroupName": LOG_GROUP, "logStreamNamePrefix": f"{job}/"}
    while True:
        page = call("logs", "describe_log_streams", **params)
        names.extend(s["logStreamName"] for s in page.get("logStreams", [])
                     if str(s.get("logStreamName", "")).startswith(f"{job}/"))  # moto ignores the prefix
        token = page.get("nextToken")
        if not token or token == params.get("nextToken"):
            return sorted(set(names))
        params["nextToken"] = token


def log_tail(call: AwsCall, job: str, cursor: Any = None) -> LogChunk:
    """New log lines of one training job (all of them for cursor None), each event once.

    The job's streams are listed on every call: a spot-interrupted job goes on in a new
    JOB/algo-1-<ts> stream, and the hosts of a multi-instance job start their streams at
    different times. Each stream is read from where it stopped (its forward token); the
    events of one call are merged across streams by timestamp, each stream's own order kept.
    With more than one stream, each line says which host wrote it.
    """
    state: dict[str, str | None] = dict(cursor) if isinstance(cursor, dict) else {}
    events: list[tuple[int, int, int, str, str]] = []  # (timestamp, stream rank, seq, stream, message)
    try:
        for stream in _job_streams(call, job):
            state.setdefault(stream, None)
        for rank, (stream, token) in enumerate(sorted(state.items())):
            for _ in range(LOG_TAIL_MAX_PAGES):
                params: dict[str, Any] = {"logGroupName": LOG_GROUP, "logStreamName": stream, "startFromHead": True}
                if token:
                    params["nextToken"] = token
                page = call("logs", "get_log_events", **params)
                for event in page.get("events", []):
                    events.append((int(event.get("timestamp", 0)), rank, len(events), stream,
                                   str(event.get("message", ""))))
                next_token = page.get("nextForwardToken")
                if not page.get("events") or not next_token or next_token == token:
                    token = next_token or token
                    break
                token = next_token
            state[stream] = token
    except Transient:
        return LogChunk((), cursor)  # nothing lost: the same cursor reads them next time
    except BackendError as exc:
        if error_code(exc.__cause__) == "ResourceNotFoundException":
            return LogChunk((), cursor)  # the job has not logged anything yet
        raise
    lines: list[str] = []
    for _, _, _, stream, message in sorted(events):
        label = f"[{stream.partition('/')[2]}] " if len(state) > 1 else ""
        lines.extend(label + line for line in message.splitlines())
    return LogChunk(tuple(sanitize(line) for line in lines), state)  # no terminal escapes from AWS
