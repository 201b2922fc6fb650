"""What `resume` may restart, and what it says when it may not: a Completed tuning job is
done, and a Stopped one stays stopped, as on SageMaker, whose way to go on is a new tuning
job that warm-starts from it."""

from __future__ import annotations

from hpo_tui.backends.base import BackendError


def stopped_error(name: str, ended: int, max_jobs: int | None) -> BackendError:
    """The refusal to resume a Stopped tuning job, pointing to warm start."""
    at = f" at {ended}/{max_jobs}" if max_jobs is not None else ""
    return BackendError(
        f"tuning job {name!r} was stopped{at} and stays stopped (resume restarts only a tuning job "
        "whose runner died; SageMaker cannot restart a stopped one either). To go on from its "
        f"results, launch a new tuning job that warm-starts from it: `n` on its dashboard, or a "
        f'spec with [warm_start] parents = ["{name}"]'
    )


def completed_error(name: str) -> BackendError:
    return BackendError(f"tuning job {name!r} already Completed; nothing to resume (launch a new one)")
