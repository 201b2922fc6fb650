"""Run inside a private mount namespace (`unshare -m --propagation private`, as root): put
HPO_TUI_HOME on a small tmpfs, fill it while a tuning job runs, and report as JSON what the
user gets. Used by tests/engine/test_named_faults.py."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def cli(*args: str) -> tuple[int, str]:
    from hpo_tui.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(list(args))
    return code, out.getvalue()


def main() -> int:
    home, channels = Path(sys.argv[1]), Path(sys.argv[2])
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m,mode=700", "tmpfs", str(home)], check=True)
    os.environ["HPO_TUI_HOME"] = str(home)
    from hpo_tui.backends.local import LocalBackend
    from hpo_tui.engine import procinfo, procs
    from hpo_tui.spec import CategoricalParameter, Channels, Estimator, TuningSpec

    fake = ROOT / "tests" / "engine" / "fake_train.py"
    spec = TuningSpec(
        estimator=Estimator(entry_point=fake.name, source_dir=str(fake.parent), base_job_name="full",
                            hyperparameters={"num_epoch": 400, "sleep": 0.05, "noise": 20}),
        ranges={"optimizer": CategoricalParameter(["sgd", "Adam"])}, strategy="Random", max_jobs=2,
        max_parallel_jobs=1, random_seed=1,
        channels=Channels(train=str(channels / "train"), test=str(channels / "test")),
    )
    backend = LocalBackend()
    name = backend.launch(spec)
    while not any(j.last_epoch for j in backend.poll(name).training_jobs):
        time.sleep(0.05)
    row = backend._row(name)
    runner = (row["runner_pid"], row["runner_start_time"])
    filler = home / "filler"
    with open(filler, "wb", buffering=0) as f:  # unbuffered: close() has no partial write left to raise on
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    deadline = time.monotonic() + 60
    while procinfo.is_alive(*runner) and time.monotonic() < deadline:
        backend._reap_children()
        time.sleep(0.05)
    report = {"runner_ended": not procinfo.is_alive(*runner)}
    report["status_full"] = cli("status", name)
    filler.unlink()
    report["status_freed"] = cli("status", name)
    report["runner_log"] = (home / "jobs" / name / "runner.log").read_text(errors="replace")
    report["resume"] = cli("resume", name)
    report["stop"] = cli("stop", name)
    procs.kill_marked(procs.tuning_prefix(home, name), reap=True)
    backend.close()
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
