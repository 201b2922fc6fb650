"""`hpo-tui compare` on the real local engine (fake trainer): tuning jobs side by side, and
training jobs of one tuning job, as tables; bad input gets a message, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from hpo_tui.backends.local import LocalBackend
from hpo_tui.cli import main
from tests.compare.jobs import fake_spec, launch, parent_and_child, rows_and_points


@pytest.fixture
def pair(tmp_path: Path) -> tuple[str, str]:
    return parent_and_child(tmp_path)


def test_compare_two_tuning_jobs_prints_bests_lineage_and_best_so_far(pair, capsys) -> None:
    parent, child = pair
    backend = LocalBackend()
    try:
        snaps = {n: backend.poll(n) for n in pair}
    finally:
        backend.close()
    assert main(["compare", parent, child]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = lines[0].split()
    assert header[:3] == ["tuning", "job", parent] and header[3] == child
    strategy = next(line for line in lines if line.split()[:1] == ["strategy"])
    assert strategy.split()[1:] == ["Random", "Bayesian"]
    best_line = next(line for line in lines if line.strip().startswith("best training job"))
    for name in pair:
        assert snaps[name].tuning_job.best_training_job in best_line
    best_values = next(line for line in lines if line.strip().startswith("best objective")).split()[2:]
    assert best_values == [f"{snaps[n].tuning_job.best_objective:.4f}" for n in pair]
    assert f"{child} warm-started from {parent} (IdenticalDataAndAlgorithm)" in out
    warm = next(line for line in lines if line.strip().startswith("warm start from")).split()[3:]
    assert warm == ["—", parent]
    # Best so far after N jobs: one row per improvement, never decreasing for a maximized metric.
    section = out.split("Best so far after N finished jobs")[1].split("Best so far against wall time")[0]
    rows = [r.split() for r in section.strip().splitlines()[2:] if r.strip()]
    assert rows, section
    for column in (1, 2):
        values = [float(r[column]) for r in rows if r[column] != "—"]
        assert values == sorted(values)
        assert values[-1] == pytest.approx(snaps[pair[column - 1]].tuning_job.best_objective, abs=1e-4)


def test_compare_training_jobs_prints_every_metric_per_epoch_and_the_differing_values(pair, capsys) -> None:
    parent, _ = pair
    snap, points = rows_and_points(parent)
    a, b = [j.name for j in snap.training_jobs[:2]]
    assert main(["compare", a, b]) == 0  # training job names: their tuning job is read from them
    out = capsys.readouterr().out
    assert f"Training jobs of tuning job {parent}" in out
    for metric in ("Validation-accuracy", "Train-accuracy", "Validation-loss"):
        section = out.split(f"{metric} per epoch")[1].split("per epoch")[0]
        rows = [r.split() for r in section.strip().splitlines()[1:4]]
        assert [r[0] for r in rows] == ["0", "1", "2"]
        for column, job in ((1, a), (2, b)):
            expected = [p.value for p in sorted(points, key=lambda p: p.epoch) if p.job == job and p.metric == metric]
            assert [float(r[column]) for r in rows] == pytest.approx(expected, abs=1e-4)
    # learning_rate differs between two random draws: marked with *.
    hp = out.split("Hyperparameters (* differs)")[1]
    assert any(line.startswith("* learning_rate") for line in hp.splitlines())
    assert main(["compare", "--tuning-job", parent, a, b]) == 0
    assert capsys.readouterr().out == out


@pytest.mark.parametrize("argv, message", [
    (["compare", "only-one"], "compare 2 to 4 tuning jobs; 1 given"),
    (["compare", "a", "b", "c", "d", "e"], "compare 2 to 4 tuning jobs; 5 given"),
    (["compare", "no-such-job", "nor-this"], "no local tuning job named 'no-such-job'"),
])
def test_compare_bad_names_say_what_to_do(argv, message, capsys) -> None:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_failed_job_with_a_partial_objective_never_counts_as_a_best(tmp_path, capsys) -> None:
    from hpo_tui.spec import CategoricalParameter, ContinuousParameter

    spec = fake_spec(tmp_path, name="cmp-failing", max_jobs=6, static={"fail_at": 2})
    # Jobs with fail_exit 3 print two epochs, then fail: a Failed job with a partial objective.
    spec.ranges = {"learning_rate": ContinuousParameter(0.001, 0.5, "Logarithmic"),
                   "fail_exit": CategoricalParameter(["0", "3"])}
    failing = launch(spec)
    other = launch(fake_spec(tmp_path, name="cmp-other", max_jobs=1))
    snap, _ = rows_and_points(failing)
    failed = [j for j in snap.training_jobs if j.status == "Failed" and j.final_objective is not None]
    completed = [j for j in snap.training_jobs if j.status == "Completed"]
    assert failed and completed, [(j.status, j.final_objective) for j in snap.training_jobs]
    assert main(["compare", failing, other]) == 0
    out = capsys.readouterr().out
    best = next(line for line in out.splitlines() if line.strip().startswith("best objective")).split()[2]
    assert float(best) == pytest.approx(max(j.final_objective for j in completed), abs=1e-4)
    scored = next(line for line in out.splitlines() if line.strip().startswith("scored jobs")).split()[2]
    assert int(scored) == len(completed)
