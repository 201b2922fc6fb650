"""The last resort for an error nothing closer to its cause turned into a UserError: one
line for the user, the traceback in a debug log under the home. Only the CLI uses it."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from hpo_tui import paths

DEBUG_LOG_NAME = "debug.log"
DEBUG_LOG_MAX = 1024 * 1024  # started afresh beyond this


def explain(err: BaseException) -> str:
    """One line for an error nothing closer to its cause turned into a UserError."""
    sqlite3 = sys.modules.get("sqlite3")  # not imported: then it cannot be a store error
    if sqlite3 is not None and isinstance(err, sqlite3.DatabaseError):
        return (f"the local store cannot be read ({err}); move {paths.store_path_unchecked()} "
                "aside (it may be damaged) or set HPO_TUI_HOME to another folder")
    if isinstance(err, RecursionError):
        return "the input is nested too deeply to read; flatten it"
    if isinstance(err, MemoryError):
        return "out of memory; the input is too large"
    if isinstance(err, OSError) and err.strerror:
        where = f"{err.filename}: " if err.filename else ""
        return f"{where}{err.strerror}; check that path and its permissions"
    return f"unexpected error: {type(err).__name__}: {err}"


def debug_log(err: BaseException, argv: list[str]) -> Path | None:
    """Append err's traceback to the debug log under the home (owner-only, never through a
    link); the home's own problems fall back to a per-user file in the temp folder."""
    import tempfile
    import traceback

    text = (f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} hpo-tui {' '.join(argv)}\n"
            + "".join(traceback.format_exception(err)))
    for folder in _debug_folders():
        path = folder / (DEBUG_LOG_NAME if folder != Path(tempfile.gettempdir())
                         else f"hpo-tui-debug-{os.getuid()}.log")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
        except OSError:
            continue
        try:
            if os.fstat(fd).st_size > DEBUG_LOG_MAX:
                os.ftruncate(fd, 0)
            os.write(fd, text.encode("utf-8", "replace"))
        except OSError:
            continue  # a full disk, say: try the next folder (the one line is printed anyway)
        finally:
            os.close(fd)
        return path
    return None


def _debug_folders() -> list[Path]:
    import tempfile

    folders = []
    try:
        folders.append(paths.home())
    except Exception:  # noqa: BLE001 - a broken home is why we are here, maybe
        pass
    folders.append(Path(tempfile.gettempdir()))
    return folders
