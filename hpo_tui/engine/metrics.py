"""Metric extraction from training-job log lines, with SageMaker's meanings.

Shared by the local engine and the SageMaker backend: each metric definition is
a regex with one capture group, applied to every log line; each match is one
data point. The objective of a job is the LAST finite value emitted.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Iterable

_EPOCH = re.compile(r"Epoch\[(\d+)\]")


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
    _compiled: list[tuple[str, re.Pattern[str]]] = field(init=False, repr=False)
    _counts: dict[str, int] = field(init=False, default_factory=dict, repr=False)
    last_values: dict[str, float] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._compiled = [(name, re.compile(rx)) for name, rx in self.definitions]

    def feed(self, line: str) -> list[ExtractedPoint]:
        points: list[ExtractedPoint] = []
        epoch_match = _EPOCH.search(line)
        for name, rx in self._compiled:
            for m in rx.finditer(line):
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
