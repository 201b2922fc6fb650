"""`hpo-tui spec validate` on specs with thousands of broken ranges: the time must grow
linearly with the number of problems (issue 13: 4,000 took 2.55 s and 16,000 took 46.7 s).
Target: 20,000 broken ranges in under 2 s (the exit code checks the subprocess's CPU time, which
is its wall time on an idle core; both are printed).

Usage: .venv/bin/python bench/spec_validate.py [--counts 4000 20000] [--old TREE]
Runs the real CLI in a subprocess (interpreter start included) and prints one line per count.
--old TREE times another checkout (e.g. a `git worktree` of an older commit) on the same file,
right after, and prints the ratio.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

HEADER = """\
max_jobs = 9
max_parallel_jobs = 3

[objective]
name = "Validation-accuracy"
type = "Maximize"
"""

# Three kinds of broken range, in turn: a missing max (a structural problem, whose
# rule checks on that field are then not repeated), a missing min on a log scale, min above
# max. Inline tables keep 20,000 of them under the 1 MiB a spec file may have.
BROKEN = (
    'p{i} = {{type = "integer", min = 5}}',
    'p{i} = {{type = "continuous", max = 1.0, scaling = "Logarithmic"}}',
    'p{i} = {{type = "integer", min = 5, max = 1}}',
)


def broken_spec(count: int) -> str:
    return HEADER + "\n[ranges]\n" + "\n".join(BROKEN[i % 3].format(i=i) for i in range(count)) + "\n"


def time_validate(count: int, folder: Path, root: Path = ROOT) -> tuple[float, int, int, float]:
    """(seconds, exit code, problems reported, CPU seconds) of one `hpo-tui spec validate` of the
    code in root. CPU seconds (user + system of the subprocess) are what the wall time would be
    on an idle core: on a shared machine the wall time also counts waiting for one."""
    path = folder / f"broken-{count}.toml"
    path.write_text(broken_spec(count))
    env = dict(os.environ, PYTHONPATH=str(root))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "hpo_tui.cli", "spec", "validate", str(path)],
                            capture_output=True, text=True, env=env, cwd=root, timeout=900)  # -m puts cwd first
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    problems = sum(1 for line in result.stdout.splitlines() if line.startswith("  "))
    return seconds, result.returncode, problems, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[4000, 20000])
    parser.add_argument("--old", type=Path, help="another checkout to time on the same files")
    args = parser.parse_args()
    print(f"load average: {Path('/proc/loadavg').read_text().strip()}")
    slow = False
    with tempfile.TemporaryDirectory() as tmp:
        for count in args.counts:
            seconds, code, problems, cpu = time_validate(count, Path(tmp))
            size = len(broken_spec(count).encode()) / 1e6
            print(f"{count:>6} broken ranges ({size:.2f} MB): {seconds:6.2f} s ({cpu:.2f} s CPU), exit {code}, "
                  f"{problems} problems listed", flush=True)
            if args.old:
                old, code, problems, old_cpu = time_validate(count, Path(tmp), args.old)
                print(f"{'':>6}   old code {args.old.name}: {old:6.2f} s ({old_cpu:.2f} s CPU), exit {code}, "
                      f"{problems} problems listed; {old / seconds:.0f}x the time", flush=True)
            slow |= count == 20000 and cpu >= 2.0
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
