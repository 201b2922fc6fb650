"""Local MNIST channels: the MNIST files shipped in the package, laid out as SageMaker's sample.

``train/{images,labels}.gz`` (60,000) and ``test/{images,labels}.gz`` (10,000), IDX
format in gzip. Decompressed, they are byte-identical to the original MNIST files (their
published MD5 sums are checked by tests/training/test_data.py). hpo_tui/mnist_data/README.md
says where they come from and under which licence.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Iterator

from hpo_tui import paths
from hpo_tui.errors import UserError

# The channel files, relative to the root, in the order they are written.
CHANNEL_FILES = ("train/labels.gz", "train/images.gz", "test/labels.gz", "test/images.gz")
TRAIN_COUNT = 60_000
TEST_COUNT = 10_000
# Written last: its presence (and the sizes it records) is what makes a re-run instant.
MARKER = ".complete.json"
_MARKER_FORMAT = 1
_TMP_SUFFIX = ".partial"
_PACKAGED = Path(__file__).resolve().parent / "mnist_data"
_COPY_CHUNK = 1 << 20


def prepare_mnist(dest: Path | None = None) -> Path:
    """Write the MNIST channels under dest (default: the data directory) unless they exist.

    Returns the root that holds ``train/`` and ``test/``. Every file is written to a
    temporary name in its own directory and renamed into place, so an interrupted
    run never leaves a truncated channel file.
    """
    root = Path(dest).expanduser() if dest is not None else paths.mnist_dir()
    if mnist_ready(root):
        return root
    try:
        root.mkdir(parents=True, exist_ok=True)
        with _exclusive(root):
            # Another process may have finished while we waited for the lock.
            if mnist_ready(root):
                return root
            _remove_stale_partials(root)
            _write_channels(root)
    except OSError as err:
        raise UserError(
            f"cannot write the MNIST channels to {root}: {err.strerror or err}; "
            "choose another directory (hpo-tui data prepare --dest DIR) or fix its permissions"
        ) from err
    return root


def mnist_ready(root: Path) -> bool:
    """True when all four channel files exist with the sizes the completed run recorded."""
    try:
        marker = json.loads((root / MARKER).read_text())
        if marker.get("format") != _MARKER_FORMAT:
            return False
        sizes = marker["sizes"]
        return all((root / name).stat().st_size == sizes[name] for name in CHANNEL_FILES)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def packaged_file(name: str) -> Path:
    """One of the MNIST files shipped inside the package (hpo_tui/mnist_data/)."""
    path = _PACKAGED / name
    if not path.is_file():
        raise UserError(
            f"hpo-tui's packaged MNIST file {name} is missing from {_PACKAGED}; "
            "reinstall hpo-tui (pip install --force-reinstall 'hpo-tui[local]')"
        )
    return path


def _write_channels(root: Path) -> None:
    sizes = {}
    for name in CHANNEL_FILES:
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        with packaged_file(name).open("rb") as source, _atomic_file(target) as raw:
            shutil.copyfileobj(source, raw, _COPY_CHUNK)
        sizes[name] = target.stat().st_size
    with _atomic_file(root / MARKER) as raw:
        raw.write(json.dumps({"format": _MARKER_FORMAT, "sizes": sizes}, indent=1).encode())


@contextlib.contextmanager
def _atomic_file(target: Path) -> Iterator[IO[bytes]]:
    """A binary file that appears at target only once it is completely written."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=_TMP_SUFFIX, dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as raw:
            yield raw
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise


def _remove_stale_partials(root: Path) -> None:
    """Temporary files left by a run that was killed (no chance to clean up)."""
    for folder in (root, root / "train", root / "test"):
        if folder.is_dir():
            for leftover in folder.glob(f".*{_TMP_SUFFIX}"):
                with contextlib.suppress(OSError):
                    leftover.unlink()


@contextlib.contextmanager
def _exclusive(root: Path) -> Iterator[None]:
    """Serialise concurrent preparations of the same root (POSIX; elsewhere a no-op)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(root / ".lock", "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
