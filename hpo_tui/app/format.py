"""Plain formatting for the TUI: numbers, durations, sparklines, escape stripping, and
the per-job metric history the dashboard accumulates. Exports live in `hpo_tui.report`.
"""

from __future__ import annotations

import math
import re
from typing import Iterable

from hpo_tui import report
from hpo_tui.sanitize import sanitize
from hpo_tui.views import MetricPoint, TrainingJobView, TuningJobView

DASH = "—"
SPARK_BLOCKS = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 12

def strip_escapes(text: str) -> str:
    """Remove terminal escape sequences and control characters (keeps tabs): the project's
    one sanitiser (hpo_tui.sanitize), so the TUI and the CLI strip exactly the same."""
    return sanitize(text)


def fmt_number(value: float | None) -> str:
    """An objective or metric value: 4 significant decimals, dash when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    if value == 0:
        return "0"
    magnitude = abs(value)
    if 1e-3 <= magnitude < 1e5:
        return f"{value:.4f}".rstrip("0").rstrip(".") if magnitude >= 1 else f"{value:.4f}"
    return f"{value:.3g}"


def fmt_hyperparameter(value: str) -> str:
    """A hyperparameter value (always a string on the wire), shortened if numeric."""
    try:
        number = float(value)
    except ValueError:
        return value
    if re.fullmatch(r"[+-]?\d+", value.strip()):
        return value.strip()
    if not math.isfinite(number):
        return value
    return f"{number:.4g}"


def hyperparameter_sort_key(value: str | None) -> tuple:
    """Numbers sort numerically and before words; missing values sort last."""
    if value is None:
        return (2, 0.0, "")
    try:
        return (0, float(value), "")
    except ValueError:
        return (1, 0.0, value.lower())


def fmt_duration(seconds: float | None) -> str:
    """12s, 3m05s, 2h07m, 3d04h; a dash when unknown."""
    return DASH if seconds is None else report.fmt_duration(seconds)


def fmt_age(seconds: float) -> str:
    """How long ago: "just now", "4s ago", "2m10s ago"."""
    if seconds < 1:
        return "just now"
    return f"{fmt_duration(seconds)} ago"


def job_duration(job: TrainingJobView, now: float) -> float | None:
    """Seconds a training job has run (until now while it still runs)."""
    start = job.started_at or job.created_at
    if start is None:
        return None
    end = job.ended_at if job.ended_at is not None else (now if not job.is_terminal else None)
    return None if end is None else max(0.0, end - start)


def tuning_elapsed(view: TuningJobView, now: float) -> float | None:
    if view.created_at is None:
        return None
    end = view.ended_at if view.ended_at is not None else now
    return max(0.0, end - view.created_at)


def total_epochs(job: TrainingJobView, view: TuningJobView) -> int | None:
    """The epochs this job will run: its own num_epoch when tuned, else the spec's maximum."""
    raw = job.hyperparameters.get("num_epoch")
    if raw is not None:
        try:
            return int(float(raw))
        except ValueError:
            pass
    return view.max_epochs


def fmt_epochs(job: TrainingJobView, view: TuningJobView) -> str:
    """Epoch progress "2/10": epochs reported so far over the total, when known."""
    done = 0 if job.last_epoch is None else job.last_epoch + 1  # epochs are 0-based in logs
    total = total_epochs(job, view)
    if job.last_epoch is None and total is None:
        return DASH
    return f"{done}/{total}" if total else str(done)


def sparkline(values: Iterable[float], width: int = SPARK_WIDTH) -> str:
    """Unicode block sparkline of the last `width` values, scaled to their own range."""
    data = [v for v in values if v is not None and math.isfinite(v)][-width:]
    if not data:
        return ""
    low, high = min(data), max(data)
    if high - low < 1e-12:
        return SPARK_BLOCKS[3] * len(data)
    top = len(SPARK_BLOCKS) - 1
    return "".join(SPARK_BLOCKS[round((v - low) / (high - low) * top)] for v in data)


def shorten(text: str | None, width: int = 40) -> str:
    """One line of at most `width` characters, escapes stripped."""
    if not text:
        return ""
    line = " ".join(strip_escapes(text).split())
    return line if len(line) <= width else line[: width - 1] + "…"


class MetricHistory:
    """Per-job, per-metric values by epoch, accumulated from Snapshot.new_points.

    A later point for the same epoch replaces the earlier one (the log's last word wins,
    as it does for the objective).
    """

    def __init__(self) -> None:
        self._values: dict[str, dict[str, dict[int, float]]] = {}

    def add(self, points: Iterable[MetricPoint]) -> set[str]:
        """Record points; return the names of the jobs whose history changed."""
        changed: set[str] = set()
        for p in points:
            by_epoch = self._values.setdefault(p.job, {}).setdefault(p.metric, {})
            if by_epoch.get(p.epoch) != p.value:
                by_epoch[p.epoch] = p.value
                changed.add(p.job)
        return changed

    def curve(self, job: str, metric: str) -> list[tuple[int, float]]:
        """(epoch, value) pairs in epoch order."""
        return sorted(self._values.get(job, {}).get(metric, {}).items())

    def jobs_with(self, metric: str) -> set[str]:
        """The jobs with at least one value of metric."""
        return {job for job, metrics in self._values.items() if metrics.get(metric)}

    def metrics(self, job: str) -> list[str]:
        return sorted(self._values.get(job, {}))
