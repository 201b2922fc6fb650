"""The runner process's entry point: signals routed into a wake-up pipe, the tuning job's
runner lock, and what happens on failure (a named fault in one line, recorded where it can
be; the cleanup never raises a second time). Run as `python -m hpo_tui.engine.runner_main NAME`.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import signal
import sqlite3
import sys
import traceback
from typing import Any

from hpo_tui import paths
from hpo_tui.engine import faults, procs
from hpo_tui.engine.runner import Runner
from hpo_tui.engine.runner_files import beat, lock_path, log
from hpo_tui.engine.store import Store
from hpo_tui.errors import UserError
from hpo_tui.views import clip_reason


def _install_signals() -> int:
    """Route SIGTERM/SIGINT/SIGHUP (stop) and SIGCHLD (a child ended) into a wake-up pipe."""
    r, w = os.pipe()
    for fd in (r, w):
        os.set_blocking(fd, False)
    signal.set_wakeup_fd(w, warn_on_full_buffer=False)
    return r


def main(argv: list[str] | None = None) -> int:
    state = {"stop": False}
    runner_ref: dict[str, Runner] = {}

    def on_stop(signum: int, frame: Any) -> None:
        state["stop"] = True
        if "runner" in runner_ref:
            runner_ref["runner"].stop_signalled = True

    # Installed first thing, so a stop request that arrives during start-up is not lost.
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_stop)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    wake_fd = _install_signals()

    parser = argparse.ArgumentParser(prog="python -m hpo_tui.engine.runner_main")
    parser.add_argument("name")
    parser.add_argument("--lock-fd", type=int, default=None, help="an inherited, already locked lock file")
    args = parser.parse_args(argv)

    folder = paths.jobs_dir() / args.name
    if args.lock_fd is not None:
        lock_fd = args.lock_fd
    else:
        paths.private_dir(folder)
        lock_fd = os.open(lock_path(folder), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"hpo-tui runner: another runner is already running tuning job {args.name!r}; "
              "only one runner may run a tuning job", file=sys.stderr)
        return 2

    procs.become_subreaper()
    try:
        store = Store.writer(paths.store_path())
        runner = Runner(args.name, store, wake_fd)
    except UserError as err:
        print(f"hpo-tui runner: {err}", file=sys.stderr)
        return 1
    runner_ref["runner"] = runner
    runner.stop_signalled = state["stop"]
    beat(runner.folder)
    faults.prepare_failure_file(runner.folder)
    log(f"runner for {args.name} started (pid {os.getpid()})")
    try:
        status = runner.run()
    except UserError as err:
        log(f"failed: {err}")
        _fail(runner, str(err))
        return 1
    except Exception as err:  # noqa: BLE001 - recorded as the tuning job's failure reason
        reason = _named_fault(err, runner)
        if reason is None:
            try:
                traceback.print_exc()
            except OSError:
                pass
            reason = f"runner error: {type(err).__name__}: {err}"
        else:
            log(f"failed: {reason}")
        _fail(runner, reason)
        return 1
    finally:
        try:
            store.close()  # the last connection to close checkpoints the WAL too
        except sqlite3.Error as err:
            log(f"closing the store: {_named_fault(err, runner) or err}")
    return 0 if status in ("Completed", "Stopped") else 1


def _named_fault(err: BaseException, runner: Runner) -> str | None:
    where = runner.store.path if isinstance(err, sqlite3.Error) else runner.folder
    return faults.describe(err, where, runner.name)


def _fail(runner: Runner, reason: str) -> None:
    """Kill every job and record why the tuning job failed: in the failure file first (it
    needs no free space), then in the store. Never raises: a store that cannot be written
    (the usual cause) gets one log line, and readers take the reason from the file."""
    faults.write_failure(runner.folder, clip_reason(reason) or reason)
    try:
        runner.abort(reason)
    except Exception as again:  # noqa: BLE001 - the first error is the one reported
        log(f"could not record the failure in the store: {_named_fault(again, runner) or again}; "
            "it is kept in runner.failure")


if __name__ == "__main__":
    sys.exit(main())
