"""Shared fixtures: every test gets its own HPO_TUI_HOME; MNIST channels are prepared once."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest


def processes_with_home(home: Path) -> list[int]:
    """Pids of live processes started with HPO_TUI_HOME=home (runners, jobs, their children)."""
    marker = f"HPO_TUI_HOME={home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            stat = (entry / "stat").read_bytes()
        except OSError:
            continue
        if stat[stat.rfind(b")") + 2 :].startswith(b"Z"):
            continue
        if marker in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


@pytest.fixture(autouse=True)
def hpo_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Point HPO_TUI_HOME (inherited by runner and training processes) at a temp dir."""
    home = tmp_path / "hpo-home"
    home.mkdir()
    monkeypatch.setenv("HPO_TUI_HOME", str(home))
    # Never let a test read real AWS credentials or config.
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    # pytest-xdist's workers have COLUMNS=80 and LINES=24 in their environment, which Textual
    # takes as the terminal's size (the TUI in a tmux pane of 120x40 would lay itself out for
    # 80x24): a test sees the environment of a serial run.
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)
    yield home
    # Tuning jobs outlive their launcher by design; a test must not leave its runners and
    # training jobs behind, whichever area it is in.
    for _ in range(3):
        pids = processes_with_home(home)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.2)
    # Reap runners this test process started (they are its children).
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break


@pytest.fixture
def sdk_endpoints_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SageMaker SDK parses botocore's endpoints.json (about half a second) on every
    image_uris.retrieve; parse it once. The resolver it builds is the same every time."""
    import functools

    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    from sagemaker import utils

    monkeypatch.setattr(utils, "_botocore_resolver", functools.lru_cache(maxsize=None)(utils._botocore_resolver))


@pytest.fixture(scope="session")
def mnist_channels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real MNIST channels (train/, test/ in IDX gzip), written once per test session."""
    from hpo_tui.data import prepare_mnist

    return prepare_mnist(tmp_path_factory.mktemp("mnist"))
