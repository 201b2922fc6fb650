"""`hpo-tui delete` and `hpo-tui prune` on the real local engine and store: what goes is said
first, a running tuning job is refused, nothing is deleted without a yes."""

from __future__ import annotations

from pathlib import Path

import pytest

from hpo_tui import paths
from hpo_tui.backends.local import LocalBackend
from hpo_tui.cli import main
from hpo_tui.engine.store import Store
from tests.compare.jobs import backdate, fake_spec, launch, parent_and_child


def local_names() -> set[str]:
    backend = LocalBackend()
    try:
        return {j.name for j in backend.list_tuning_jobs()}
    finally:
        backend.close()


def point_count(name: str) -> int:
    store = Store.reader(paths.store_path())
    try:
        return store.conn.execute("SELECT COUNT(*) FROM metric_points WHERE tuning_job = ?", (name,)).fetchone()[0]
    finally:
        store.close()


def test_delete_says_what_goes_then_removes_rows_and_folder(tmp_path: Path, capsys) -> None:
    parent, child = parent_and_child(tmp_path)
    folder = paths.jobs_dir() / parent
    assert main(["jobs"]) == 0  # the disk use of each tuning job, as delete reports it below
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].split()[-1] == "DISK"
    size = next(line for line in listed if line.startswith(parent)).split()[-2:]
    assert folder.is_dir() and point_count(parent) == 27  # 3 jobs x 3 epochs x 3 metrics
    assert main(["delete", parent, "--yes"]) == 0
    out = capsys.readouterr().out
    assert f"{parent} (Completed): 3 training job rows and 27 metric points in the store" in out
    assert f"its folder {folder} ({' '.join(size)}: models, logs, outputs)" in out
    assert f"{child} warm-started from it and keep their own results" in out
    assert f"Deleted {parent} (" in out
    assert local_names() == {child} and not folder.exists() and point_count(parent) == 0
    assert (paths.jobs_dir() / child).is_dir() and point_count(child) == 27
    # The child still opens, with its own results.
    assert main(["status", child]) == 0


def test_delete_refuses_a_running_tuning_job_and_deletes_nothing(tmp_path: Path, capsys) -> None:
    done = launch(fake_spec(tmp_path, name="hk-done", max_jobs=1))
    running = launch(fake_spec(tmp_path, name="hk-running", max_jobs=1, static={"hang": 1}), wait=False)
    try:
        assert main(["delete", done, running, "--yes"]) == 1
        err = capsys.readouterr().err
        assert f"tuning job {running} is InProgress: stop it first (hpo-tui stop {running})" in err
        assert "Nothing was deleted" in err
        assert local_names() == {done, running}
    finally:
        backend = LocalBackend()
        backend.stop(running)
        backend.close()


def test_delete_without_yes_off_a_terminal_asks_for_it(tmp_path: Path, capsys, monkeypatch) -> None:
    name = launch(fake_spec(tmp_path, name="hk-keep", max_jobs=1))
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert main(["delete", name]) == 1
    assert "add --yes" in capsys.readouterr().err
    assert local_names() == {name}


def test_prune_deletes_only_what_ended_before_the_age(tmp_path: Path, capsys) -> None:
    old = launch(fake_spec(tmp_path, name="hk-old", max_jobs=1))
    new = launch(fake_spec(tmp_path, name="hk-new", max_jobs=1))
    backdate(old, 40)
    assert main(["prune", "--older-than", "30d", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert old in out and new not in out and "dry run: 1 tuning jobs would be deleted" in out
    assert local_names() == {old, new}
    assert main(["prune", "--older-than", "30d", "--yes"]) == 0
    assert f"Deleted {old}" in capsys.readouterr().out
    assert local_names() == {new} and not (paths.jobs_dir() / old).exists()
    assert main(["prune", "--older-than", "30d"]) == 0
    assert "nothing to prune" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["prune", "--older-than", "soon"], "--older-than 'soon': give a number and a unit"),
    (["delete", "nope", "--yes"], "no local tuning job named 'nope'"),
    (["delete", "x", "--backend", "sagemaker"], "never deletes anything in your AWS account"),
])
def test_housekeeping_bad_input_is_named(argv, message, capsys) -> None:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
