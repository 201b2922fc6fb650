"""The log tail of a local training job: the complete lines of its train.log after a byte
offset, cleaned of terminal escapes (training output is user code's), never through a
symbolic link, and never stuck on one line longer than a read.

Reads only.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import Any

from hpo_tui.backends.base import BackendError
from hpo_tui.sanitize import sanitize
from hpo_tui.views import LogChunk

LOG_READ_MAX = 4 * 1024 * 1024
# Of a log line longer than LOG_READ_MAX, this much is shown; the reader then skips to its end.
LONG_LINE_SHOWN = 64 * 1024


def log_tail(job: str, path: str, cursor: Any = None) -> LogChunk:
    """Lines of the log at `path` (of training job `job`) after the byte offset `cursor`."""
    offset = int(cursor or 0)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return LogChunk((), offset)
    except OSError as err:
        raise BackendError(
            f"cannot read the log of {job}: {path}: {err.strerror}"
            + ("; it is a symbolic link, which hpo-tui does not follow" if err.errno == errno.ELOOP else "")
        ) from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise BackendError(
            f"cannot read the log of {job}: {path} is not a file (a folder is in its place); move it aside"
        )
    with os.fdopen(fd, "rb") as f:
        if st.st_size < offset:
            offset = 0  # the file was replaced: start again
        f.seek(offset)
        data = f.read(LOG_READ_MAX)
        end = data.rfind(b"\n")
        if end < 0:
            if len(data) < LOG_READ_MAX:
                return LogChunk((), offset)  # a line still being written
            return _long_line(f, data, offset)
    complete = data[: end + 1]
    lines = tuple(
        sanitize(line.decode("utf-8", "replace").rstrip("\r")) for line in complete.split(b"\n")[:-1]
    )
    return LogChunk(lines, offset + len(complete))


def _long_line(f: Any, head: bytes, offset: int) -> LogChunk:
    """One line longer than LOG_READ_MAX: show its start, and move the cursor past its end
    (or past what is written of it so far), so the reader never sticks on it."""
    pos = offset + len(head)
    while True:
        block = f.read(1024 * 1024)
        if not block:
            break
        cut = block.find(b"\n")
        if cut >= 0:
            pos += cut + 1
            break
        pos += len(block)
    shown = sanitize(head[:LONG_LINE_SHOWN].decode("utf-8", "replace"))
    return LogChunk((f"{shown} [... line of {pos - offset} bytes cut]",), pos)
