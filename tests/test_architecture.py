"""The headless core stays headless: checked in fresh interpreters and with import-linter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def loaded_after(code: str) -> tuple[set[str], set[str]]:
    """Run `code` in a fresh interpreter: (top-level packages in sys.modules, hpo_tui modules)."""
    script = code + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    modules = json.loads(out.stdout.splitlines()[-1])
    return {m.split(".")[0] for m in modules}, {m for m in modules if m.startswith("hpo_tui")}


def test_spec_loads_no_ui_no_framework_no_sdk() -> None:
    loaded, ours = loaded_after("import hpo_tui.spec")
    assert "hpo_tui.spec" in ours
    assert not loaded & {"textual", "mxnet", "sagemaker", "botocore", "boto3", "optuna"}, loaded


# Every submodule of the engine and the backends, as they exist in this checkout.
IMPORT_CORE = """
import importlib, pkgutil
import hpo_tui.backends, hpo_tui.engine
for package in (hpo_tui.engine, hpo_tui.backends):
    for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        importlib.import_module(info.name)
"""


def test_engine_and_backends_never_load_textual() -> None:
    loaded, ours = loaded_after(IMPORT_CORE)
    assert {"hpo_tui.engine.metrics", "hpo_tui.backends.base"} <= ours
    assert "textual" not in loaded, sorted(m for m in ours if m.startswith(("hpo_tui.engine", "hpo_tui.backends")))


def test_import_linter_contracts_hold() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    out = subprocess.run([str(lint_imports)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "BROKEN" not in out.stdout and "0 broken" in out.stdout
