"""Helpers for the spec tests: variants of the reference spec, and no role in the environment."""

from __future__ import annotations

import copy
from typing import Any, Callable

import pytest

from hpo_tui.spec import TuningSpec


def variant(change: Callable[[TuningSpec], Any] | None = None) -> TuningSpec:
    spec = copy.deepcopy(TuningSpec())
    if change is not None:
        change(spec)
    return spec


@pytest.fixture
def no_role_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAGEMAKER_ROLE_ARN", raising=False)
