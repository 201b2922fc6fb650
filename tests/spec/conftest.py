"""Helpers for the spec tests: build variants of the reference spec and find issues by path."""

from __future__ import annotations

import copy
from typing import Any, Callable

import pytest

from hpo_tui.spec import SpecIssue, TuningSpec, validate


def variant(change: Callable[[TuningSpec], Any] | None = None) -> TuningSpec:
    spec = copy.deepcopy(TuningSpec())
    if change is not None:
        change(spec)
    return spec


def issues_at(spec: TuningSpec, path: str) -> list[SpecIssue]:
    return [i for i in validate(spec) if i.path == path]


@pytest.fixture
def no_role_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAGEMAKER_ROLE_ARN", raising=False)
