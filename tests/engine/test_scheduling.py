"""How many training jobs the local engine runs at once, and with how many threads (fake trainer)."""

from __future__ import annotations

import json

import pytest

from hpo_tui import paths
from hpo_tui.engine import executor
from hpo_tui.spec import LocalSettings

from .conftest import wait_for


def most_at_once(jobs) -> int:
    """The most jobs running at the same moment, from the runner's own start and end times."""
    events = [(j.started_at, 1) for j in jobs] + [(j.ended_at, -1) for j in jobs]
    running = most = 0
    for _, change in sorted(events):  # at equal times an end (-1) sorts before a start
        running += change
        most = max(most, running)
    return most


def test_local_concurrency_caps_max_parallel_jobs(backend, fake_spec):
    spec = fake_spec(static={"sleep": 0.3}, max_jobs=6, max_parallel_jobs=3, local=LocalSettings(concurrency=2))
    snap = wait_for(backend, backend.launch(spec))
    assert snap.tuning_job.status == "Completed"
    assert [j.status for j in snap.training_jobs] == ["Completed"] * 6
    # Three allowed, two at a time: the cap is reached and never exceeded.
    assert most_at_once(snap.training_jobs) == 2
    # The view says so, for the dashboard's "3 allowed, 2 running (N cores)".
    assert snap.tuning_job.job_slots == 2 and snap.tuning_job.cores == executor.cores()


async def test_dashboard_header_says_how_many_jobs_are_allowed_and_running() -> None:
    from textual.app import App

    from hpo_tui.app.widgets.tuning_header import TuningJobHeader
    from hpo_tui.views import StatusCounters, TuningJobView

    def view(slots: int | None) -> TuningJobView:
        return TuningJobView(name="t", backend="local", status="InProgress", strategy="Random",
                             objective_name="acc", objective_type="Maximize", max_jobs=9, max_parallel_jobs=3,
                             status_counters=StatusCounters(in_progress=2), job_slots=slots, cores=2)

    class Host(App[None]):
        def compose(self):
            yield TuningJobHeader("t")

    app = Host()
    async with app.run_test(size=(140, 10)) as pilot:
        header = app.query_one(TuningJobHeader)
        header.show(view(2), None, 0.0, {})
        await pilot.pause()
        assert "3 allowed, 2 running (2 cores)" in str(app.query_one("#dash-counters").render())
        header.show(view(3), None, 0.0, {})  # nothing capped: the plain count
        await pilot.pause()
        text = str(app.query_one("#dash-counters").render())
        assert "2 running" in text and "allowed" not in text


def test_max_parallel_jobs_still_caps_below_the_local_concurrency(backend, fake_spec):
    spec = fake_spec(static={"sleep": 0.3}, max_jobs=4, max_parallel_jobs=1, local=LocalSettings(concurrency=3))
    snap = wait_for(backend, backend.launch(spec))
    assert snap.tuning_job.status == "Completed"
    assert most_at_once(snap.training_jobs) == 1


def test_default_concurrency_is_one_job_per_core(backend, fake_spec):
    cores = executor.cores()
    if cores > 16:
        pytest.skip(f"{cores} cores: too many processes for a unit test")
    spec = fake_spec(static={"sleep": 0.5}, max_jobs=cores + 2, max_parallel_jobs=cores + 1)
    assert spec.local.concurrency is None  # auto
    snap = wait_for(backend, backend.launch(spec))
    assert snap.tuning_job.status == "Completed"
    assert most_at_once(snap.training_jobs) == cores


def test_one_thread_per_job_even_when_it_runs_alone(backend, fake_spec):
    # cores // max_parallel_jobs would give a lone job every core; one thread measured faster.
    name = backend.launch(fake_spec(static={"dump_env": 1}, max_jobs=1, max_parallel_jobs=1))
    snap = wait_for(backend, name)
    folder = paths.jobs_dir() / name / snap.training_jobs[0].name
    env = json.loads((folder / "output" / "env.json").read_text())["env"]
    assert env["OMP_NUM_THREADS"] == "1" and env["MXNET_CPU_WORKER_NTHREADS"] == "1"
