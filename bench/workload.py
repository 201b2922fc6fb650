"""Where a local tuning job's time goes: the reference spec run through the local engine, with a
breakdown per training job and per tuning job.

Per job: slot wait (could have started under max_parallel_jobs -> the runner started it),
process start -> first training batch, data load (reading the IDX channels), training and
validation time per epoch. Per tuning job: wall time, the cores our jobs used over time next
to what the whole machine used (both from /proc), and the critical path (the longest chain of
jobs, each started on the slot the previous one freed).

The timings come from a wrapper entry point that runs the real training/mnist.py in the same
process and times its `load_channel` and `evaluate` functions and the first `Trainer.step`; it
writes them to timing.jsonl in the job's folder, so the script's own output is untouched. The
same wrapper works for an older checkout (--repo), so before/after runs are measured alike.

Usage: .venv/bin/python bench/workload.py [--quick] [--repo CHECKOUT] [--json OUT]
  (default) the reference spec: 9 jobs, 3 parallel, Bayesian, random_seed 1, full MNIST,
            num_epoch 10-50 (many minutes)
  --quick   5 jobs, num_epoch 2-4, full MNIST: a few minutes, for development
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Runs the real script in this process; records when things happen into ./timing.jsonl.
WRAPPER = r'''
import json, os, sys, time
REAL = {real!r}
_out = open("timing.jsonl", "a", buffering=1)

def _event(kind, **fields):
    fields.update(kind=kind, t=time.time(), cpu=time.process_time())
    _out.write(json.dumps(fields) + "\n")

with open("/proc/self/stat") as fh:
    _ticks = int(fh.read().rsplit(")", 1)[1].split()[19])
with open("/proc/stat") as fh:
    _btime = next(int(line.split()[1]) for line in fh if line.startswith("btime"))
_event("process_start", at=_btime + _ticks / os.sysconf("SC_CLK_TCK"))
_module = {{"__name__": "mnist_timed", "__file__": REAL, "__builtins__": __builtins__}}
with open(REAL) as fh:
    exec(compile(fh.read(), REAL, "exec"), _module)

def _timed(name):
    original = _module[name]
    def wrapper(*args, **kwargs):
        start, cpu_start = time.time(), time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            _event(name, start=start, seconds=time.time() - start, cpu_start=cpu_start)
    _module[name] = wrapper

_timed("load_channel")
_timed("evaluate")

# Time the script's own `import mxnet` (whatever it does around it), then catch the first
# Trainer.step, i.e. the end of the first training batch.
import builtins
_import = builtins.__import__

def _timed_import(name, *args, **kwargs):
    if name != "mxnet" or "mxnet" in sys.modules:
        return _import(name, *args, **kwargs)
    builtins.__import__ = _import
    start, cpu_start = time.time(), time.process_time()
    module = _import(name, *args, **kwargs)
    _event("mxnet_import", start=start, seconds=time.time() - start, cpu_start=cpu_start)
    import mxnet.gluon
    step = mxnet.gluon.Trainer.step
    def first_step(self, *a, **k):
        mxnet.gluon.Trainer.step = step
        _event("first_step")
        return step(self, *a, **k)
    mxnet.gluon.Trainer.step = first_step
    return module

builtins.__import__ = _timed_import
sys.argv[0] = REAL
sys.exit(_module["main"](sys.argv[1:]))
'''


def read_ticks(pid: int) -> tuple[float, int] | None:
    """(CPU seconds of pid incl. its reaped children, ppid), or None once it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = raw[raw.rfind(b")") + 2:].split()
    cpu = sum(int(v) for v in fields[11:15]) / CLK_TCK  # utime stime cutime cstime
    return cpu, int(fields[1])


