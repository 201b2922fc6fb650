"""Install size and time of hpo-tui in fresh venvs: the base install, the local extra, and
(with --before REV) the same commands at an earlier revision, side by side in one run.

    python bench/install_size.py [--before 0ba0199] [--python python3]

pip's cache is warmed by a first, untimed install of each, so the times compare installing,
not downloading. Sizes are of the whole venv (du), less an empty venv's.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def install(python: str, source: Path, extras: str, where: Path) -> tuple[float, int]:
    subprocess.run([python, "-m", "venv", str(where)], check=True)
    empty = du(where)
    target = f"{source}[{extras}]" if extras else str(source)
    started = time.monotonic()
    subprocess.run([str(where / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "-e", target], check=True, stderr=subprocess.DEVNULL)
    return time.monotonic() - started, du(where) - empty


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", help="a git revision to measure beside the working tree")
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="hpo-install-"))
    cases: list[tuple[str, Path, str]] = []
    if args.before:
        old = work / "before"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(old), args.before], check=True)
        cases.append((f"{args.before}: pip install -e .", old, ""))
    cases += [("now: pip install -e . (base)", REPO, ""), ("now: pip install -e '.[local]'", REPO, "local")]
    try:
        for _, source, extras in cases:  # warm pip's cache
            install(args.python, source, extras, work / "warm")
            shutil.rmtree(work / "warm")
        print(f"load average {os.getloadavg()[0]:.2f}; python {args.python}")
        print(f"{'install':44} {'seconds':>8} {'MB':>8}")
        for label, source, extras in cases:
            seconds, size = install(args.python, source, extras, work / "venv")
            print(f"{label:44} {seconds:8.1f} {size / 1e6:8.1f}")
            shutil.rmtree(work / "venv")
    finally:
        if args.before:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(work / "before")], check=False)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
