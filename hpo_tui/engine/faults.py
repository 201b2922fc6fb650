"""Faults of the machine under the local engine, by name: a full disk, a read-only file
system or store, a permission refused. Each becomes one line that says what, where, and
what to do; and a runner that cannot write its store leaves that line in a file kept for it.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

# Written at runner start, at this size, so the runner can record why it failed even on a
# full disk: overwriting blocks already allocated needs no free space.
FAILURE_FILE_SIZE = 1024


def failure_path(folder: Path) -> Path:
    return folder / "runner.failure"


def _kind(err: BaseException) -> str | None:
    if isinstance(err, OSError):
        return {errno.ENOSPC: "full", errno.EDQUOT: "full", errno.EROFS: "readonly",
                errno.EACCES: "permission", errno.EPERM: "permission"}.get(err.errno or 0)
    if isinstance(err, sqlite3.Error):
        text = str(err).lower()
        if "disk is full" in text or "database or disk is full" in text:
            return "full"
        if "readonly" in text or "read-only" in text:
            return "readonly"
        if "unable to open" in text or "permission" in text:
            return "permission"
    return None


def describe(err: BaseException, where: Path, name: str | None = None) -> str | None:
    """One line for a named fault (None: not one of them). where: the file or folder written."""
    kind = _kind(err)
    if isinstance(err, OSError) and err.filename:
        where = Path(os.fsdecode(err.filename))
    resume = f"then `hpo-tui resume {name}`" if name else "then try again"
    if kind == "full":
        return (f"disk full: no space left on the device of {where}; free space there (df -h {where.parent}), "
                f"{resume}")
    if kind == "readonly":
        return (f"read-only: {where} cannot be written (a read-only file or file system); make it writable, "
                f"{resume}")
    if kind == "permission":
        return (f"permission denied: {where} cannot be written by this user; fix its owner or mode "
                f"(ls -l {where}), {resume}")
    return None


def prepare_failure_file(folder: Path) -> None:
    """Allocate the failure file (blank) while there is room."""
    try:
        fd = os.open(failure_path(folder), os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError:
        return
    try:
        os.pwrite(fd, b" " * FAILURE_FILE_SIZE, 0)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_failure(folder: Path, reason: str) -> bool:
    """Record why the runner failed, in place (no new blocks needed); False if it could not."""
    data = reason.encode("utf-8", "replace")[:FAILURE_FILE_SIZE]
    try:
        fd = os.open(failure_path(folder), os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        os.pwrite(fd, data.ljust(FAILURE_FILE_SIZE, b" "), 0)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def read_failure(folder: Path) -> str | None:
    """What a dead runner left in its failure file (None: nothing)."""
    try:
        with open(failure_path(folder), "rb") as f:
            text = f.read(FAILURE_FILE_SIZE).decode("utf-8", "replace").strip(" \0\n")
    except OSError:
        return None
    return text or None
