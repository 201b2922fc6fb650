"""Each training job's log is capped (issue 25): [local] log_max_bytes, the cut marked, the
job's last lines kept at the end, and the metrics read from every line all the same."""

from __future__ import annotations

from pathlib import Path

from hpo_tui.spec import ContinuousParameter, LocalSettings

from .conftest import store_rows, wait_for
from .fake_train import curve


def test_a_job_log_stops_at_the_cap_marks_the_cut_and_keeps_its_last_lines(backend, fake_spec):
    # About 40 KB of output: 10 epochs of 40 noise lines, against a cap of 8 KB.
    name = backend.launch(fake_spec(static={"num_epoch": 10, "noise": 40, "learning_rate": 0.1, "optimizer": "sgd"},
                                    ranges={"x1": ContinuousParameter(0.5, 1.5)},
                                    max_jobs=1, max_parallel_jobs=1, local=LocalSettings(log_max_bytes=8192)))
    snap = wait_for(backend, name)
    job = snap.training_jobs[0]
    assert job.status == "Completed"
    # The objective is the last value printed, far past the cut.
    hps = {"num_epoch": "10", "learning_rate": "0.1", "optimizer": "sgd", **job.hyperparameters}
    assert job.final_objective == curve(hps)[-1]
    data = Path(store_rows(name)[1][0]["log_path"]).read_bytes()
    head, cut, rest = data.partition(b"\n[hpo-tui: log cut at 8192 bytes ([local] log_max_bytes)")
    assert cut and len(head) == 8192
    assert b"bytes dropped here; the last lines:" in rest
    assert rest.rstrip().endswith(f"Epoch[9] Validation-loss={1 - job.final_objective:.6f}".encode())
    assert len(data) < 8192 + 4096
