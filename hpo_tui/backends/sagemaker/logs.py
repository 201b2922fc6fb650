"""CloudWatch Logs for SageMaker training jobs: the poll cursor, the filter pattern built
from the metric regexes, new metric points from FilterLogEvents, and one job's log tail.

Imports only `hpo_tui.views`, `hpo_tui.engine.metrics` and this package's `errors`.
"""

from __future__ import annotations

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

LOG_GROUP = "/aws/sagemaker/TrainingJobs"
# Log events can be ingested a little after their timestamp; re-read this window each
# poll (deduplicated by eventId) so late arrivals are not skipped.
LOG_OVERLAP_MS = 120_000
LOG_TAIL_MAX_PAGES = 20


@dataclass
class JobProgress:
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
    progress: dict[str, JobProgress] = field(default_factory=dict)  # per training job


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


def read_log_points(
    call: AwsCall,
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
        progress = cursor.progress.setdefault(job, JobProgress())
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


def read_job_points(call: AwsCall, jobs: list[str], definitions: list[tuple[str, str]],
                    metric: str | None = None) -> list[MetricPoint]:
    """Every metric point of some training jobs, read from their own log streams (a filter
    per job stream prefix): pages grow with the jobs asked for, not the tuning job's size."""
    pattern = filter_pattern(definitions)
    points: list[MetricPoint] = []
    for job in jobs:
        params: dict[str, Any] = {"logGroupName": LOG_GROUP, "logStreamNamePrefix": f"{job}/"}
        if pattern:
            params["filterPattern"] = pattern
        events: list[dict[str, Any]] = []
        while True:
            try:
                page = call("logs", "filter_log_events", **params)
            except BackendError as exc:
                if error_code(exc.__cause__) == "ResourceNotFoundException":
                    break  # no log yet
                raise
            events.extend(page.get("events", []))
            token = page.get("nextToken")
            if not token:
                break
            params["nextToken"] = token
        extractors: dict[str, MetricExtractor] = {}
        for event in sorted(events, key=lambda e: (e.get("timestamp", 0), e.get("eventId", ""))):
            stream = event.get("logStreamName", "")
            name, _, host = stream.partition("/")
            if name != job or (host.startswith("algo-") and not host.startswith("algo-1-")):
                continue  # another job's stream (moto ignores the prefix), or another host's
            extractor = extractors.setdefault(stream, MetricExtractor(definitions))
            timestamp = int(event.get("timestamp", 0)) / 1000.0
            for line in str(event.get("message", "")).splitlines():
                points.extend(MetricPoint(job, p.metric, p.epoch, timestamp, p.value)
                              for p in extractor.feed(line) if metric is None or p.metric == metric)
    return points


def log_tail(call: AwsCall, job: str, cursor: Any = None) -> LogChunk:
    """New log lines of one training job (all of them for cursor None)."""
    state: dict[str, str | None] = dict(cursor) if isinstance(cursor, dict) else {}
    try:
        if not state:
            streams = call(
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
                page = call("logs", "get_log_events", **params)
                for event in page.get("events", []):
                    lines.extend(label + line for line in str(event.get("message", "")).splitlines())
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
    return LogChunk(tuple(lines), state)
