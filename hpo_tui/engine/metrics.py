"""Metric extraction from training-job log lines, with SageMaker's meanings.

Shared by the local engine and the SageMaker backend: each metric definition is
a regex with one capture group, applied to every log line; each match is one
data point. The objective of a job is the LAST finite value emitted.

Each match is bounded in time (MATCH_TIMEOUT per line and definition): a regex that
backtracks catastrophically on some line ("((?:[0-9]+)+)x" on 31 digits takes minutes)
must not freeze the runner, which then could not even be stopped. The `regex` module
(re's syntax, VERSION0) takes a timeout and checks it inside the matching loop, in any
thread; a SIGALRM watchdog around `re` would work only in the main thread, and matching in
a child process would cost a process round trip per line. A line that times out yields no
point and is counted in `timeouts`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    import regex

_EPOCH = re.compile(r"Epoch\[(\d+)\]")
# Seconds one definition may spend on one line; a metric line takes microseconds.
MATCH_TIMEOUT = 0.1
# Longest line the regexes see (SageMaker's CloudWatch events are at most 256 KB).
MAX_MATCHED_LINE = 256 * 1024


def compile_metric_regex(pattern: str) -> "regex.Pattern[str] | re.Pattern[str]":
    """The pattern for bounded matching (re's syntax; `re` only if `regex` refuses it)."""
    import regex  # here: ~20 ms to import, and `status`, `attach` and the app never match

    try:
        return regex.compile(pattern, flags=regex.VERSION0)
    except regex.error:
        return re.compile(pattern)


def bounded_finditer(rx: "regex.Pattern[str] | re.Pattern[str]", line: str) -> list:
    """Every match of rx in line, or raise TimeoutError once MATCH_TIMEOUT is spent."""
    line = line[:MAX_MATCHED_LINE]
    if isinstance(rx, re.Pattern):
        return list(rx.finditer(line))
    return list(rx.finditer(line, timeout=MATCH_TIMEOUT))


@dataclass
class ExtractedPoint:
    metric: str
    epoch: int
    value: float


@dataclass
class MetricExtractor:
    """Stateful extractor for one training job's log stream.

    definitions: (name, regex) pairs. Steps without an ``Epoch[k]`` marker are
    numbered by match count per metric, so every point has an index.
    """

    definitions: list[tuple[str, str]]
    _compiled: list[tuple[str, Any]] = field(init=False, repr=False)
    _counts: dict[str, int] = field(init=False, default_factory=dict, repr=False)
    last_values: dict[str, float] = field(init=False, default_factory=dict)
    timeouts: int = field(init=False, default=0)  # lines skipped because a regex took longer than MATCH_TIMEOUT

    def __post_init__(self) -> None:
        self._compiled = [(name, compile_metric_regex(rx)) for name, rx in self.definitions]

    def feed(self, line: str) -> list[ExtractedPoint]:
        points: list[ExtractedPoint] = []
        epoch_match = _EPOCH.search(line)
        for name, rx in self._compiled:
            try:
                matches = bounded_finditer(rx, line)
            except TimeoutError:
                self.timeouts += 1
                continue
            for m in matches:
                value = parse_value(m.group(1) if rx.groups else m.group(0))
                count = self._counts.get(name, 0)
                self._counts[name] = count + 1
                if value is None:
                    continue
                epoch = int(epoch_match.group(1)) if epoch_match else count
                points.append(ExtractedPoint(name, epoch, value))
                self.last_values[name] = value
        return points

    def feed_many(self, lines: Iterable[str]) -> list[ExtractedPoint]:
        out: list[ExtractedPoint] = []
        for line in lines:
            out.extend(self.feed(line))
        return out


def parse_value(text: str | None) -> float | None:
    """A captured metric value as a finite float, or None (non-finite counts as no value)."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
