"""What the local backend warns about beside a tuning job's rows: stalled training jobs
(and, joined to it, a runner that is not responding)."""

from __future__ import annotations

import time
from typing import Any

from hpo_tui.engine.runner_files import LIVE_STATUSES
from hpo_tui.views import TrainingJobView


def stalled_count(jobs: list[dict[str, Any]]) -> str | None:
    n = sum(1 for j in jobs if j.get("stalled_since") and j["status"] in LIVE_STATUSES)
    return f"{n} training job{'s' if n != 1 else ''} stalled (no output, no CPU); see `hpo-tui status`" if n else None


def joined(*warnings: str | None) -> str | None:
    return "; ".join(w for w in warnings if w) or None


def stall_warning(jobs: tuple[TrainingJobView, ...]) -> str | None:
    """One line for the stalled training jobs: which, how long, and whether they are stopped."""
    now = time.time()
    stalled = [(j, j.stall_text(now)) for j in jobs]
    stalled = [(j, text) for j, text in stalled if text]
    if not stalled:
        return None
    hint = ("`kill -CONT` its process to resume it" if any(j.process_stopped for j, _ in stalled)
            else "no log output and no CPU progress; see its log with `hpo-tui logs JOB`")
    return ("stalled: " + ", ".join(f"{j.name} {text}" for j, text in stalled[:5])
            + (f" and {len(stalled) - 5} more" if len(stalled) > 5 else "") + f" ({hint})")
