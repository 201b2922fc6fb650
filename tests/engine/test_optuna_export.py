"""`hpo-tui export NAME --format optuna`: a JournalStorage file that optuna.load_study
reads back with the store's trials, final values and per-epoch values."""

from __future__ import annotations

import json
import math
from pathlib import Path

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from hpo_tui import paths
from hpo_tui.cli import main
from hpo_tui.engine.store import Store
from hpo_tui.spec import CategoricalParameter, ContinuousParameter, IntegerParameter

from .conftest import wait_for

STATES = {"Completed": TrialState.COMPLETE, "Stopped": TrialState.PRUNED, "Failed": TrialState.FAIL}


def _load(path: Path) -> optuna.Study:
    return optuna.load_study(study_name=None, storage=JournalStorage(JournalFileBackend(str(path))))


def test_optuna_export_round_trips_through_load_study(backend, fake_spec, tmp_path, capsys):
    spec = fake_spec(
        ranges={
            "learning_rate": ContinuousParameter(0.001, 0.5, "Logarithmic"),
            "optimizer": CategoricalParameter(["sgd", "Adam"]),
            "num_epoch": IntegerParameter(2, 5),
            # Some jobs fail after their first epoch: a FAIL trial with one intermediate value.
            "fail_exit": CategoricalParameter(["0", "3"]),
        },
        static={"fail_at": 1},
        max_jobs=8, max_parallel_jobs=2, strategy="Random", early_stopping="Auto",
        tuning_job_name="to-optuna",
    )
    name = backend.launch(spec)
    wait_for(backend, name, timeout=180)

    out = tmp_path / "study" / "journal.log"
    assert main(["export", name, "--format", "optuna", "-o", str(out)]) == 0
    assert f"wrote an Optuna study of 8 trials to {out}" in capsys.readouterr().err
    study = _load(out)

    store = Store.reader(paths.store_path())
    assert store is not None
    jobs = store.training_jobs(name)
    assert study.study_name == name
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE
    assert study.metric_names == ["Validation-accuracy"]
    assert len(study.trials) == len(jobs) == 8
    states = set()
    for trial, job in zip(study.trials, jobs):
        hps = json.loads(job["hyperparameters"])
        assert trial.user_attrs["training_job"] == job["name"]
        assert trial.state == STATES[job["status"]]
        states.add(job["status"])
        assert trial.params == {
            "learning_rate": float(hps["learning_rate"]), "optimizer": hps["optimizer"],
            "num_epoch": int(hps["num_epoch"]), "fail_exit": hps["fail_exit"],
        }
        if job["status"] == "Completed":
            assert trial.value == job["final_objective"]
        if job["status"] == "Failed":
            assert trial.value is None
        points = store.job_points(job["name"], "Validation-accuracy")
        assert points, job["name"]
        assert trial.intermediate_values == {p["epoch"] + 1: p["value"] for p in points}
        assert trial.datetime_start is not None
        assert trial.datetime_complete is not None
        assert math.isclose(trial.datetime_complete.timestamp() - trial.datetime_start.timestamp(),
                            job["ended_at"] - job["started_at"], abs_tol=1e-3)
    assert {"Completed", "Failed"} <= states  # the seeded draw has both
    dists = study.trials[0].distributions
    assert dists["learning_rate"] == FloatDistribution(0.001, 0.5, log=True)
    assert dists["optimizer"] == CategoricalDistribution(["sgd", "Adam"])
    assert dists["num_epoch"] == IntDistribution(2, 5)
    assert study.best_value == max(j["final_objective"] for j in jobs if j["status"] == "Completed")

    # Exporting again replaces the file rather than appending a second study to it.
    assert main(["export", name, "--format", "optuna", "-o", str(out)]) == 0
    assert len(_load(out).trials) == 8
    assert list(out.parent.iterdir()) == [out]


def test_optuna_export_needs_an_output_file(backend, fake_spec, capsys):
    name = backend.launch(fake_spec(max_jobs=1, max_parallel_jobs=1, tuning_job_name="no-out"))
    wait_for(backend, name)
    assert main(["export", name, "--format", "optuna"]) == 1
    err = capsys.readouterr().err
    assert "--output FILE" in err and "Traceback" not in err
