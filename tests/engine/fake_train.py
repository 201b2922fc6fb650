"""A fast, deterministic stand-in for training/mnist.py, for engine and search tests.

It takes every hyperparameter as `--name value` (as SageMaker passes them) and prints
MXNet-style per-epoch lines ("Epoch[k] Validation-accuracy=..."), k 0-based. The curve
is a pure function of the hyperparameters (see `curve`), so tests can compute what the
runner must have seen. Fault options (all hyperparameters, so a spec can set them):

  --sleep S            seconds per epoch (default 0)
  --fail_exit N        exit with code N after --fail_at epochs (default: epoch 0)
  --failure_message M  write M to $HPO_TUI_FAILURE_FILE before failing
  --print_nan 1        print "nan" for every metric value
  --no_metric 1        print epoch lines without any metric
  --fork_hang 1        fork a child (same process group) and both hang after the epochs;
                       --ignore_term 1 makes the child ignore SIGTERM
  --fork_exit 1        fork a child that hangs holding stdout open; the parent exits 0
  --hang 1             hang after the last epoch
  --keep_going 1       ignore a closed stdout (as logging does) and go on training, like
                       MXNet's logging when its reader is gone
  --spin S             use the CPU, printing nothing, for S seconds before the epochs
  --setsid_child 1     before the epochs, fork a child that calls setsid() (leaving the job's
                       process group and session) and hangs; it prints "escapee PID"
  --noise N            N extra non-metric lines per epoch
  --dump_env 1         write the SM_* environment and argv to $SM_OUTPUT_DATA_DIR/env.json
  --say TEXT           print TEXT as it is (escape sequences too) before the epochs
  --big_line N         print one line of N bytes before the epochs
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import time


def parse_args(argv: list[str]) -> dict[str, str]:
    hps: dict[str, str] = {}
    i = 0
    while i < len(argv):
        key = argv[i]
        if key.startswith("--") and i + 1 < len(argv):
            hps[key[2:]] = argv[i + 1]
            i += 2
        else:
            i += 1
    return hps


def quality(hps: dict[str, str]) -> float:
    """The accuracy a configuration converges to: best at learning_rate 0.1 with Adam.

    Every numeric hyperparameter whose name starts with "x" lowers it by 0.05 * |x - 1|,
    so search tests can use made-up dimensions with a known optimum at x = 1.
    """
    lr = float(hps.get("learning_rate", "0.1"))
    q = 0.95 - 0.25 * abs(math.log10(max(lr, 1e-12)) - math.log10(0.1))
    if hps.get("optimizer", "sgd").lower() == "adam":
        q += 0.02
    for name, value in hps.items():
        if name.startswith("x"):
            try:
                q -= 0.05 * abs(float(value) - 1.0)
            except ValueError:
                pass
    return min(0.99, max(0.05, q))


def curve(hps: dict[str, str]) -> list[float]:
    """Validation-accuracy after each epoch, exactly as printed (6 decimals)."""
    epochs = int(float(hps.get("num_epoch", "3")))
    q = quality(hps)
    return [float(f"{q * (1 - 0.5 ** (k + 1)):.6f}") for k in range(epochs)]


def _hang() -> None:
    while True:
        time.sleep(3600)


class _Tolerant:
    """A stream whose writes never fail: what logging does with a closed stream."""

    def __init__(self, stream) -> None:
        self.stream = stream

    def write(self, data: str) -> int:
        try:
            return self.stream.write(data)
        except OSError:
            return len(data)

    def flush(self) -> None:
        try:
            self.stream.flush()
        except OSError:
            pass


def main() -> int:
    hps = parse_args(sys.argv[1:])
    flag = lambda name: hps.get(name, "0") not in ("0", "", "false", "False")  # noqa: E731
    if flag("keep_going"):
        sys.stdout, sys.stderr = _Tolerant(sys.stdout), _Tolerant(sys.stderr)
    print(f"fake_train: hyperparameters {json.dumps(hps, sort_keys=True)}", flush=True)
    if flag("dump_env"):
        out = os.environ.get("SM_OUTPUT_DATA_DIR", ".")
        os.makedirs(out, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k.startswith(("SM_", "OMP_", "MXNET_", "HPO_TUI_FAILURE"))}
        with open(os.path.join(out, "env.json"), "w") as f:
            json.dump({"env": env, "argv": sys.argv, "cwd": os.getcwd()}, f)
    sleep = float(hps.get("sleep", "0"))
    fail_exit = int(hps.get("fail_exit", "0"))
    fail_at = int(hps.get("fail_at", "0"))
    noise = int(hps.get("noise", "0"))
    if flag("setsid_child"):
        ready_r, ready_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.setsid()
            print(f"fake_train: escapee {os.getpid()}", flush=True)
            os.write(ready_w, b"x")
            _hang()
        os.read(ready_r, 1)  # go on once the escapee has said who it is
    if float(hps.get("spin", "0")):
        end = time.monotonic() + float(hps["spin"])
        while time.monotonic() < end:
            pass
    if "say" in hps:
        print(hps["say"], flush=True)
    if int(hps.get("big_line", "0")):
        sys.stdout.write("y" * int(hps["big_line"]) + "\n")
        sys.stdout.flush()
    for k, acc in enumerate(curve(hps)):
        if fail_exit and k == fail_at:
            message = hps.get("failure_message")
            if message and os.environ.get("HPO_TUI_FAILURE_FILE"):
                with open(os.environ["HPO_TUI_FAILURE_FILE"], "w") as f:
                    f.write(message)
            print(f"fake_train: failing on purpose at epoch {k}", file=sys.stderr, flush=True)
            return fail_exit
        if sleep:
            time.sleep(sleep)
        for n in range(noise):
            print(f"Epoch[{k}] Batch [{n}]\tSpeed: 1000.00 samples/sec", flush=True)
        if flag("no_metric"):
            print(f"Epoch[{k}] done", flush=True)
            continue
        if flag("print_nan"):
            print(f"Epoch[{k}] Train-accuracy=nan", flush=True)
            print(f"Epoch[{k}] Validation-accuracy=nan", flush=True)
            continue
        print(f"Epoch[{k}] Train-accuracy={min(1.0, acc + 0.01):.6f}", flush=True)
        print(f"Epoch[{k}] Validation-accuracy={acc:.6f}", flush=True)
        print(f"Epoch[{k}] Validation-loss={1 - acc:.6f}", flush=True)
    if fail_exit:
        return fail_exit
    if flag("fork_hang") or flag("fork_exit"):
        pid = os.fork()
        if pid == 0:
            if flag("ignore_term"):
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
            print(f"fake_train: child {os.getpid()} hanging", flush=True)
            _hang()
        if flag("fork_exit"):
            return 0
        print(f"fake_train: parent {os.getpid()} hanging", flush=True)
        _hang()
    if flag("hang"):
        _hang()
    return 0


if __name__ == "__main__":
    sys.exit(main())
