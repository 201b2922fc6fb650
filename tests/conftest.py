"""Shared fixtures: every test gets its own HPO_TUI_HOME; MNIST channels are prepared once."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def hpo_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point HPO_TUI_HOME (inherited by runner and training processes) at a temp dir."""
    home = tmp_path / "hpo-home"
    home.mkdir()
    monkeypatch.setenv("HPO_TUI_HOME", str(home))
    # Never let a test read real AWS credentials or config.
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    return home


@pytest.fixture(scope="session")
def mnist_channels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real MNIST channels (train/, test/ in IDX gzip), written once per test session."""
    from hpo_tui.data import prepare_mnist

    return prepare_mnist(tmp_path_factory.mktemp("mnist"))
