"""The local MNIST channels: IDX gzip layout, exact bytes, caching, atomic writes, CLI."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hpo_tui import data
from hpo_tui.errors import UserError

FILES = ("train/images.gz", "train/labels.gz", "test/images.gz", "test/labels.gz")


def read_idx(path: Path) -> np.ndarray:
    """An independent IDX reader: magic 2049 = labels (n,), 2051 = images (n, rows, cols)."""
    with gzip.open(path, "rb") as fh:
        raw = fh.read()
    magic, count = struct.unpack(">II", raw[:8])
    if magic == 2049:
        assert len(raw) == 8 + count
        return np.frombuffer(raw, dtype=np.uint8, offset=8)
    assert magic == 2051, f"{path}: magic {magic}"
    rows, cols = struct.unpack(">II", raw[8:16])
    assert len(raw) == 16 + count * rows * cols
    return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(count, rows, cols)


# The MD5 sums of the original, uncompressed MNIST files, as published with the data set
# (and checked by torchvision's and other loaders): train-images-idx3-ubyte,
# train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte.
ORIGINAL_MD5 = {
    "train/images.gz": "6bbc9ace898e44ae57da46a324031adb",
    "train/labels.gz": "a25bea736e30d166cdddb491f175f624",
    "test/images.gz": "2646ac647ad5339dbf082846283269ea",
    "test/labels.gz": "27ae3e4e09519cfbb04c329615203637",
}


def file_identities(root: Path) -> dict[str, tuple[int, int]]:
    return {name: ((root / name).stat().st_ino, (root / name).stat().st_mtime_ns) for name in FILES}


def leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and p.name.endswith(".partial")]


def test_channels_hold_original_mnist_bytes(mnist_channels: Path) -> None:
    train_x = read_idx(mnist_channels / "train/images.gz")
    train_y = read_idx(mnist_channels / "train/labels.gz")
    test_x = read_idx(mnist_channels / "test/images.gz")
    test_y = read_idx(mnist_channels / "test/labels.gz")

    assert train_x.shape == (60_000, 28, 28) and train_y.shape == (60_000,)
    assert test_x.shape == (10_000, 28, 28) and test_y.shape == (10_000,)
    for labels in (train_y, test_y):
        assert set(np.unique(labels)) == set(range(10))
    for images in (train_x, test_x):
        # Full byte range: a pixel*255 conversion would top out at 254.
        assert images.min() == 0 and images.max() == 255
    # The first labels of the original MNIST files.
    assert train_y[:5].tolist() == [5, 0, 4, 1, 9]
    assert test_y[:5].tolist() == [7, 2, 1, 0, 4]

    for name, md5 in ORIGINAL_MD5.items():
        with gzip.open(mnist_channels / name, "rb") as fh:
            assert hashlib.md5(fh.read()).hexdigest() == md5, name


def test_second_call_does_not_rewrite(mnist_channels: Path) -> None:
    before = file_identities(mnist_channels)
    assert data.prepare_mnist(mnist_channels) == mnist_channels
    assert file_identities(mnist_channels) == before


def test_interrupted_write_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "mnist"
    real_copy = shutil.copyfileobj

    def copy_then_interrupt(source, target, length=0):
        # Files go labels then images; the training images: half of them, then Ctrl-C.
        if Path(source.name).parts[-2:] == ("train", "images.gz"):
            target.write(source.read(1 << 20))
            raise KeyboardInterrupt
        return real_copy(source, target, length)

    monkeypatch.setattr(shutil, "copyfileobj", copy_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        data.prepare_mnist(root)
    monkeypatch.undo()

    assert not (root / "train/images.gz").exists()
    assert leftovers(root) == []
    assert not data.mnist_ready(root)
    # Only the file completed before the interruption is in place, and it is whole.
    assert read_idx(root / "train/labels.gz").shape == (60_000,)


def test_failed_rename_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "mnist"

    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(UserError, match="cannot write the MNIST channels.*No space left on device"):
        data.prepare_mnist(root)
    monkeypatch.undo()
    assert not (root / "train/labels.gz").exists()
    assert leftovers(root) == []
    assert not data.mnist_ready(root)


def test_killed_run_leftovers_and_damaged_files_are_repaired(tmp_path: Path, mnist_channels: Path) -> None:
    root = tmp_path / "mnist"
    shutil.copytree(mnist_channels, root)
    assert data.mnist_ready(root)
    stale = root / "train" / ".images.gz.k1ll3d.partial"
    stale.write_bytes(b"\x1f\x8b truncated")
    (root / "test/images.gz").write_bytes(b"damaged")
    assert not data.mnist_ready(root)

    data.prepare_mnist(root)
    assert not stale.exists()
    assert data.mnist_ready(root)
    for name in FILES:
        assert (root / name).read_bytes() == (mnist_channels / name).read_bytes()


def test_missing_packaged_data_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data, "_PACKAGED", tmp_path / "not-installed")
    with pytest.raises(UserError, match="packaged MNIST file train/labels.gz is missing.*reinstall hpo-tui"):
        data.prepare_mnist(tmp_path / "mnist")
    assert leftovers(tmp_path) == []
    assert not data.mnist_ready(tmp_path / "mnist")


def test_the_packaged_files_are_declared_as_package_data() -> None:
    """A wheel built from pyproject.toml carries the data (setuptools' package-data globs)."""
    import tomllib

    globs = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())[
        "tool"]["setuptools"]["package-data"]["hpo_tui"]
    shipped = {str(p.relative_to(data._PACKAGED.parent)) for p in data._PACKAGED.rglob("*") if p.is_file()}
    assert {f"mnist_data/{name}" for name in FILES} | {"mnist_data/README.md"} <= shipped
    from fnmatch import fnmatch

    for name in shipped:
        assert any(fnmatch(name, g) for g in globs), f"{name} is not in [tool.setuptools.package-data]"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hpo_tui.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_cli_prepare_writes_to_the_data_directory_then_reuses(hpo_home: Path, mnist_channels: Path) -> None:
    default_root = hpo_home / "data" / "mnist"
    first = run_cli("data", "prepare")
    assert first.returncode == 0, first.stderr
    assert f"written to {default_root}" in first.stdout and str(default_root / "train") in first.stdout
    for name in FILES:
        assert (default_root / name).read_bytes() == (mnist_channels / name).read_bytes()
    before = file_identities(default_root)

    again = run_cli("data", "prepare")
    assert again.returncode == 0, again.stderr
    assert f"already prepared in {default_root}" in again.stdout
    assert file_identities(default_root) == before


def test_cli_prepare_dest(mnist_channels: Path) -> None:
    before = file_identities(mnist_channels)
    result = run_cli("data", "prepare", "--dest", str(mnist_channels))
    assert result.returncode == 0, result.stderr
    assert f"already prepared in {mnist_channels}" in result.stdout
    assert str(mnist_channels / "test") in result.stdout
    assert file_identities(mnist_channels) == before


def test_cli_prepare_bad_destination(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = run_cli("data", "prepare", "--dest", str(blocker / "mnist"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("hpo-tui: cannot write the MNIST channels to")
    assert "--dest" in result.stderr
