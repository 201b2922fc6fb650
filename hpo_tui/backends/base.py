"""The Backend contract: the protocol both backends (local engine, SageMaker) implement with
the same meanings, and the errors they raise. The shapes they return are in `hpo_tui.views`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from hpo_tui.errors import UserError
from hpo_tui.invariants import debug_check
from hpo_tui.views import LogChunk, Snapshot, TuningJobView

if TYPE_CHECKING:
    from hpo_tui.spec import TuningSpec


class BackendError(UserError):
    """A failure the user can act on. str(err) names the cause and the fix."""


class TuningJobNotFound(BackendError):
    pass


@runtime_checkable
class Backend(Protocol):
    name: str  # "local" or "sagemaker"
    default_interval: float  # seconds between polls

    def launch(self, spec: TuningSpec) -> str:
        """Start a tuning job; return its name at once."""

    def list_tuning_jobs(self) -> list[TuningJobView]:
        """Tuning jobs on this backend, newest first."""

    def poll(self, name: str, cursor: Any = None) -> Snapshot:
        """The tuning job, all its training jobs, and metric points newer than cursor.

        A backend with `points_on_demand = True` also takes points=False (read no metric
        point; the cursor starts after the newest) and has curves(name, jobs, metric=None)
        -> tuple[MetricPoint, ...], every point of the jobs named: see poll_rows().
        """

    def log_tail(self, job: str, cursor: Any = None) -> LogChunk:
        """Log lines of one training job newer than cursor (all of them for None)."""

    def stop(self, name: str) -> bool | None:
        """Stop a tuning job. Idempotent: stopping a finished job succeeds (and may return
        False to say there was nothing to stop)."""


def points_on_demand(backend: Any) -> bool:
    """True when the backend polls rows without metric points and loads curves per job."""
    return bool(getattr(backend, "points_on_demand", False))


def poll_rows(backend: Any, name: str, cursor: Any = None) -> Snapshot:
    """A poll for what prints no curve (status, export, stop, --wait): the training-job rows
    without their metric points, where the backend can leave them out."""
    if points_on_demand(backend):
        return debug_check(backend.poll(name, cursor, points=False))
    return debug_check(backend.poll(name, cursor))


def poll_for_view(backend: Any, name: str, cursor: Any = None) -> Snapshot:
    """A poll for a screen that draws curves: the first (cursor None) reads rows only where
    the backend loads curves on demand (the screen then asks curves() for what it shows);
    later polls, with the cursor, bring the new points.

    Both polls pass through invariants.debug_check: with HPO_TUI_CHECK=1 every poll of a
    session is checked, and a broken rule becomes the snapshot's warning."""
    if cursor is None and points_on_demand(backend):
        return debug_check(backend.poll(name, None, points=False))
    return debug_check(backend.poll(name, cursor))
