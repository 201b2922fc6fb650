"""The training script runs unchanged in AWS's MXNet 1.9.0 container, which is Python 3.8:
it and the modules beside it that it imports must stay 3.8-compatible (the rest of the package
needs 3.11+)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.pythons import find_python

TRAINING = Path(__file__).resolve().parents[2] / "training"
# Every module SageMaker uploads with the entry point (the whole source_dir).
MODULES = sorted(TRAINING.glob("*.py"))


def test_the_script_and_the_modules_it_imports_are_in_the_source_dir() -> None:
    assert {"mnist.py", "mnist_inputs.py"} <= {m.name for m in MODULES}


def test_the_training_script_compiles_under_python_3_8(tmp_path: Path) -> None:
    python = find_python(3, 8)
    if python is None:
        pytest.skip("no Python 3.8 on this machine (PATH or pyenv): the 3.8 check is not made here")
    for module in MODULES:
        # Compile to a file of our own: never write a __pycache__ into the checkout.
        result = subprocess.run([python, "-c", "import py_compile, sys; py_compile.compile(sys.argv[1], "
                                 "cfile=sys.argv[2], doraise=True)", str(module), str(tmp_path / "module.pyc")],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, (module.name, result.stderr)
    # And the check can fail: 3.8 refuses syntax of 3.10 (a match statement).
    newer = tmp_path / "newer.py"
    newer.write_text("match 1:\n    case 1:\n        pass\n")
    refused = subprocess.run([python, "-m", "py_compile", str(newer)], capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0
