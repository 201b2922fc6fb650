"""The runner through LocalBackend: SageMaker's environment, slots, metrics, cursors, logs."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import time
from pathlib import Path

from hpo_tui import paths
from hpo_tui.engine import procinfo
from hpo_tui.engine.store import Store
from hpo_tui.spec import CategoricalParameter

from .conftest import FAKE_TRAIN, wait_for

_spec = importlib.util.spec_from_file_location("fake_train", FAKE_TRAIN)
fake_train = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fake_train)


def test_launch_returns_at_once_and_the_runner_is_detached(backend, fake_spec):
    name = backend.launch(fake_spec(static={"sleep": 0.3}))
    snap = backend.poll(name)
    assert snap.tuning_job.status == "InProgress"
    store = Store.reader(paths.store_path())
    row = store.tuning_job(name)
    store.close()
    # Its own session and process group: closing the terminal or the UI leaves it running.
    assert row["runner_pgid"] == row["runner_pid"] == os.getsid(row["runner_pid"])
    assert os.getpgid(row["runner_pid"]) != os.getpgid(0)
    wait_for(backend, name)


def test_training_jobs_get_sagemakers_environment_and_argv(backend, fake_spec, channels):
    name = backend.launch(fake_spec(static={"dump_env": 1, "batch_size": 100}, max_jobs=2, max_parallel_jobs=2))
    snap = wait_for(backend, name)
    assert snap.tuning_job.status == "Completed"
    for job in snap.training_jobs:
        folder = paths.jobs_dir() / name / job.name
        dumped = json.loads((folder / "output" / "env.json").read_text())
        env, argv = dumped["env"], dumped["argv"]
        assert env["SM_CHANNEL_TRAIN"] == channels.train and env["SM_CHANNEL_TEST"] == channels.test
        assert env["SM_MODEL_DIR"] == str(folder / "model")
        assert env["SM_OUTPUT_DATA_DIR"] == str(folder / "output")
        assert env["SM_HOSTS"] == '["algo-1"]' and env["SM_CURRENT_HOST"] == "algo-1"
        assert env["SM_NUM_GPUS"] == "0"
        assert env["HPO_TUI_FAILURE_FILE"] == str(folder / "failure")
        # One thread per job, whatever the parallelism (measured faster on 2 cores).
        assert env["OMP_NUM_THREADS"] == "1" and env["MXNET_CPU_WORKER_NTHREADS"] == "1"
        hps = json.loads(env["SM_HPS"])
        assert hps["batch_size"] == "100" and hps["num_epoch"] == "3"
        assert {k: hps[k] for k in job.hyperparameters} == job.hyperparameters
        assert all(isinstance(v, str) for v in hps.values())
        # argv: the script, then --name value pairs, static and tuned, all strings.
        assert argv[0] == str(FAKE_TRAIN)
        assert fake_train.parse_args(argv[1:]) == hps
        assert dumped["cwd"] == str(folder)


def test_metrics_objective_best_job_and_cursor(backend, fake_spec):
    name = backend.launch(fake_spec(max_jobs=4, max_parallel_jobs=2))
    snap = wait_for(backend, name)
    t = snap.tuning_job
    assert t.status == "Completed"
    assert t.status_counters.completed == 4 and t.objective_counters.succeeded == 4
    assert t.max_epochs == 3 and t.tuned_parameters == ("learning_rate", "optimizer")
    for job in snap.training_jobs:
        expected = fake_train.curve(job.hyperparameters | {"num_epoch": "3"})
        assert job.final_objective == expected[-1]
        assert job.best_objective == max(expected)
        assert job.last_epoch == 2
        points = [p for p in snap.new_points if p.job == job.name and p.metric == "Validation-accuracy"]
        assert [(p.epoch, p.value) for p in points] == list(enumerate(expected))
    best = max(snap.training_jobs, key=lambda j: j.final_objective)
    assert (t.best_training_job, t.best_objective) == (best.name, best.final_objective)
    assert [j.launch_index for j in snap.training_jobs] == [0, 1, 2, 3]
    assert [j.name for j in snap.training_jobs] == [f"{name}-{i:03d}" for i in (1, 2, 3, 4)]

    # Only the points after the cursor come back; an up-to-date cursor gets none.
    again = backend.poll(name, snap.cursor)
    assert again.new_points == () and again.cursor == snap.cursor
    half = snap.new_points[len(snap.new_points) // 2 - 1]
    rest = backend.poll(name, snap.cursor.point_id - len(snap.new_points) // 2)
    assert rest.new_points == snap.new_points[len(snap.new_points) // 2:]
    assert half not in rest.new_points


def test_every_metric_definition_is_applied_to_every_line(backend, fake_spec):
    from hpo_tui.spec import MetricDefinition

    spec = fake_spec(max_jobs=1, max_parallel_jobs=1, static={"num_epoch": 2})
    spec.metric_definitions = [
        MetricDefinition("Validation-accuracy", r"Validation-accuracy=([0-9\.]+)"),
        MetricDefinition("Validation-loss", r"Validation-loss=([0-9\.]+)"),
        MetricDefinition("any-accuracy", r"accuracy=([0-9\.]+)"),
    ]
    name = backend.launch(spec)
    snap = wait_for(backend, name)
    by_metric: dict[str, list] = {}
    for p in snap.new_points:
        by_metric.setdefault(p.metric, []).append(p.epoch)
    assert by_metric == {"Validation-accuracy": [0, 1], "Validation-loss": [0, 1], "any-accuracy": [0, 0, 1, 1]}


def test_parallel_slots_are_filled_but_never_exceeded(backend, fake_spec):
    name = backend.launch(fake_spec(static={"sleep": 0.15}, max_jobs=6, max_parallel_jobs=3))
    most = 0
    while True:
        snap = backend.poll(name)
        running = sum(1 for j in snap.training_jobs if not j.is_terminal)
        most = max(most, running)
        if snap.tuning_job.is_terminal:
            break
        time.sleep(0.02)
    assert most <= 3
    assert len(snap.training_jobs) == 6
    # Jobs overlapped: some started before an earlier one ended.
    jobs = snap.training_jobs
    assert any(b.started_at < a.ended_at for a, b in zip(jobs, jobs[1:]))


def test_log_tail_returns_only_complete_lines_from_a_byte_cursor(backend, fake_spec):
    name = backend.launch(fake_spec(max_jobs=1, max_parallel_jobs=1, static={"num_epoch": 2}))
    job = wait_for(backend, name).training_jobs[0]
    log = Path(Store.reader(paths.store_path()).training_job(job.name)["log_path"])
    full = backend.log_tail(job.name)
    assert full.lines[0].startswith("fake_train: hyperparameters")
    assert full.lines[-1] == "Epoch[1] Validation-loss=" + full.lines[-1].split("=")[1]
    assert full.cursor == log.stat().st_size
    assert backend.log_tail(job.name, full.cursor).lines == ()
    with open(log, "ab") as f:
        f.write(b"partial line without newline")
    assert backend.log_tail(job.name, full.cursor).lines == ()
    with open(log, "ab") as f:
        f.write(b" now ends\n")
    assert backend.log_tail(job.name, full.cursor).lines == ("partial line without newline now ends",)


def test_grid_runs_every_combination_once_with_integer_strings(backend, fake_spec):
    spec = fake_spec(
        strategy="Grid", max_jobs=None, max_parallel_jobs=2, random_seed=None,
        ranges={"optimizer": CategoricalParameter(["sgd", "Adam"]), "num_epoch": CategoricalParameter(["1", "2"])},
        static={},
    )
    name = backend.launch(spec)
    snap = wait_for(backend, name)
    assert snap.tuning_job.max_jobs == 4
    combos = sorted((j.hyperparameters["optimizer"], j.hyperparameters["num_epoch"]) for j in snap.training_jobs)
    assert combos == [("Adam", "1"), ("Adam", "2"), ("sgd", "1"), ("sgd", "2")]
    assert all(j.last_epoch == int(j.hyperparameters["num_epoch"]) - 1 for j in snap.training_jobs)


def test_max_runtime_counts_from_creation_and_ends_completed(backend, fake_spec):
    """max_runtime_seconds (at least 120 s, SageMaker's minimum) is measured from the tuning
    job's creation, also across a resume. Reaching it stops the running jobs and ends the
    tuning job as Completed. The test resumes a job created (as recorded) 112 s ago."""
    name = backend.launch(fake_spec(static={"num_epoch": 1, "hang": 1}, max_jobs=4, max_parallel_jobs=2,
                                    max_runtime_seconds=120))
    wait_for(backend, name, lambda s: len(s.training_jobs) == 2)
    store = Store.reader(paths.store_path())
    row = store.tuning_job(name)
    store.close()
    os.kill(row["runner_pid"], signal.SIGKILL)
    while procinfo.is_alive(row["runner_pid"], row["runner_start_time"]):
        time.sleep(0.01)
    assert backend.poll(name).tuning_job.status == "Failed"
    writer = Store.writer(paths.store_path())
    with writer.write():
        # 8 s left: room for the new runner to start its jobs even on a loaded machine.
        writer.update_tuning_job(name, created_at=time.time() - 112)
    writer.close()

    backend.resume(name)
    snap = wait_for(backend, name, timeout=60)
    assert snap.tuning_job.status == "Completed"
    assert [j.status for j in snap.training_jobs] == ["Failed", "Failed", "Stopped", "Stopped"]
    store = Store.reader(paths.store_path())
    assert store.tuning_job(name)["completion_reason"] == "max_runtime_seconds reached"
    store.close()


def test_list_tuning_jobs_newest_first(backend, fake_spec):
    first = backend.launch(fake_spec(max_jobs=1, max_parallel_jobs=1, tuning_job_name="first-job"))
    second = backend.launch(fake_spec(max_jobs=1, max_parallel_jobs=1, tuning_job_name="second-job"))
    wait_for(backend, first)
    wait_for(backend, second)
    assert [j.name for j in backend.list_tuning_jobs()] == ["second-job", "first-job"]
    assert all(j.backend == "local" and j.status == "Completed" for j in backend.list_tuning_jobs())


def test_default_source_dir_is_the_bundled_script_even_beside_another_training_folder(
        backend, fake_spec, tmp_path, monkeypatch):
    (tmp_path / "elsewhere" / "training").mkdir(parents=True)  # unrelated, no mnist.py in it
    monkeypatch.chdir(tmp_path / "elsewhere")
    spec = fake_spec(max_jobs=1, max_parallel_jobs=1, static={"num_epoch": 1, "max_train_samples": 100})
    spec.estimator.source_dir = "training"
    spec.estimator.entry_point = "mnist.py"
    name = backend.launch(spec)
    store = Store.reader(paths.store_path())
    stored = json.loads(store.tuning_job(name)["spec_json"])
    store.close()
    assert stored["estimator"]["source_dir"] == str(paths.training_dir())
    backend.stop(name)
    assert wait_for(backend, name).tuning_job.status == "Stopped"
