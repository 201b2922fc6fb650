"""Where local training can run: one line that says what is missing and what to do.

The real case (a venv without MXNet) is the install smoke test's (tests/install/); here the
interpreter's answers are changed to reach each branch."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from hpo_tui.backends.base import BackendError
from hpo_tui.backends.local import LocalBackend
from hpo_tui.commands.tui import _pick_backend
from hpo_tui.engine.support import local_training_problem
from hpo_tui.spec import TuningSpec


def hide_module(monkeypatch: pytest.MonkeyPatch, hidden: str) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == hidden else real(name, *a))


def test_this_machine_can_train_locally() -> None:
    assert local_training_problem() is None


@pytest.mark.parametrize("platform, shown", [("darwin", "macOS"), ("win32", "Windows")])
def test_not_linux(monkeypatch: pytest.MonkeyPatch, platform: str, shown: str) -> None:
    monkeypatch.setattr(sys, "platform", platform)
    problem = local_training_problem()
    assert problem is not None and "\n" not in problem
    assert f"Linux only" in problem and f"not on {shown}" in problem and "--backend sagemaker" in problem


def test_no_mxnet(monkeypatch: pytest.MonkeyPatch) -> None:
    hide_module(monkeypatch, "mxnet")
    problem = local_training_problem()
    assert problem is not None
    assert "needs MXNet 1.9.1" in problem and "pip install 'hpo-tui[local]'" in problem


def test_python_312_without_setuptools(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "version_info", (3, 12, 1, "final", 0))
    hide_module(monkeypatch, "setuptools")
    problem = local_training_problem()
    assert problem is not None and "Python 3.12 needs setuptools" in problem and "distutils" in problem


def test_launch_and_resume_refuse_with_the_line_before_anything_starts(
    monkeypatch: pytest.MonkeyPatch, hpo_home
) -> None:
    hide_module(monkeypatch, "mxnet")
    backend = LocalBackend()
    with pytest.raises(BackendError, match=r"needs MXNet 1\.9\.1.*hpo-tui\[local\]"):
        backend.launch(TuningSpec(max_jobs=1, max_parallel_jobs=1))
    with pytest.raises(BackendError, match=r"needs MXNet 1\.9\.1"):
        backend.resume("anything")
    assert backend.list_tuning_jobs() == []


def test_the_tui_opens_on_sagemaker_only_when_nothing_asked_for_local(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _pick_backend(None, None) == ("local", None)
    hide_module(monkeypatch, "mxnet")
    name, notice = _pick_backend(None, None)
    assert name == "sagemaker" and notice.startswith("Opened on SageMaker because local training needs MXNet")
    # Asked for by name (flag or spec): kept, with the reason shown.
    name, notice = _pick_backend("local", None)
    assert name == "local" and notice.startswith("Local training needs MXNet")
    name, notice = _pick_backend(None, TuningSpec(backend="local"))
    assert name == "local" and notice is not None
    assert _pick_backend("sagemaker", None) == ("sagemaker", None)


def test_numpy_2_is_named_with_the_pin_that_fixes_it(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    # A site folder holding numpy 2 as pip installs it: the package and its dist-info folder.
    (tmp_path / "numpy").mkdir()
    (tmp_path / "numpy" / "__init__.py").write_text("")
    (tmp_path / "numpy-2.1.3.dist-info").mkdir()
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: importlib.util.spec_from_file_location(
        "numpy", tmp_path / "numpy" / "__init__.py") if name == "numpy" else real(name, *a))
    problem = local_training_problem()
    assert problem is not None and "NumPy 2.x is installed" in problem and "pip install 'numpy>=1.26.4,<2'" in problem


def test_the_numpy_version_read_beside_the_package_is_pips() -> None:
    from importlib import metadata

    from hpo_tui.engine.support import _major_version

    assert _major_version("numpy") == int(metadata.version("numpy").split(".")[0]) == 1
