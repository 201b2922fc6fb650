"""Hostile input and a damaged home (issue 13): a damaged or read-only store, symlinks,
escape sequences from training jobs, huge log lines, a backtracking metric regex, a
stopped runner, resumes that cannot help. Each ends in a clear one-line error, never a
traceback, a hang or lost data. Real runner, real store, fake_train.py."""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hpo_tui import paths
from hpo_tui.backends.local import LocalBackend
from hpo_tui.cli import main
from hpo_tui.engine import procinfo
from hpo_tui.engine.runner import lock_path
from hpo_tui.engine.store import Store
from hpo_tui.spec import CategoricalParameter, MetricDefinition, save_spec

from .conftest import wait_for

ESCAPES = "\x1b]52;c;aGFja2Vk\x07\x1b[2J\x1b]0;owned\x07\x9b31m"
CONTROL_CHARS = ("\x1b", "\x07", "\x9b", "\x9d")


def assert_clean(text: str) -> None:
    for ch in CONTROL_CHARS:
        assert ch not in text, f"{ch!r} reached the terminal: {text!r}"


def one_line_error(err: str) -> str:
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("hpo-tui: ")
    return lines[0]


def finished_job(backend: LocalBackend, fake_spec, **kw) -> str:
    name = backend.launch(fake_spec(**kw))
    wait_for(backend, name)
    backend.close()
    return name


def store_file() -> Path:
    return paths.store_path()


# -- escape sequences ----------------------------------------------------------------------------


def test_escape_sequences_in_logs_are_stripped(backend, fake_spec, capsys):
    name = finished_job(backend, fake_spec, static={"say": f"hello{ESCAPES} world"}, max_jobs=1,
                        max_parallel_jobs=1)
    assert main(["logs", f"{name}-001"]) == 0
    out = capsys.readouterr().out
    assert_clean(out)
    assert "hello world" in out  # the text around the sequences is kept
    assert "Validation-accuracy=" in out


def test_escape_sequences_in_the_failure_column_of_status_are_stripped(backend, fake_spec, capsys):
    name = finished_job(backend, fake_spec, static={"fail_exit": 3, "failure_message": f"boom{ESCAPES}!"},
                        max_jobs=1, max_parallel_jobs=1)
    assert main(["status", name]) == 0
    out = capsys.readouterr().out
    assert_clean(out)
    assert "boom!" in out


def test_escape_sequences_in_the_launch_wait_reason_are_stripped(tmp_path, fake_spec, capsys):
    spec = fake_spec(max_jobs=1, max_parallel_jobs=1, tuning_job_name="esc-job",
                     static={"fail_exit": 3, "failure_message": f"bad{ESCAPES} thing"})
    save_spec(spec, tmp_path / "esc.toml")
    assert main(["launch", str(tmp_path / "esc.toml"), "--wait"]) == 1
    out = capsys.readouterr().out
    assert_clean(out)
    assert "reason: bad thing" in out


def test_escape_sequences_in_the_csv_export_are_stripped(backend, fake_spec, capsys):
    name = finished_job(backend, fake_spec, static={"fail_exit": 3, "failure_message": f"csv{ESCAPES}!"},
                        max_jobs=1, max_parallel_jobs=1)
    assert main(["export", name, "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert_clean(out)
    assert "csv!" in out


def test_escape_sequences_in_spec_values_are_stripped_in_status(backend, fake_spec, capsys):
    ranges = {"optimizer": CategoricalParameter(["sgd", f"ad{ESCAPES}am"])}
    name = finished_job(backend, fake_spec, ranges=ranges, strategy="Grid", max_jobs=2, max_parallel_jobs=1)
    assert main(["status", name]) == 0
    out = capsys.readouterr().out
    assert_clean(out)
    assert "adam" in out


# -- a damaged store or home ----------------------------------------------------------------------


def test_truncated_store_is_a_clear_error(backend, fake_spec, capsys):
    name = finished_job(backend, fake_spec, max_jobs=2)
    path = store_file()
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(size // 2)
    for argv in (["status", name], ["jobs"]):
        assert main(argv) == 1
        line = one_line_error(capsys.readouterr().err)
        assert str(path) in line and ("damaged" in line or "cannot be read" in line)


def test_garbage_store_header_is_a_clear_error(capsys):
    path = store_file()
    path.write_bytes(b"this is not a database\n" * 100)
    for argv in (["jobs"], ["status", "x"]):
        assert main(argv) == 1
        line = one_line_error(capsys.readouterr().err)
        assert str(path) in line and "damaged" in line and "move it aside" in line


@pytest.fixture
def read_only_store():
    """A store file its user cannot write: mode 0400, or, for root (whom modes don't stop),
    the immutable attribute."""
    path = store_file()
    Store.writer(path).close()
    os.chmod(path, 0o400)
    immutable = os.getuid() == 0
    if immutable:
        if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)]).returncode:
            pytest.skip("chattr +i is not available here")
    yield path
    if immutable:
        subprocess.run(["chattr", "-i", str(path)])