def machine_busy() -> tuple[float, float]:
    """(busy seconds of all cores, total seconds) from /proc/stat."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return (total - idle) / CLK_TCK, total / CLK_TCK


class Sampler(threading.Thread):
    """Every `period` s: cores used by the runner and its jobs, and by the whole machine."""

    def __init__(self, period: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.period = period
        self.runner_pid: int | None = None
        self.samples: list[tuple[float, float, float]] = []  # (time, our cores, machine cores)
        self.done = threading.Event()

    def ours(self) -> float | None:
        if self.runner_pid is None:
            return None
        runner = read_ticks(self.runner_pid)
        if runner is None:
            return None
        total = runner[0]
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                info = read_ticks(int(entry.name))
                if info is not None and info[1] == self.runner_pid:
                    total += info[0]
        return total

    def run(self) -> None:
        last_ours, (last_busy, last_total), last_t = self.ours(), machine_busy(), time.time()
        while not self.done.wait(self.period):
            ours, (busy, total), now = self.ours(), machine_busy(), time.time()
            if ours is not None and last_ours is not None and total > last_total:
                wall = now - last_t
                self.samples.append((now, (ours - last_ours) / wall, (busy - last_busy) / wall))
            last_ours, last_busy, last_total, last_t = ours, busy, total, now


def load_events(folder: Path) -> dict[str, list[dict]]:
    events: dict[str, list[dict]] = {}
    path = folder / "timing.jsonl"
    if path.exists():
        for line in path.read_text().splitlines():
            event = json.loads(line)
            events.setdefault(event["kind"], []).append(event)
    return events


def _mxnet_import(events: dict[str, list[dict]]) -> float | None:
    if "mxnet_import" in events:
        return events["mxnet_import"][0]["seconds"]
    if "mxnet_imported" in events:  # written by an earlier version of the wrapper
        return events["mxnet_imported"][0]["t"] - events["mxnet_import_start"][0]["t"]
    return None


def epoch_times(log_path: Path) -> list[float]:
    import re

    return [float(v) for v in re.findall(r"Epoch\[\d+\] Time cost=([0-9.]+)", log_path.read_text())]


def breakdown(rows: list[dict], parallel: int, created: float) -> list[dict]:
    """One dict per training job, in launch order, with its phases in seconds."""
    jobs = []
    ended: list[float] = []
    for row in sorted(rows, key=lambda r: r["launch_index"]):
        folder = Path(row["log_path"]).parent
        events = load_events(folder)
        started, ended_at = row["started_at"], row["ended_at"]
        # Eligible under max_parallel_jobs: at once for the first `parallel`, else when the
        # (i - parallel + 1)-th earlier job ended.
        earlier = sorted(ended)
        i = len(ended)
        eligible = created if i < parallel else earlier[i - parallel]
        ended.append(ended_at)
        loads = events.get("load_channel", [])
        evals = [e["seconds"] for e in events.get("evaluate", [])]
        costs = epoch_times(Path(row["log_path"]))
        # Time cost covers an epoch's training and its validation (old and new script alike).
        trains = [c - v for c, v in zip(costs, evals)]
        first_step = events.get("first_step", [{}])[0].get("t")
        eval_events = events.get("evaluate", [])
        # CPU seconds of the job's process (all its threads): what an epoch costs whatever
        # share of the cores the job got on a busy machine.
        train_cpu = [b["cpu_start"] - a["cpu"] for a, b in zip(eval_events, eval_events[1:]) if "cpu_start" in b]
        val_cpu = [e["cpu"] - e["cpu_start"] for e in eval_events if "cpu_start" in e]
        import_cpu = [e["cpu"] - e["cpu_start"] for e in events.get("mxnet_import", []) if "cpu_start" in e]
        hps = json.loads(row["hyperparameters"])
        jobs.append({
            "name": row["name"],
            "status": row["status"],
            "optimizer": hps.get("optimizer"),
            "learning_rate": float(hps.get("learning_rate", "nan")),
            "num_epoch": int(hps.get("num_epoch", 0)),
            "epochs_run": len(costs),
            "objective": row["final_objective"],
            "start": started - created,
            "end": ended_at - created,
            "slot_wait": max(0.0, started - eligible),
            "to_first_batch": (first_step - started) if first_step else None,
            "mxnet_import": _mxnet_import(events),
            "data_load": sum(e["seconds"] for e in loads) if loads else None,
            "train_epoch": statistics.median(trains) if trains else None,
            "train_total": sum(trains),
            "val_epoch": statistics.median(evals) if evals else None,
            "val_total": sum(evals),
            "train_cpu_epoch": statistics.median(train_cpu) if train_cpu else None,
            "val_cpu_epoch": statistics.median(val_cpu) if val_cpu else None,
            "import_cpu": import_cpu[0] if import_cpu else None,
            "cpu_total": eval_events[-1]["cpu"] if eval_events and "cpu" in eval_events[-1] else None,
        })
    return jobs


def critical_path(jobs: list[dict]) -> list[dict]:
    """The chain ending with the last job to end: each job's predecessor is the one whose end
    freed its slot (the latest end at or before its start)."""
    if not jobs:
        return []
    chain = [max(jobs, key=lambda j: j["end"])]
    while True:
        start = chain[0]["start"]
        before = [j for j in jobs if j["end"] <= start + 0.05 and j is not chain[0]]
        if not before:
            break
        chain.insert(0, max(before, key=lambda j: j["end"]))
    return chain


def fmt(value: float | None, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def report(jobs: list[dict], samples: list[tuple[float, float, float]], wall: float, created: float,
           loads: tuple[str, str], tuning: dict) -> dict:
    print(f"\ntuning job {tuning['name']}: {tuning['status']} in {wall:.1f} s wall "
          f"({wall / 60:.2f} min); load average at start {loads[0]}, at end {loads[1]}")
    print(f"{'job':<8} {'hyperparameters':<26} {'start':>6} {'end':>6} {'wait':>5} "
          f"{'->batch':>7} {'import':>6} {'data':>5} {'train/ep':>8} {'val/ep':>6} {'epochs':>6} {'objective':>9}"
          f" {'cpu:import':>10} {'train/ep':>8} {'val/ep':>6}")
    for j in jobs:
        hp = f"{j['optimizer']} lr={j['learning_rate']:.3f} ep={j['num_epoch']}"
        print(f"{j['name'][-3:]:<8} {hp:<26} {j['start']:6.1f} {j['end']:6.1f} {j['slot_wait']:5.2f} "
              f"{fmt(j['to_first_batch']):>7} {fmt(j['mxnet_import']):>6} {fmt(j['data_load']):>5} "
              f"{fmt(j['train_epoch'], '.3f'):>8} {fmt(j['val_epoch'], '.3f'):>6} {j['epochs_run']:>6} "
              f"{fmt(j['objective'], '.4f'):>9} {fmt(j['import_cpu']):>10} {fmt(j['train_cpu_epoch'], '.3f'):>8} "
              f"{fmt(j['val_cpu_epoch'], '.3f'):>6}")
    job_seconds = sum(j["end"] - j["start"] for j in jobs)
    parts = {
        "slot wait": sum(j["slot_wait"] for j in jobs),
        "start -> first batch": sum(j["to_first_batch"] or 0 for j in jobs),
        "  of which import mxnet": sum(j["mxnet_import"] or 0 for j in jobs),
        "  of which data load": sum(j["data_load"] or 0 for j in jobs),
        "training": sum(j["train_total"] for j in jobs),
        "validation": sum(j["val_total"] for j in jobs),
    }
    accounted = parts["start -> first batch"] + parts["training"] + parts["validation"]
    parts["rest (model export, exit, first epoch set-up)"] = job_seconds - accounted
    epochs = sum(j["epochs_run"] for j in jobs)
    print(f"job-seconds (sum of job wall times) {job_seconds:.1f} s over {epochs} epochs "
          f"({job_seconds / max(epochs, 1):.2f} job-s/epoch):")
    for label, value in parts.items():
        print(f"  {label:<46} {value:8.1f} s  {value / job_seconds * 100:5.1f} %")

    chain = critical_path(jobs)
    chain_text = " -> ".join(f"{j['name'][-3:]} ({j['end'] - j['start']:.0f} s)" for j in chain)
    chain_sum = sum(j["end"] - j["start"] for j in chain)
    print(f"critical path: {chain_text}; {chain_sum:.1f} s of jobs, {wall - chain_sum:.1f} s between them")

    cpu_jobs = [j for j in jobs if j["train_cpu_epoch"] is not None]
    if cpu_jobs:
        weighted = sum(j["train_cpu_epoch"] * j["epochs_run"] for j in cpu_jobs) / sum(j["epochs_run"] for j in cpu_jobs)
        print(f"CPU per job (its process, all threads): import mxnet median "
              f"{statistics.median(j['import_cpu'] or 0 for j in cpu_jobs):.2f} s, training "
              f"{weighted:.3f} s/epoch (epoch-weighted), validation "
              f"{statistics.median(j['val_cpu_epoch'] or 0 for j in cpu_jobs):.3f} s/epoch")
    if samples:
        ours = [s[1] for s in samples]
        machine = [s[2] for s in samples]
        cores = os.cpu_count() or 1
        print(f"cores used (of {cores}), sampled every second from /proc: our jobs mean {statistics.mean(ours):.2f}, "
              f"whole machine mean {statistics.mean(machine):.2f} (others {statistics.mean(machine) - statistics.mean(ours):.2f})")
        buckets = 10
        span = samples[-1][0] - samples[0][0] or 1
        line = []
        for b in range(buckets):
            lo = samples[0][0] + span * b / buckets
            hi = samples[0][0] + span * (b + 1) / buckets
            part = [s for s in samples if lo <= s[0] <= hi] or [samples[-1]]
            line.append(f"{statistics.mean(p[1] for p in part):.1f}/{statistics.mean(p[2] for p in part):.1f}")
        print("  per tenth of the run, ours/machine: " + "  ".join(line))
        spent = sum(o * (b[0] - a[0]) for a, b, o in zip(samples, samples[1:], ours[1:]))
        print(f"  CPU our jobs and runner used: {spent:.0f} core-seconds; at {cores} cores, all ours, that is "
              f"{spent / cores:.0f} s of wall time")
    return {
        "wall_s": wall, "status": tuning["status"], "load_start": loads[0], "load_end": loads[1],
        "epochs": epochs, "job_seconds": job_seconds, "parts": parts,
        "critical_path": [j["name"] for j in chain], "critical_path_s": chain_sum,
        "best_objective": tuning["best_objective"], "jobs": jobs,
        "cores_ours_mean": statistics.mean(s[1] for s in samples) if samples else None,
        "cores_machine_mean": statistics.mean(s[2] for s in samples) if samples else None,
        "samples": samples,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="5 jobs of 2-4 epochs instead of the reference spec")
    parser.add_argument("--repo", type=Path, default=ROOT,
                        help="the hpo-tui checkout to measure (engine and training script); default this one")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--channels", type=Path, help="prepared MNIST channels (default: a temporary copy)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary HPO_TUI_HOME (job logs, timings)")
    args = parser.parse_args()

    repo = args.repo.resolve()
    sys.path.insert(0, str(repo))
    os.environ["HPO_TUI_HOME"] = tempfile.mkdtemp(prefix="hpo-workload-")
    import hpo_tui
    from hpo_tui import paths
    from hpo_tui.backends.local import LocalBackend
    from hpo_tui.data import prepare_mnist
    from hpo_tui.engine.store import Store
    from hpo_tui.spec import Channels, Estimator, IntegerParameter, TuningSpec, default_ranges

    loads = (Path("/proc/loadavg").read_text().strip(), "")
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}, {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
          f"hpo_tui from {Path(hpo_tui.__file__).parent.parent}")
    print(f"load average at start: {loads[0]}")
    root = prepare_mnist(args.channels) if args.channels else prepare_mnist(Path(os.environ["HPO_TUI_HOME"]) / "mnist")

    src = Path(tempfile.mkdtemp(prefix="hpo-workload-src-"))
    (src / "mnist.py").write_text(WRAPPER.format(real=str(repo / "training" / "mnist.py")))
    ranges = default_ranges()
    max_jobs = 9
    if args.quick:
        ranges["num_epoch"] = IntegerParameter(2, 4)
        max_jobs = 5
    spec = TuningSpec(
        estimator=Estimator(entry_point="mnist.py", source_dir=str(src)),
        ranges=ranges, max_jobs=max_jobs, max_parallel_jobs=3, random_seed=1,
        channels=Channels(train=str(root / "train"), test=str(root / "test")),
    )
    print(f"spec: {max_jobs} jobs, {spec.max_parallel_jobs} parallel, {spec.strategy}, random_seed 1, "
          f"full MNIST, num_epoch {ranges['num_epoch'].min}-{ranges['num_epoch'].max}")

    sampler = Sampler()
    backend = LocalBackend()
    t0 = time.time()
    name = backend.launch(spec)
    store = Store.reader(paths.store_path())
    sampler.runner_pid = store.tuning_job(name)["runner_pid"]
    sampler.start()
    while True:
        snap = backend.poll(name)
        if snap.tuning_job.is_terminal:
            break
        time.sleep(0.5)
    sampler.done.set()
    sampler.join()
    row = store.tuning_job(name)
    rows = store.training_jobs(name)
    store.close()
    created = row["created_at"]
    wall = (row["ended_at"] or time.time()) - created
    loads = (loads[0], Path("/proc/loadavg").read_text().strip())
    tuning = {"name": name, "status": snap.tuning_job.status, "best_objective": snap.tuning_job.best_objective}
    figures = report(breakdown(rows, spec.max_parallel_jobs, created), sampler.samples, wall, created, loads, tuning)
    print(f"best Validation-accuracy {tuning['best_objective']} ({snap.tuning_job.best_training_job}); "
          f"launch -> terminal seen by this script {time.time() - t0:.1f} s")
    if args.json:
        figures["repo"] = str(repo)
        figures["date"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
        args.json.write_text(json.dumps(figures, indent=1))
    backend.close()
    if args.keep:
        print(f"job folders kept under {os.environ['HPO_TUI_HOME']}")
    else:
        shutil.rmtree(os.environ["HPO_TUI_HOME"], ignore_errors=True)
        shutil.rmtree(src, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
