"""End to end with real MXNet: training/mnist.py under the local engine, through the CLI."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from hpo_tui.backends.local import LocalBackend
from hpo_tui.cli import main
from hpo_tui.spec import (
    CategoricalParameter,
    Channels,
    ContinuousParameter,
    Estimator,
    IntegerParameter,
    TuningSpec,
    save_spec,
)

OBJECTIVE = re.compile(r"Validation-accuracy=([0-9\.]+)")


def test_four_mnist_jobs_two_parallel(mnist_channels: Path, tmp_path: Path, capsys):
    spec = TuningSpec(
        estimator=Estimator(hyperparameters={"batch_size": 100, "max_train_samples": 3000}),
        ranges={
            "optimizer": CategoricalParameter(["sgd", "Adam"]),
            "learning_rate": ContinuousParameter(0.01, 0.2),
            "num_epoch": IntegerParameter(1, 2),
        },
        strategy="Random",
        random_seed=11,
        max_jobs=4,
        max_parallel_jobs=2,
        channels=Channels(train=str(mnist_channels / "train"), test=str(mnist_channels / "test")),
        tuning_job_name="mnist-e2e",
    )
    spec_file = save_spec(spec, tmp_path / "tuning.toml")

    assert main(["launch", str(spec_file), "--wait"]) == 0
    assert "mnist-e2e-004" in capsys.readouterr().out

    backend = LocalBackend()
    snap = backend.poll("mnist-e2e")
    assert snap.tuning_job.status == "Completed"
    assert [(j.status, j.objective_status) for j in snap.training_jobs] == [("Completed", "Succeeded")] * 4

    # The objective of each job is the last value its log emitted; read the logs ourselves.
    last_values = {}
    for job in snap.training_jobs:
        lines = backend.log_tail(job.name).lines
        values = [float(m.group(1)) for line in lines for m in OBJECTIVE.finditer(line)]
        assert len(values) == int(job.hyperparameters["num_epoch"])
        assert job.final_objective == values[-1]
        last_values[job.name] = values[-1]
        assert 0.0 <= values[-1] <= 1.0
    best = max(last_values, key=last_values.get)
    assert snap.tuning_job.best_training_job == best
    assert snap.tuning_job.best_objective == last_values[best]

    out = tmp_path / "jobs.csv"
    assert main(["export", "mnist-e2e", "--format", "csv", "--output", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [r["name"] for r in rows] == [j.name for j in snap.training_jobs]
    for row, job in zip(rows, snap.training_jobs):
        assert row["status"] == "Completed" and row["objective_status"] == "Succeeded"
        assert float(row["final_objective"]) == job.final_objective == last_values[job.name]
        for name in ("optimizer", "learning_rate", "num_epoch"):
            assert row[name] == job.hyperparameters[name]