def test_read_only_store_on_launch_is_a_clear_error(read_only_store, tmp_path, fake_spec, capsys):
    save_spec(fake_spec(max_jobs=1, max_parallel_jobs=1), tmp_path / "s.toml")
    assert main(["launch", str(tmp_path / "s.toml")]) == 1
    line = one_line_error(capsys.readouterr().err)
    assert str(read_only_store) in line and "chmod u+w" in line


def test_home_pointing_at_a_file_is_a_clear_error(tmp_path, monkeypatch, capsys):
    file = tmp_path / "a-file"
    file.write_text("x")
    for home in (file, file / "below"):
        monkeypatch.setenv("HPO_TUI_HOME", str(home))
        for argv in (["jobs"], ["status", "x"]):
            assert main(argv) == 1
            line = one_line_error(capsys.readouterr().err)
            assert "HPO_TUI_HOME" in line and "not a folder" in line


def test_garbage_in_the_wal_keeps_finished_results(backend, fake_spec, capsys):
    # A dashboard watches the tuning job to its end: its open reader keeps the runner's
    # exit from checkpointing the WAL, so without an explicit checkpoint the results
    # would live only in the -wal file.
    name = backend.launch(fake_spec(max_jobs=3, max_parallel_jobs=3))
    wait_for(backend, name)
    reader = Store.reader(store_file())
    row = reader.tuning_job(name)
    deadline = time.monotonic() + 60
    while procinfo.is_alive(row["runner_pid"], row["runner_start_time"]) and time.monotonic() < deadline:
        backend._reap_children()
        time.sleep(0.05)
    reader.close()
    backend.close()
    # The damage comes after the runner has exited (the store then has no writer).
    wal = Path(str(store_file()) + "-wal")
    wal.write_bytes(os.urandom(64 * 1024))
    assert main(["status", name]) == 0
    out = capsys.readouterr().out
    assert "status       Completed" in out
    assert "3 completed" in out


def test_unexpected_store_content_is_one_line_and_the_traceback_goes_to_the_debug_log(hpo_home, capsys):
    # A store of another tool: the right file name and schema number, a different table.
    conn = sqlite3.connect(store_file())
    conn.execute("CREATE TABLE tuning_jobs (name TEXT, created_at REAL)")
    conn.execute("CREATE TABLE training_jobs (tuning_job TEXT, launch_index INTEGER)")
    conn.execute("INSERT INTO tuning_jobs VALUES ('x', 1.0)")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    assert main(["jobs"]) == 1
    line = one_line_error(capsys.readouterr().err)
    assert f"details in {hpo_home / 'debug.log'}" in line
    log = (hpo_home / "debug.log").read_text()
    assert "Traceback" in log and "hpo-tui jobs" in log
    assert stat.S_IMODE((hpo_home / "debug.log").stat().st_mode) == 0o600


# -- symlinks and the home's owner ----------------------------------------------------------------


