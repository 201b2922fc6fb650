"""The machine's slots are shared by every local tuning job (issue 25): two tuning jobs
launched together run no more training jobs at once than the machine has slots, and
`status` says how many slots are in use and by which tuning jobs."""

from __future__ import annotations

from hpo_tui import paths
from hpo_tui.cli import main
from hpo_tui.spec import LocalSettings

from .conftest import trainers, wait_for, wait_until


def running(snap) -> int:
    return sum(1 for j in snap.training_jobs if j.status == "InProgress" and j.started_at is not None)


def test_two_tuning_jobs_share_the_machines_slots(backend, fake_spec, hpo_home, capsys):
    spec = dict(static={"num_epoch": 1, "hang": 1}, max_jobs=3, max_parallel_jobs=2,
                local=LocalSettings(concurrency=2))
    first = backend.launch(fake_spec(**spec))
    wait_for(backend, first, lambda s: running(s) == 2)
    second = backend.launch(fake_spec(**spec))
    log = paths.jobs_dir() / second / "runner.log"
    wait_until(lambda: log.exists() and "waiting for a machine slot" in log.read_text(),
               what="the second runner to wait for a slot")
    assert backend.poll(second).training_jobs == ()
    assert len(trainers(hpo_home)) == 2

    assert main(["status", second]) == 0
    out = capsys.readouterr().out
    assert f"slots        2 of 2 in use: {first} 2" in out, out
    assert main(["status", first]) == 0
    assert "slots        2 of 2 in use: this job 2" in capsys.readouterr().out

    backend.stop(first)
    assert wait_for(backend, first).tuning_job.status == "Stopped"
    # Its slots go to the waiting tuning job.
    wait_for(backend, second, lambda s: running(s) == 2)
    assert len(trainers(hpo_home)) == 2
    assert main(["status", second]) == 0
    assert "slots        2 of 2 in use: this job 2" in capsys.readouterr().out
    backend.stop(second)
    assert wait_for(backend, second).tuning_job.status == "Stopped"
