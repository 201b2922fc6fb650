"""Helpers for the spec tests: variants of the reference spec, the one problem a spec has, and no
role in the environment."""

from __future__ import annotations

import copy
from typing import Any, Callable

import pytest

from hpo_tui.spec import TuningSpec, validate


def variant(change: Callable[[TuningSpec], Any] | None = None) -> TuningSpec:
    spec = copy.deepcopy(TuningSpec())
    if change is not None:
        change(spec)
    return spec


def only_issue(spec: TuningSpec, path: str, *words: str) -> str:
    """The spec has problems at exactly `path` (and nowhere else); return the message."""
    found = validate(spec)
    assert [i.path for i in found] and {i.path for i in found} == {path}, found
    text = " ".join(str(i) for i in found)
    assert text.startswith(f"{path}: ")
    for word in words:
        assert word in text, (word, text)
    return text


@pytest.fixture
def no_role_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAGEMAKER_ROLE_ARN", raising=False)
