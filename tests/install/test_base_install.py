"""What a base install (no `local` extra, so no MXNet) gives a user: the CLI and the TUI start,
the SageMaker commands work, and the local backend says in one line why it can't train here.

Run inside the base venv that test_install_smoke.py builds; skipped where MXNet is installed.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hpo_tui.backends.sagemaker import SageMakerBackend
from hpo_tui.cli import main
from hpo_tui.spec import TuningSpec, save_spec
from tests.sagemaker.conftest import answer_on_session, make_spec, no_traceback
from tests.sagemaker.stubs import T0, training_summary

pytestmark = pytest.mark.skipif(importlib.util.find_spec("mxnet") is not None,
                                reason="MXNet is installed: this is not a base install")


def test_the_local_backend_says_why_it_cannot_train_and_what_to_do(tmp_path: Path) -> None:
    spec = save_spec(TuningSpec(max_jobs=2, max_parallel_jobs=1), tmp_path / "tuning.toml")
    result = subprocess.run([sys.executable, "-m", "hpo_tui.cli", "launch", str(spec), "--backend", "local"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    no_traceback(result.stdout + result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "needs MXNet 1.9.1" in lines[0] and "pip install 'hpo-tui[local]'" in lines[0]
    assert "--backend sagemaker" in lines[0]


def test_help_and_validate_work_without_mxnet(tmp_path: Path) -> None:
    spec = save_spec(TuningSpec(), tmp_path / "tuning.toml")
    for argv in (["--help"], ["spec", "validate", str(spec)]):
        result = subprocess.run([sys.executable, "-m", "hpo_tui.cli", *argv], capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, result.stderr
    assert "mxnet" not in sys.modules


async def test_the_tui_opens_on_sagemaker_and_says_why() -> None:
    from hpo_tui.app.app import make_app
    from hpo_tui.app.screens.configure import ConfigureScreen
    from hpo_tui.commands.tui import _pick_backend

    backend_name, notice = _pick_backend(None, None)
    assert backend_name == "sagemaker"
    app = make_app(backend_name=backend_name, notice=notice)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ConfigureScreen)
        messages = [n.message for n in app._notifications]
        assert any("Opened on SageMaker because local training needs MXNet 1.9.1" in m for m in messages)
        assert app.screen.current_spec().backend == "sagemaker"


def test_jobs_and_status_on_sagemaker_against_moto(
    cli_session: Any, moto_endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "mnist.py").write_text("print('Epoch[0] Validation-accuracy=0.5')\n")
    SageMakerBackend(boto_session=cli_session).launch(make_spec(source, "hpo-base"))
    summaries = [training_summary("hpo-base", 0, objective=0.97, objective_status="Succeeded")]
    answer_on_session(cli_session, "sagemaker", "ListTrainingJobsForHyperParameterTuningJob",
                      [{"TrainingJobSummaries": summaries}] * 2)
    answer_on_session(cli_session, "sagemaker", "DescribeTrainingJob", [{
        "TrainingJobName": summaries[0]["TrainingJobName"],
        "TrainingJobArn": summaries[0]["TrainingJobArn"],
        "ModelArtifacts": {"S3ModelArtifacts": "s3://bucket/model.tar.gz"},
        "TrainingJobStatus": "Completed",
        "SecondaryStatus": "Completed",
        "AlgorithmSpecification": {"TrainingInputMode": "File", "TrainingImage": "mxnet-training:1.9.0-cpu-py38"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        "CreationTime": T0,
    }] * 2)

    assert main(["jobs", "--backend", "sagemaker"]) == 0
    out, err = capsys.readouterr()
    no_traceback(out + err)
    assert "hpo-base" in out
    assert main(["status", "hpo-base", "--backend", "sagemaker"]) == 0
    out, err = capsys.readouterr()
    no_traceback(out + err)
    assert summaries[0]["TrainingJobName"] in out and "0.97" in out
    assert "mxnet" not in sys.modules
