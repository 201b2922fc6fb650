"""The interactive commands' entry points: a bad --spec never opens the TUI, and
start-up stays light (no SageMaker, MXNet, Optuna or boto3 import before the first frame)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HPO_TUI = Path(sys.executable).parent / "hpo-tui"


def test_bad_spec_file_prints_the_problems_and_exits_1_without_the_tui(tmp_path):
    spec = tmp_path / "bad.toml"
    spec.write_text('max_jobs = 0\n[ranges.learning_rate]\ntype = "continuous"\nmin = 0.5\nmax = 0.1\n')
    result = subprocess.run([str(HPO_TUI), "--spec", str(spec)], capture_output=True, text=True, timeout=60,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 1
    assert "ranges.learning_rate.min" in result.stderr and "must be less than max" in result.stderr
    assert "max_jobs" in result.stderr
    assert "\x1b[" not in result.stdout  # no screen was drawn


def test_missing_spec_file_says_how_to_create_one(tmp_path):
    result = subprocess.run([str(HPO_TUI), "--spec", str(tmp_path / "nope.toml")], capture_output=True,
                            text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 1
    assert "hpo-tui spec init" in result.stderr


STARTUP_PROBE = """
import asyncio, sys
from hpo_tui.app.app import make_app

async def main():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert type(app.screen).__name__ == "ConfigureScreen", app.screen
        heavy = sorted(m for m in ("sagemaker", "mxnet", "optuna", "boto3", "botocore") if m in sys.modules)
        print("HEAVY:" + ",".join(heavy))

asyncio.run(main())
"""


def test_configure_screen_paints_without_heavy_imports(tmp_path):
    result = subprocess.run([sys.executable, "-c", STARTUP_PROBE], capture_output=True, text=True, timeout=120,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "HEAVY:\n" in result.stdout, result.stdout
