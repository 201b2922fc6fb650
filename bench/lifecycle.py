"""The lifecycle state machines run long: whole sessions on the local backend (real runner,
fake trainer) and, when tests/lifecycle/test_sagemaker_session.py exists, on the simulated
SageMaker account, with every invariant of hpo_tui.invariants checked after every step.

Prints, per machine: examples, steps, invariant checks, failures (each failure's shrunk
counter-example is printed as Hypothesis reports it), and the wall time.

Usage: .venv/bin/python bench/lifecycle.py [--examples 2000] [--steps 12] [--batch 50]
                                           [--machine local|sagemaker|all] [--seed 1] [--workers 1]
The examples run in batches of --batch, each with its own seed, so one failure does not
end the run: the failures count the batches that found one. --workers N splits the
examples over N processes (seeds seed..seed+N-1), each in its own temporary HPO_TUI_HOME:
the local sessions spend much of their time waiting on their training processes.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import inspect
import json
import os
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@dataclass
class Tally:
    examples: int = 0
    steps: int = 0
    checks: int = 0
    failures: int = 0


TALLY: dict[str, Tally] = {}
CURRENT = ["local"]


def _count_checks() -> None:
    """Every check_* of hpo_tui.invariants counts one invariant check when called (patched
    before the machines are imported, so `from hpo_tui.invariants import ...` gets it too)."""
    from hpo_tui import invariants

    for name, fn in list(vars(invariants).items()):
        if name.startswith("check_") and inspect.isfunction(fn):
            @functools.wraps(fn)
            def counted(*args, __fn=fn, **kwargs):
                TALLY[CURRENT[0]].checks += 1
                return __fn(*args, **kwargs)

            setattr(invariants, name, counted)


def _machines(which: str) -> list[tuple[str, type]]:
    from hypothesis.stateful import RuleBasedStateMachine

    found = []
    if which in ("local", "all"):
        from tests.lifecycle.local_session import LocalSession

        found.append(("local", LocalSession))
    if which in ("sagemaker", "all"):
        path = ROOT / "tests" / "lifecycle" / "test_sagemaker_session.py"
        if path.exists():
            module = importlib.import_module("tests.lifecycle.test_sagemaker_session")
            # Its machine: defined in the file, or imported into it (the first one then).
            machines = [v for v in vars(module).values() if inspect.isclass(v) and issubclass(v, RuleBasedStateMachine)
                        and v is not RuleBasedStateMachine and v.__name__ != "LocalSession"]
            machines.sort(key=lambda v: v.__module__ != module.__name__)
            if machines:
                found.append(("sagemaker", machines[0]))
            else:
                print("sagemaker: no RuleBasedStateMachine in tests/lifecycle/test_sagemaker_session.py")
        else:
            print("sagemaker: tests/lifecycle/test_sagemaker_session.py not there; skipped")
    return found


def _counting(label: str, machine: type) -> type:
    tally = TALLY[label]

    class Counted(machine):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__()
            tally.examples += 1

        def check_invariants(self, *args, **kwargs):  # Hypothesis: at the start, then after each step
            if getattr(self, "_started", False):
                tally.steps += 1
            self._started = True
            return super().check_invariants(*args, **kwargs)

    Counted.__name__ = machine.__name__
    return Counted


def run(label: str, machine: type, examples: int, steps: int, batch: int, seed: int) -> float:
    from hypothesis import HealthCheck, Phase, settings
    from hypothesis import seed as with_seed
    from hypothesis.stateful import run_state_machine_as_test

    TALLY[label] = Tally()
    CURRENT[0] = label
    counted = _counting(label, machine)
    start = time.monotonic()
    done = 0
    while done < examples:
        n = min(batch, examples - done)
        config = settings(max_examples=n, stateful_step_count=steps, deadline=None, database=None,
                          suppress_health_check=list(HealthCheck),
                          phases=[Phase.generate, Phase.shrink])

        @with_seed(seed * 100_003 + done)
        def one_batch() -> None:
            run_state_machine_as_test(counted, settings=config)

        try:
            one_batch()
        except Exception:  # noqa: BLE001 - a counter-example: printed, counted, and the run goes on
            TALLY[label].failures += 1
            print(f"{label}: FAILURE in the batch from example {done}:", flush=True)
            traceback.print_exc()
        done += n
        t = TALLY[label]
        print(f"{label}: {done}/{examples} asked, {t.examples} run, {t.steps} steps, {t.checks} checks, "
              f"{t.failures} failures, {time.monotonic() - start:.0f} s", flush=True)
    return time.monotonic() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=12, help="steps per example (stateful_step_count)")
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--machine", choices=["local", "sagemaker", "all"], default="all")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # a worker's tally
    args = parser.parse_args()
    if args.workers > 1:
        return _split(args)
    os.environ.setdefault("HPO_TUI_HOME", tempfile.mkdtemp(prefix="lifecycle-bench-"))
    os.environ.setdefault("HPO_TUI_STOP_GRACE", "0.5")
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    _count_checks()
    print(f"lifecycle bench: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, {os.cpu_count()} cores, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    results = []
    for label, machine in _machines(args.machine):
        seconds = run(label, machine, args.examples, args.steps, args.batch, args.seed)
        results.append((label, seconds))
    if args.json:
        print("TALLY " + json.dumps({label: dict(vars(TALLY[label]), seconds=seconds) for label, seconds in results}))
    _table({label: dict(vars(TALLY[label]), seconds=seconds) for label, seconds in results})
    return 1 if any(TALLY[label].failures for label, _ in results) else 0


def _table(rows: dict[str, dict]) -> None:
    print()
    print(f"{'machine':<10} {'examples':>8} {'steps':>7} {'checks':>8} {'failures':>8} {'seconds':>8}")
    for label, t in rows.items():
        print(f"{label:<10} {t['examples']:>8} {t['steps']:>7} {t['checks']:>8} {t['failures']:>8} {t['seconds']:>8.0f}")
    print(f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def _split(args: argparse.Namespace) -> int:
    """Run the examples in --workers processes and add up their tallies."""
    import subprocess

    share = [args.examples // args.workers + (i < args.examples % args.workers) for i in range(args.workers)]
    print(f"lifecycle bench: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}, {os.cpu_count()} cores, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; {args.workers} workers", flush=True)
    procs = []
    for i, n in enumerate(share):
        env = dict(os.environ, HPO_TUI_HOME=tempfile.mkdtemp(prefix=f"lifecycle-bench-{i}-"))
        argv = [sys.executable, __file__, "--examples", str(n), "--steps", str(args.steps), "--batch",
                str(args.batch), "--machine", args.machine, "--seed", str(args.seed + i), "--json"]
        procs.append(subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, text=True))
    total: dict[str, dict] = {}
    status = 0
    for i, proc in enumerate(procs):
        for line in proc.stdout:  # type: ignore[union-attr]
            if line.startswith("TALLY "):
                for label, t in json.loads(line[6:]).items():
                    into = total.setdefault(label, dict(examples=0, steps=0, checks=0, failures=0, seconds=0.0))
                    for key in ("examples", "steps", "checks", "failures"):
                        into[key] += t[key]
                    into["seconds"] = max(into["seconds"], t["seconds"])  # wall time: they ran side by side
            else:
                print(f"[{i}] {line}", end="", flush=True)
        status |= proc.wait()
    _table(total)
    return 1 if status else 0


if __name__ == "__main__":
    sys.exit(main())
