"""The headless CLI over the local engine: launch --wait, jobs, status, logs, export."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hpo_tui.backends.local import LocalBackend
from hpo_tui.cli import main
from hpo_tui.spec import save_spec

from .conftest import FAKE_TRAIN, wait_for


@pytest.fixture
def project(tmp_path: Path, fake_spec) -> Path:
    """A spec file with paths relative to its own folder, as a user would write it."""
    root = tmp_path / "project"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(FAKE_TRAIN, root / "scripts" / "train.py")
    for channel in ("train", "test"):
        (root / "data" / channel).mkdir(parents=True)
    spec = fake_spec(max_jobs=3, max_parallel_jobs=2, tuning_job_name="cli-job")
    spec.estimator.source_dir = "scripts"
    spec.estimator.entry_point = "train.py"
    spec.channels.train = "data/train"
    spec.channels.test = "data/test"
    save_spec(spec, root / "tuning.toml")
    return root / "tuning.toml"


def test_launch_wait_prints_events_and_summary_then_export_matches(project, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # not the spec's folder: its paths are relative to the file
    assert main(["launch", str(project), "--wait"]) == 0
    out = capsys.readouterr().out
    assert "launched tuning job cli-job on the local backend" in out
    for i in (1, 2, 3):
        assert f"started  cli-job-00{i}" in out
        assert f"finished cli-job-00{i}  Completed/Succeeded  Validation-accuracy=" in out
    snap = LocalBackend().poll("cli-job")
    best = snap.tuning_job.best_training_job
    assert f"best job     {best}" in out and f"*{best}" in out

    assert main(["export", "cli-job", "--format", "csv", "--output", str(tmp_path / "out.csv")]) == 0
    rows = list(csv.DictReader((tmp_path / "out.csv").open()))
    assert list(rows[0]) == ["name", "status", "objective_status", "learning_rate", "optimizer",
                             "final_objective", "best_objective", "is_best", "epochs", "started", "ended",
                             "duration_seconds", "failure_reason"]
    assert [r["name"] for r in rows] == [j.name for j in snap.training_jobs]
    for row, job in zip(rows, snap.training_jobs):
        assert (row["status"], row["objective_status"]) == (job.status, job.objective_status)
        assert float(row["final_objective"]) == job.final_objective
        assert {k: row[k] for k in job.hyperparameters} == job.hyperparameters
        assert row["started"].endswith("Z") and row["failure_reason"] == ""
        assert float(row["best_objective"]) == job.best_objective
        assert row["is_best"] == str(job.name == best) and int(row["epochs"]) == job.last_epoch + 1
        assert 0 < float(row["duration_seconds"]) == round(job.ended_at - job.started_at, 3)

    capsys.readouterr()
    assert main(["export", "cli-job", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(d["name"], d["final_objective"]) for d in data] == [
        (j.name, j.final_objective) for j in snap.training_jobs]


def test_jobs_status_and_logs(project, capsys):
    assert main(["jobs"]) == 0
    assert "no tuning jobs on the local backend yet" in capsys.readouterr().out
    assert main(["launch", str(project)]) == 0
    assert "hpo-tui status cli-job" in capsys.readouterr().out
    backend = LocalBackend()
    snap = wait_for(backend, "cli-job")

    assert main(["jobs"]) == 0
    out = capsys.readouterr().out
    assert "cli-job" in out and "Completed" in out and "3/3" in out

    assert main(["status", "cli-job"]) == 0
    out = capsys.readouterr().out
    assert "3 completed" in out and all(j.name in out for j in snap.training_jobs)

    assert main(["logs", "cli-job-002"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == list(backend.log_tail("cli-job-002").lines)
    assert "Epoch[2] Validation-accuracy=" in out


def test_logs_follow_prints_until_the_job_ends(fake_spec, hpo_home):
    backend = LocalBackend()
    name = backend.launch(fake_spec(static={"num_epoch": 4, "sleep": 0.3}, max_jobs=1, max_parallel_jobs=1))
    wait_for(backend, name, lambda s: len(s.training_jobs) == 1)
    result = subprocess.run([sys.executable, "-m", "hpo_tui.cli", "logs", f"{name}-001", "--follow"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Epoch[3] Validation-loss=" in result.stdout  # the last line, printed after following
    assert backend.poll(name).training_jobs[0].status == "Completed"


def test_unknown_names_give_a_message_not_a_traceback(hpo_home):
    for argv in (["status", "nope"], ["export", "nope"], ["logs", "nope-001"], ["resume", "nope"]):
        result = subprocess.run([sys.executable, "-m", "hpo_tui.cli", *argv],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert "nope" in result.stderr and "hpo-tui" in result.stderr


def test_launch_of_a_bad_spec_names_the_field(tmp_path, capsys, project):
    text = project.read_text().replace('max_parallel_jobs = 2', 'max_parallel_jobs = 0')
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    assert main(["launch", str(bad)]) == 1
    assert "max_parallel_jobs" in capsys.readouterr().err
    assert LocalBackend().list_tuning_jobs() == []


def test_launching_the_same_name_twice_is_refused(project, capsys):
    assert main(["launch", str(project)]) == 0
    assert main(["launch", str(project)]) == 1
    assert "already exists" in capsys.readouterr().err
    wait_for(LocalBackend(), "cli-job")


def test_export_to_an_unwritable_place(project, tmp_path, capsys):
    assert main(["launch", str(project)]) == 0
    wait_for(LocalBackend(), "cli-job")
    assert main(["export", "cli-job", "-o", str(tmp_path / "no" / "such" / "dir.csv")]) == 1
    assert "choose another --output" in capsys.readouterr().err


def test_launch_wait_exits_1_when_the_tuning_job_fails(tmp_path, fake_spec, capsys):
    spec = fake_spec(max_jobs=1, max_parallel_jobs=1, static={"fail_exit": 3}, tuning_job_name="bad-job")
    save_spec(spec, tmp_path / "bad.toml")
    assert main(["launch", str(tmp_path / "bad.toml"), "--wait"]) == 1
    out = capsys.readouterr().out
    assert "finished bad-job-001  Failed/Failed  reason: AlgorithmError: exit code 3" in out
    assert "status       Failed" in out
