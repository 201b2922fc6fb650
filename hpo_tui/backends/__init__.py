"""Backends: the local engine and SageMaker, behind one protocol (see base.py)."""

from __future__ import annotations

from hpo_tui.backends.base import Backend

INTERACTIVE_READ_TIMEOUT = 0.25  # seconds a TUI read waits on a locked local store


def make_backend(name: str = "local", *, region: str | None = None, profile: str | None = None,
                 interactive: bool = False) -> Backend:
    """Build a backend by name; heavy clients are imported only here, on demand.

    interactive: for the TUI, whose reads give up quickly on a locked local store (it keeps
    showing the last data) instead of waiting out SQLite's full busy timeout.
    """
    if name == "local":
        from hpo_tui.backends.local import LocalBackend

        return LocalBackend(read_busy_timeout=INTERACTIVE_READ_TIMEOUT if interactive else None)
    if name == "sagemaker":
        from hpo_tui.backends.sagemaker import SageMakerBackend

        return SageMakerBackend(region=region, profile=profile)
    from hpo_tui.errors import UserError

    raise UserError(f"unknown backend {name!r}: use --backend local or --backend sagemaker")
