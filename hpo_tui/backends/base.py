"""The Backend contract: the protocol both backends (local engine, SageMaker) implement with
the same meanings, and the errors they raise. The shapes they return are in `hpo_tui.views`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from hpo_tui.errors import UserError
from hpo_tui.invariants import debug_check
from hpo_tui.views import LogChunk, MetricPoint, Snapshot, TuningJobView

if TYPE_CHECKING:
    from hpo_tui.spec import TuningSpec


class BackendError(UserError):
    """A failure the user can act on. str(err) names the cause and the fix."""


class TuningJobNotFound(BackendError):
    pass


@runtime_checkable
class Backend(Protocol):
    """Every call the app and the commands make on any backend. Calls only one backend
    offers are the small protocols below; the callers test for them (isinstance)."""

    name: str  # "local" or "sagemaker"
    default_interval: float  # seconds between polls
    points_on_demand: bool  # poll(points=False) and curves() read the metric points per job

    def launch(self, spec: TuningSpec) -> str:
        """Validate and start a tuning job; return its name at once."""
        ...

    def list_tuning_jobs(self) -> list[TuningJobView]:
        """Tuning jobs on this backend, newest first."""
        ...

    def poll(self, name: str, cursor: Any = None, *, points: bool = True) -> Snapshot:
        """The tuning job, all its training jobs, and metric points newer than cursor.

        points=False reads no metric point (the cursor starts after the newest); the
        curves a screen shows then come from curves(): see poll_rows() and poll_for_view().
        """
        ...

    def curves(self, name: str, jobs: list[str], metric: str | None = None) -> tuple[MetricPoint, ...]:
        """Every metric point (of one metric, when given) of the training jobs named."""
        ...

    def log_tail(self, job: str, cursor: Any = None) -> LogChunk:
        """Log lines of one training job newer than cursor (all of them for None)."""
        ...

    def stop(self, name: str) -> bool | None:
        """Stop a tuning job. Idempotent: stopping a finished job succeeds (and may return
        False to say there was nothing to stop)."""
        ...

    def training_job_status(self, job: str) -> str | None:
        """One training job's status; None when there is no such job (`logs --follow`)."""
        ...

    def close(self) -> None:
        """Let go of connections; never waits on a read in progress."""
        ...


@runtime_checkable
class Resumable(Protocol):
    """A backend that can start a new runner for a tuning job whose runner died (local)."""

    def resume(self, name: str) -> None: ...


@runtime_checkable
class SpecSource(Protocol):
    """A backend that keeps the spec a tuning job was launched with (local): a clone starts
    from it."""

    def tuning_spec(self, name: str) -> TuningSpec: ...


@runtime_checkable
class Preflight(Protocol):
    """A backend that checks the account before a launch (SageMaker): a list of checks."""

    def preflight(self, spec: TuningSpec) -> list[Any]: ...


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
