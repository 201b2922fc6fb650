"""Reading a spec file safely: a regular file of at most MAX_SPEC_BYTES, never a FIFO that
blocks, a device that never ends (/dev/zero) or a folder.

Imports only the rest of `hpo_tui.spec` and `hpo_tui.errors`.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from hpo_tui.spec.model import SpecError, SpecIssue

# A spec with the most ranges, metrics and hyperparameters AWS allows is a few KiB; 20,000
# broken ranges (bench/spec_validate.py) still fit.
MAX_SPEC_BYTES = 1 << 20
_MAX_SPEC_MIB = MAX_SPEC_BYTES >> 20


def _refuse(p: Path, message: str) -> SpecError:
    return SpecError(SpecIssue(str(p), message))


def _too_big(p: Path, size: int | None) -> SpecError:
    what = f"is {size / (1 << 20):.1f} MiB" if size is not None else "is larger than that"
    return _refuse(p, f"{what}; a spec file may be at most {_MAX_SPEC_MIB} MiB. Give the path of "
                   "a .toml spec file (hpo-tui spec init FILE writes one)")


def read_spec_text(path: str | os.PathLike[str]) -> str:
    """The text of a spec file; SpecError (naming the file and the fix) for anything that is
    not a regular UTF-8 file of at most MAX_SPEC_BYTES. Never blocks on a FIFO and never
    reads more than MAX_SPEC_BYTES + 1 bytes."""
    p = Path(path)
    # O_NONBLOCK: opening a FIFO for reading would wait for a writer; it is refused below.
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(p, flags)
    except FileNotFoundError:
        raise _refuse(p, "no such file; create one with: hpo-tui spec init " + str(p)) from None
    except IsADirectoryError:
        raise _refuse(p, "is a directory; give the path of a .toml spec file") from None
    except (OSError, ValueError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise _refuse(p, f"cannot be read ({reason})") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise _refuse(p, "is a directory; give the path of a .toml spec file")
        if not stat.S_ISREG(info.st_mode):
            raise _refuse(p, "is not a regular file (a pipe, device or socket); give the path of "
                          "a .toml spec file")
        if info.st_size > MAX_SPEC_BYTES:
            raise _too_big(p, info.st_size)
        chunks: list[bytes] = []
        left = MAX_SPEC_BYTES + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        if left <= 0:
            raise _too_big(p, None)  # it grew while being read
    except OSError as err:
        raise _refuse(p, f"cannot be read ({err.strerror or err})") from None
    finally:
        os.close(fd)
    try:
        text = b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError:
        raise _refuse(p, "is not UTF-8 text; a spec file is TOML") from None
    # Universal newlines, as a text-mode read gives them.
    return text.replace("\r\n", "\n").replace("\r", "\n")
