"""Find other Python interpreters on this machine, without ever downloading one.

Looked for on the PATH (python3.12, ...), then among pyenv's installed versions (whose shims
answer only for the versions pyenv has selected). A version that is not there is None: the
test that needs it is skipped and says so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


def _version(executable: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run([executable, "-c", "import sys; print('%d %d' % sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    major, minor = out.stdout.split()
    return int(major), int(minor)


def find_python(major: int, minor: int) -> str | None:
    """An executable of Python major.minor, or None when this machine has none."""
    name = f"python{major}.{minor}"
    on_path = shutil.which(name)
    if on_path and _version(on_path) == (major, minor):
        return on_path
    roots = [os.environ.get("PYENV_ROOT"), str(Path.home() / ".pyenv")]
    for root in filter(None, roots):
        for candidate in sorted(Path(root, "versions").glob(f"{major}.{minor}.*/bin/{name}"), reverse=True):
            if _version(str(candidate)) == (major, minor):
                return str(candidate)
    return None
