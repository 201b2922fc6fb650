"""The Backend protocol is complete: every call the app and the commands make on a backend
is in it (or in one of the small protocols for what only one backend offers), and both
backends implement it with the protocol's parameters."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from hpo_tui.backends.base import Backend, Preflight, Resumable, SpecSource
from hpo_tui.backends.local import LocalBackend
from hpo_tui.backends.sagemaker import SageMakerBackend

ROOT = Path(__file__).resolve().parents[1] / "hpo_tui"
CALLERS = [ROOT / "app", ROOT / "commands", ROOT / "compare.py", ROOT / "report.py", ROOT / "backends" / "base.py"]
CAPABILITIES = (Resumable, SpecSource, Preflight)
# What only the SageMaker backend has, asked for with getattr by the one command that uses it.
SAGEMAKER_ONLY = {"boto_session", "curve_batch", "delete_in_account", "list_limit", "region", "remember_price",
                  "tuning_job_status"}


def members(protocol: type) -> set[str]:
    return {n for n in vars(protocol) if not n.startswith("_")} | set(getattr(protocol, "__annotations__", {}))


def _is_backend(node: ast.AST) -> bool:
    if isinstance(node, ast.Name):
        return node.id == "backend"
    if isinstance(node, ast.Attribute):
        return node.attr == "backend"
    if isinstance(node, ast.Call):
        func = node.func
        return (isinstance(func, ast.Attribute) and func.attr == "backend_for") or (
            isinstance(func, ast.Name) and func.id in ("make_backend", "_backend"))
    return False


def called_on_backends() -> dict[str, set[str]]:
    """Attribute -> the files that read it on a backend (backend.x, getattr(backend, "x"))."""
    found: dict[str, set[str]] = {}
    for root in CALLERS:
        for path in [root] if root.is_file() else sorted(root.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Attribute) and _is_backend(node.value):
                    found.setdefault(node.attr, set()).add(path.name)
                elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
                      and len(node.args) >= 2 and _is_backend(node.args[0])
                      and isinstance(node.args[1], ast.Constant)):
                    found.setdefault(node.args[1].value, set()).add(path.name)
    return found


def test_every_call_on_a_backend_is_in_a_protocol() -> None:
    calls = called_on_backends()
    assert {"poll", "launch", "stop", "log_tail", "curves", "close"} <= set(calls)  # the scan finds them
    known = members(Backend).union(*(members(p) for p in CAPABILITIES)) | SAGEMAKER_ONLY
    unknown = {name: files for name, files in calls.items() if name not in known}
    assert not unknown, f"calls on a backend that no protocol names: {unknown}"
    for name in SAGEMAKER_ONLY:
        assert hasattr(SageMakerBackend, name), name


@pytest.mark.parametrize("cls", [LocalBackend, SageMakerBackend])
def test_both_backends_implement_the_protocol_with_its_parameters(cls: type) -> None:
    backend = cls()
    assert isinstance(backend, Backend)
    for name in members(Backend):
        assert hasattr(cls, name), f"{cls.__name__} lacks {name}"
        wanted = getattr(Backend, name, None)
        if not callable(wanted):
            continue
        have = inspect.signature(getattr(cls, name)).parameters
        for param in inspect.signature(wanted).parameters.values():
            assert param.name in have, f"{cls.__name__}.{name} takes no {param.name}"
            if param.default is not inspect.Parameter.empty:
                assert have[param.name].default == param.default, f"{cls.__name__}.{name}({param.name}=...)"
            if param.kind is inspect.Parameter.KEYWORD_ONLY:
                assert have[param.name].kind in (param.KEYWORD_ONLY, param.POSITIONAL_OR_KEYWORD)
            elif param.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD:
                assert have[param.name].kind is param.POSITIONAL_OR_KEYWORD, f"{cls.__name__}.{name}({param.name})"


def test_capabilities_are_told_apart() -> None:
    local, sagemaker = LocalBackend(), SageMakerBackend()
    assert isinstance(local, Resumable) and isinstance(local, SpecSource) and not isinstance(local, Preflight)
    assert isinstance(sagemaker, Preflight) and not isinstance(sagemaker, Resumable)
    assert not isinstance(sagemaker, SpecSource)
