"""Start-up time of `hpo-tui --help` (target < 0.5 s) and the imports that cost the most."""

from __future__ import annotations

import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 10
TARGET = 0.5
BIN = Path(sys.executable).parent
SCRIPT = BIN / "hpo-tui"


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - start


def median_of(argv: list[str]) -> tuple[float, float, float]:
    timed(argv)  # warm the file cache and the .pyc files first
    runs = [timed(argv) for _ in range(RUNS)]
    return statistics.median(runs), min(runs), max(runs)


def import_offenders(module: str, top: int = 10) -> list[tuple[int, int, str]]:
    """(cumulative us, self us, indented module) of the costliest imports, from -X importtime.

    Nested rows are kept with their indentation, so a chain such as
    hpo_tui -> importlib.metadata -> email.message shows where the time goes.
    """
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                         capture_output=True, text=True, check=True)
    rows = []
    for line in out.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m:
            rows.append((int(m.group(2)), int(m.group(1)), m.group(3)[1:] + m.group(4)))
    return sorted(rows, reverse=True)[:top]


def main() -> None:
    print(f"hpo-tui start-up, {RUNS} runs each (median, min-max); {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    baseline = median_of([sys.executable, "-c", "pass"])
    print(f"  python -c pass         {baseline[0]:.3f} s  ({baseline[1]:.3f}-{baseline[2]:.3f})")
    commands = {
        "hpo-tui --help": [str(SCRIPT), "--help"],
        "hpo-tui --version": [str(SCRIPT), "--version"],
        "hpo-tui spec --help": [str(SCRIPT), "spec", "--help"],
    }
    results = {}
    for label, argv in commands.items():
        results[label] = median_of(argv)
        med, lo, hi = results[label]
        print(f"  {label:<22} {med:.3f} s  ({lo:.3f}-{hi:.3f})")
    verdict = "meets" if results["hpo-tui --help"][0] < TARGET else "MISSES"
    print(f"  --help {verdict} the {TARGET} s target")
    for module in ("hpo_tui.cli", "hpo_tui.spec"):
        print(f"python -X importtime -c 'import {module}': costliest imports (cumulative / self)")
        for cumulative, own, name in import_offenders(module):
            print(f"  {cumulative / 1000:7.1f} ms {own / 1000:6.1f} ms  {name}")


if __name__ == "__main__":
    main()
