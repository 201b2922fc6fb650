"""`hpo-tui status` and the Snapshot of a live local tuning job carry progress weighted by
epochs and an ETA (issue 15 item 4), estimated by hpo_tui.estimate from real epochs."""

from __future__ import annotations

from hpo_tui.backends.local import LocalBackend
from hpo_tui.cli import main

from .conftest import wait_for


def test_a_running_tuning_job_has_an_eta_in_its_snapshot_and_in_status(fake_spec, capsys):
    backend = LocalBackend()
    # 3 jobs of 8 slow epochs, 2 at a time: the third waits for a slot.
    name = backend.launch(fake_spec(static={"num_epoch": 8, "sleep": 0.4}, max_jobs=3, max_parallel_jobs=2))
    snap = wait_for(backend, name, lambda s: any((j.last_epoch or 0) >= 1 for j in s.training_jobs)
                    and not s.tuning_job.is_terminal)
    estimate = snap.estimate
    assert estimate.remaining_seconds is not None and estimate.remaining_seconds > 0
    assert 0 < estimate.fraction < 1 and estimate.epochs_total == 3 * 8
    assert dict(estimate.job_remaining).keys() == {j.name for j in snap.training_jobs if not j.is_terminal}

    assert main(["status", name]) == 0
    out = capsys.readouterr().out
    progress = next(line for line in out.splitlines() if line.startswith("progress"))
    assert "epochs" in progress and "/24" in progress and "ETA" in progress

    done = wait_for(backend, name)
    assert done.estimate.fraction == 1.0 and done.estimate.remaining_seconds == 0.0
    assert main(["status", name]) == 0
    assert "ETA" not in capsys.readouterr().out  # nothing left to wait for
