"""Where the local engine can train: one cheap check, made before anything is started.

The local engine runs MXNet 1.9.1 training processes under Linux process control (process
groups, /proc, prctl). MXNet 1.9.1 has wheels for Linux x86-64 and aarch64 (and macOS
x86-64, where the engine's process control does not run), it needs NumPy < 2, and on
Python 3.12 it imports distutils, which only setuptools provides there. Everything else in
hpo-tui (the TUI, the CLI, the SageMaker backend) works without any of it.

Nothing here imports mxnet (about 1.5 s); a missing piece is found by name.
"""

from __future__ import annotations

import importlib.util
import sys

LOCAL_EXTRA = "pip install 'hpo-tui[local]'"
_SAGEMAKER = "or use the SageMaker backend (--backend sagemaker)"


def local_training_problem() -> str | None:
    """None when local training can run here, else one line: what is missing and what to do."""
    if not sys.platform.startswith("linux"):
        where = {"darwin": "macOS", "win32": "Windows"}.get(sys.platform, sys.platform)
        return (f"local training runs on Linux only (its process control is Linux's), not on {where}: "
                f"use WSL 2 on Windows or a Linux machine, {_SAGEMAKER}")
    if importlib.util.find_spec("mxnet") is None:
        return (f"local training needs MXNet 1.9.1, which is not installed: {LOCAL_EXTRA} "
                f"(Linux x86-64 or aarch64, Python 3.11 or 3.12), {_SAGEMAKER}")
    numpy_major = _major_version("numpy")
    if numpy_major is not None and numpy_major >= 2:
        return (f"local training needs NumPy < 2 (MXNet 1.9.1 is built against NumPy 1), and NumPy "
                f"{numpy_major}.x is installed: pip install 'numpy>=1.26.4,<2', {_SAGEMAKER}")
    if sys.version_info >= (3, 12) and importlib.util.find_spec("setuptools") is None:
        return (f"local training on Python {sys.version_info[0]}.{sys.version_info[1]} needs setuptools "
                f"(MXNet 1.9.1 imports distutils, which Python 3.12 removed): {LOCAL_EXTRA}, {_SAGEMAKER}")
    return None


def _major_version(distribution: str) -> int | None:
    """The installed major version of an importable distribution, None if unknown.

    Read from the name of its `*.dist-info` folder beside the package, where pip puts it:
    importlib.metadata costs 13 ms (it imports email, zipfile and csv), and this check runs
    before the configure screen's first frame."""
    found = importlib.util.find_spec(distribution)
    if found is not None and found.origin:
        from pathlib import Path

        site = Path(found.origin).parent.parent
        infos = [p.name for p in site.glob(f"{distribution}-*.dist-info")]
        if len(infos) == 1:  # several: a broken install, which metadata sorts out below
            head = infos[0][len(distribution) + 1:].split(".")[0]
            if head.isdigit():
                return int(head)
    from importlib import metadata

    try:
        return int(metadata.version(distribution).split(".")[0])
    except (metadata.PackageNotFoundError, ValueError):
        return None
