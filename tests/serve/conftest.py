"""Fixtures of the browser tests: a finished fake-trainer tuning job, and Chromium or a skip."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.serve.browser import chromium_binary, launch_fake_tuning_job


@pytest.fixture
def finished_job(tmp_path: Path, hpo_home: Path) -> str:
    """A local tuning job of fake_train.py (3 jobs), finished, in this test's HPO_TUI_HOME."""
    return launch_fake_tuning_job(tmp_path)


@pytest.fixture
def chromium() -> str:
    path = chromium_binary()
    if path is None:
        pytest.skip("no chromium binary (/usr/bin/chromium): install Debian's chromium package, "
                    "as .ci/run does, to run the browser tests")
    return path
