"""`hpo-tui spec ...`, `--help` and `--version`, run as the real console script."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

from hpo_tui.spec import TuningSpec, load_spec


# The installed console script, as users run it (python -m as a fallback in a bare checkout).
SCRIPT = Path(sys.executable).parent / "hpo-tui"
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "hpo_tui.cli"]


def hpo_tui(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*COMMAND, *args], capture_output=True, text=True, cwd=cwd, timeout=60)


def test_help_and_version() -> None:
    out = hpo_tui("--help")
    assert out.returncode == 0
    assert "spec" in out.stdout and "launch" in out.stdout
    out = hpo_tui("--version")
    assert out.returncode == 0 and out.stdout.startswith("hpo-tui ")
    out = hpo_tui("spec", "--help")
    assert out.returncode == 0 and "validate" in out.stdout and "render" in out.stdout


def test_init_writes_the_reference_workflow(tmp_path: Path) -> None:
    out = hpo_tui("spec", "init", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    data = tomllib.loads((tmp_path / "tuning.toml").read_text())
    assert data["ranges"]["optimizer"] == {"type": "categorical", "values": ["sgd", "Adam"]}
    assert data["ranges"]["learning_rate"] == {"type": "continuous", "min": 0.01, "max": 0.2, "scaling": "Auto"}
    assert data["ranges"]["num_epoch"] == {"type": "integer", "min": 10, "max": 50, "scaling": "Auto"}
    assert data["objective"] == {"name": "Validation-accuracy", "type": "Maximize"}
    assert data["metric_definitions"] == [{"name": "Validation-accuracy", "regex": r"Validation-accuracy=([0-9\.]+)"}]
    assert (data["max_jobs"], data["max_parallel_jobs"], data["strategy"]) == (9, 3, "Bayesian")
    assert data["estimator"]["hyperparameters"] == {"batch_size": 100}
    assert load_spec(tmp_path / "tuning.toml") == TuningSpec()


def test_init_does_not_overwrite_without_force(tmp_path: Path) -> None:
    target = tmp_path / "mine.toml"
    target.write_text("# my own notes\n")
    out = hpo_tui("spec", "init", str(target))
    assert out.returncode == 1
    assert "--force" in out.stderr and "Traceback" not in out.stderr
    assert target.read_text() == "# my own notes\n"
    assert hpo_tui("spec", "init", str(target), "--force").returncode == 0
    assert load_spec(target) == TuningSpec()


def test_validate_prints_a_summary_of_a_valid_spec(tmp_path: Path) -> None:
    assert hpo_tui("spec", "init", cwd=tmp_path).returncode == 0
    out = hpo_tui("spec", "validate", "tuning.toml", cwd=tmp_path)
    assert out.returncode == 0, out.stdout
    assert "valid" in out.stdout
    assert "9 training jobs, 3 at a time, Bayesian" in out.stdout
    assert "learning_rate" in out.stdout and "0.01 .. 0.2" in out.stdout
    assert len(out.stdout.splitlines()) <= 24  # one screen


def test_validate_lists_all_five_mistakes(tmp_path: Path) -> None:
    assert hpo_tui("spec", "init", cwd=tmp_path).returncode == 0
    path = tmp_path / "tuning.toml"
    text = path.read_text()
    for old, new in [
        ("max_parallel_jobs = 3", "max_parallel_jobs = 12"),       # more than max_jobs
        ("min = 0.01", "min = 0.5"),                               # min > max
        ('"Validation-accuracy=([0-9\\\\.]+)"', '"Validation-accuracy=[0-9.]+"'),  # no capture group
        ('instance_type = "ml.m5.xlarge"', 'instance_type = "m5.xlarge"'),
        ("[channels]\n", "[channels]\ntrain = \"s3://Not_A_Bucket/train\"\n"),
    ]:
        assert old in text, old
        text = text.replace(old, new, 1)
    path.write_text(text)
    out = hpo_tui("spec", "validate", "tuning.toml", cwd=tmp_path)
    assert out.returncode == 1
    assert "5 problems" in out.stdout
    for field in ("max_parallel_jobs:", "ranges.learning_rate.min:", "metric_definitions[0].regex:",
                  "estimator.instance_type:", "channels.train:"):
        assert field in out.stdout, field
    assert "Traceback" not in out.stdout + out.stderr


def test_malformed_toml_shows_line_and_column_without_traceback(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('strategy = "Bayesian"\nmax_jobs = 9\n[ranges.lr\ntype = "continuous"\n')
    for command in ("validate", "render"):
        out = hpo_tui("spec", command, str(path))
        assert out.returncode == 1
        text = out.stdout + out.stderr
        assert "line 3, column" in text and "Traceback" not in text


def test_missing_file(tmp_path: Path) -> None:
    out = hpo_tui("spec", "render", str(tmp_path / "nope.toml"))
    assert out.returncode == 1
    assert "hpo-tui spec init" in out.stderr and "Traceback" not in out.stderr


def test_render_prints_the_request_json(tmp_path: Path) -> None:
    assert hpo_tui("spec", "init", cwd=tmp_path).returncode == 0
    out = hpo_tui("spec", "render", "tuning.toml", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    request = json.loads(out.stdout)
    config = request["HyperParameterTuningJobConfig"]
    assert config["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 9, "MaxParallelTrainingJobs": 3}
    assert config["ParameterRanges"]["IntegerParameterRanges"] == [
        {"Name": "num_epoch", "MinValue": "10", "MaxValue": "50", "ScalingType": "Auto"}]
    assert request["HyperParameterTuningJobName"].startswith("mnist-hpo-")
    assert request["TrainingJobDefinition"]["StaticHyperParameters"]["batch_size"] == "100"
    assert "role" in out.stderr  # the placeholder role is pointed out