def test_store_symlink_to_a_text_file_is_refused(tmp_path, fake_spec, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("my notes\n")
    os.chmod(target, 0o644)
    store_file().symlink_to(target)
    save_spec(fake_spec(max_jobs=1, max_parallel_jobs=1), tmp_path / "s.toml")
    for argv in (["launch", str(tmp_path / "s.toml")], ["jobs"]):
        assert main(argv) == 1
        assert "symbolic link" in one_line_error(capsys.readouterr().err)
    assert target.read_text() == "my notes\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_dangling_store_symlink_is_refused(tmp_path, fake_spec, capsys):
    outside = tmp_path / "outside" / "store.sqlite3"
    outside.parent.mkdir()
    store_file().symlink_to(outside)
    save_spec(fake_spec(max_jobs=1, max_parallel_jobs=1), tmp_path / "s.toml")
    for argv in (["launch", str(tmp_path / "s.toml")], ["jobs"]):
        assert main(argv) == 1
        assert "symbolic link" in one_line_error(capsys.readouterr().err)
    assert not outside.exists()


def test_planted_job_folder_symlink_is_refused(hpo_home, tmp_path, fake_spec, capsys):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (hpo_home / "jobs").mkdir()
    (hpo_home / "jobs" / "planted").symlink_to(elsewhere)
    save_spec(fake_spec(max_jobs=1, max_parallel_jobs=1, tuning_job_name="planted"), tmp_path / "s.toml")
    assert main(["launch", str(tmp_path / "s.toml")]) == 1
    assert "symbolic link" in one_line_error(capsys.readouterr().err)
    assert list(elsewhere.iterdir()) == []


def test_planted_jobs_folder_symlink_is_refused(hpo_home, tmp_path, fake_spec, capsys):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (hpo_home / "jobs").symlink_to(elsewhere)
    save_spec(fake_spec(max_jobs=1, max_parallel_jobs=1), tmp_path / "s.toml")
    assert main(["launch", str(tmp_path / "s.toml")]) == 1
    assert "symbolic link" in one_line_error(capsys.readouterr().err)
    assert list(elsewhere.iterdir()) == []


@pytest.mark.skipif(os.getuid() != 0, reason="giving a folder to another user needs root")
def test_home_owned_by_another_user_is_refused(hpo_home, capsys):
    os.chown(hpo_home, 65534, 65534)
    os.chmod(hpo_home, 0o777)
    assert main(["jobs"]) == 1
    line = one_line_error(capsys.readouterr().err)
    assert "belongs to another user" in line and "HPO_TUI_HOME" in line
    assert not (hpo_home / "store.sqlite3").exists()


def test_group_or_world_writable_home_is_refused_with_the_fix(hpo_home, capsys):
    os.chmod(hpo_home, 0o777)
    assert main(["jobs"]) == 1
    line = one_line_error(capsys.readouterr().err)
    assert f"chmod 700 {hpo_home}" in line


def test_logs_are_written_owner_only(backend, fake_spec):
    name = finished_job(backend, fake_spec, max_jobs=1, max_parallel_jobs=1)
    folder = paths.jobs_dir() / name
    for path in (folder / f"{name}-001" / "train.log", folder / "runner.log"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


# -- logs -------------------------------------------------------------------------------------------


def test_log_line_over_4mb_does_not_stop_logs(backend, fake_spec, capsys):
    name = finished_job(backend, fake_spec, static={"big_line": 5_000_000}, max_jobs=1, max_parallel_jobs=1)
    assert main(["logs", f"{name}-001"]) == 0
    out = capsys.readouterr().out
    assert "line of 5000001 bytes cut" in out
    assert "Epoch[2] Validation-loss=" in out  # the lines after the long one
    assert len(out) < 1_000_000
    # --follow (here on an ended job) gets past it too, in a subprocess that must end.
    result = subprocess.run([sys.executable, "-m", "hpo_tui.cli", "logs", f"{name}-001", "--follow"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    assert "Epoch[2] Validation-loss=" in result.stdout


def test_train_log_replaced_by_a_folder_is_a_clear_error(backend, fake_spec, capsys):
    name = finished_job(backend, fake_spec, max_jobs=1, max_parallel_jobs=1)
    log = paths.jobs_dir() / name / f"{name}-001" / "train.log"
    log.unlink()
    log.mkdir()
    assert main(["logs", f"{name}-001"]) == 1
    line = one_line_error(capsys.readouterr().err)
    assert str(log) in line and "not a file" in line


# -- the metric regex ---------------------------------------------------------------------------------


def test_backtracking_metric_regex_does_not_freeze_the_runner(backend, fake_spec):
    # The pattern, and one that backtracks exponentially in any engine.
    spec = fake_spec(static={"say": "Validation-accuracy=" + "1" * 40}, max_jobs=1, max_parallel_jobs=1,
                     metric_definitions=[MetricDefinition("Validation-accuracy", r"Validation-accuracy=([0-9\.]+)"),
                                         MetricDefinition("Bad", "Validation-accuracy=((?:[0-9]+)+)x"),
                                         MetricDefinition("Worse", "Validation-accuracy=((?:1|1)*)x")])
    name = backend.launch(spec)
    # Unbounded, the 40-digit line takes the runner hours; bounded, the job completes.
    snap = wait_for(backend, name, timeout=180)
    assert snap.tuning_job.status == "Completed"
    assert snap.training_jobs[0].final_objective is not None
    runner_log = (paths.jobs_dir() / name / "runner.log").read_text()
    assert "a metric regex took over" in runner_log


# -- the runner's heartbeat ----------------------------------------------------------------------------


def test_sigstopped_runner_is_shown_as_not_responding(backend, fake_spec, monkeypatch, capsys):
    monkeypatch.setenv("HPO_TUI_RUNNER_SILENT", "2")
    name = backend.launch(fake_spec(static={"num_epoch": 200, "sleep": 0.5}, max_jobs=1, max_parallel_jobs=1))
    wait_for(backend, name, lambda s: any(j.status == "InProgress" for j in s.training_jobs))
    pid = Store.reader(paths.store_path()).tuning_job(name)["runner_pid"]
    os.kill(pid, signal.SIGSTOP)
    try:
        snap = wait_for(backend, name, lambda s: s.warning is not None, timeout=120)
        assert "runner not responding" in snap.warning and f"kill -CONT {pid}" in snap.warning
        assert main(["status", name]) == 0
        assert "runner not responding (" in capsys.readouterr().out
        # The list of tuning jobs says it too.
        assert main(["jobs"]) == 0
        assert f"warning: {name}: runner not responding (" in capsys.readouterr().out
        # stop wakes the stopped runner, which then stops the tuning job.
        main(["stop", name])
        assert wait_for(backend, name).tuning_job.status == "Stopped"
    finally:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass


# -- resume -----------------------------------------------------------------------------------------------


def test_resume_of_an_all_failed_job_is_refused(backend, fake_spec, capsys):
    name = finished_job(backend, fake_spec, static={"fail_exit": 3}, max_jobs=2)
    assert main(["resume", name]) == 1
    line = one_line_error(capsys.readouterr().err)
    assert "nothing left to run" in line and "all 2" in line and "exit code 3" in line
    assert backend.poll(name).tuning_job.status == "Failed"


def test_losing_resume_does_not_name_a_dead_runner(backend, fake_spec, capsys):
    name = backend.launch(fake_spec(static={"num_epoch": 200, "sleep": 0.5}, max_jobs=1, max_parallel_jobs=1))
    wait_for(backend, name, lambda s: any(j.status == "InProgress" for j in s.training_jobs))
    dead = Store.reader(paths.store_path()).tuning_job(name)["runner_pid"]
    os.kill(dead, signal.SIGKILL)
    while os.path.exists(f"/proc/{dead}") and open(f"/proc/{dead}/stat").read().split(") ")[1][0] != "Z":
        time.sleep(0.05)
    # The winning resume has taken the runner lock and not yet recorded its runner.
    fd = os.open(lock_path(paths.jobs_dir() / name), os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        assert main(["resume", name]) == 1
    finally:
        os.close(fd)
    line = one_line_error(capsys.readouterr().err)
    assert "already has a running runner" in line
    assert str(dead) not in line


def test_empty_store_is_refused_not_taken_for_a_new_one(backend, fake_spec, tmp_path, capsys):
    name = finished_job(backend, fake_spec, max_jobs=1, max_parallel_jobs=1)
    row = Store.reader(store_file()).tuning_job(name)
    while procinfo.is_alive(row["runner_pid"], row["runner_start_time"]):  # it closes the store last
        backend._reap_children()
        time.sleep(0.02)
    path = store_file()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"")  # truncated to 0 bytes: the history is gone
    save_spec(fake_spec(max_jobs=1, max_parallel_jobs=1), tmp_path / "s.toml")
    for argv in (["jobs"], ["status", name], ["launch", str(tmp_path / "s.toml")]):
        assert main(argv) == 1, argv
        line = one_line_error(capsys.readouterr().err)
        assert str(path) in line and "empty (0 bytes)" in line and "mv " in line, line
    assert path.stat().st_size == 0  # left as it was found, for the user to look at


def test_a_new_store_is_never_seen_empty(tmp_path):
    from hpo_tui.engine.store import SCHEMA_VERSION

    path = store_file()
    Store.writer(path).close()
    reader = Store.reader(path)
    assert reader is not None and reader.schema_version == SCHEMA_VERSION
    reader.close()
    assert [p.name for p in path.parent.iterdir() if ".new-" in p.name] == []
