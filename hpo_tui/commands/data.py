"""`hpo-tui data prepare`: write the local MNIST channels (train/, test/) once."""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def cmd_prepare(args: argparse.Namespace) -> int:
    from hpo_tui import data, paths

    root = Path(args.dest).expanduser() if args.dest else paths.mnist_dir()
    already = data.mnist_ready(root)
    started = time.perf_counter()
    data.prepare_mnist(root)
    if already:
        print(f"MNIST channels already prepared in {root}")
    else:
        print(f"MNIST channels written to {root} in {time.perf_counter() - started:.1f} s")
    print(f"  train: {root / 'train'}  ({data.TRAIN_COUNT:,} images; SM_CHANNEL_TRAIN)")
    print(f"  test:  {root / 'test'}  ({data.TEST_COUNT:,} images; SM_CHANNEL_TEST)")
    return 0
