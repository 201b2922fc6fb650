"""Backends: the local engine and SageMaker, behind one protocol (see base.py)."""

from __future__ import annotations

from hpo_tui.backends.base import Backend


def make_backend(name: str = "local", *, region: str | None = None, profile: str | None = None) -> Backend:
    """Build a backend by name; heavy clients are imported only here, on demand."""
    if name == "local":
        from hpo_tui.backends.local import LocalBackend

        return LocalBackend()
    if name == "sagemaker":
        from hpo_tui.backends.sagemaker import SageMakerBackend

        return SageMakerBackend(region=region, profile=profile)
    from hpo_tui.errors import UserError

    raise UserError(f"unknown backend {name!r}: use --backend local or --backend sagemaker")
