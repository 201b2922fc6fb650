"""Issue 16's scale figures (`bench/tui_bench.py --scale`, or this script): main-thread CPU per
refresh and per tick including the deferred (idle-time and render) work at 500-10,000 jobs,
each in a fresh process; attach to finished 1,000 and 5,000 x 50 x 3 stores (first frame with
rows, RSS, idle CPU); and `status`/`export` time and peak RSS.

`--against REV` (a git revision or a checkout's directory; may be given more than once)
measures the same figures on REV's hpo_tui in the same run, interleaved with this one's
(A B A B ...), and prints the ratios; `--rounds N` (default 3) measurements of each, medians
printed. Uses temporary HPO_TUI_HOMEs; needs tmux.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from tui_bench import HPO_TUI, ROOT, ScriptedBackend, TmuxPane, compile_bytecode, cpu_seconds, synthetic_snapshot

class LazyScriptedBackend(ScriptedBackend):
    """Serves rows without points and the curves asked for, as the local backend does."""

    points_on_demand = True

    def __init__(self, snapshot) -> None:
        super().__init__(replace(snapshot, new_points=()))
        self.points: dict[str, list] = {}
        for p in snapshot.new_points:
            self.points.setdefault(p.job, []).append(p)

    def poll(self, name, cursor=None, *, points=True):
        return self.snapshot

    def curves(self, name, jobs, metric=None):
        return tuple(p for job in jobs for p in self.points.get(job, ()) if metric is None or p.metric == metric)


def scaled_snapshots(count: int, changed: int = 20, rounds: int = 8):
    """A finished-but-20 snapshot and `rounds` later ones where the 20 running jobs moved on.
    Unchanged jobs are the same objects from poll to poll, as the local backend's
    incremental poll returns them."""
    first = synthetic_snapshot(count, changed)
    later = []
    jobs = list(first.training_jobs)
    for generation in range(1, rounds + 1):
        for i in range(changed):
            jobs[i] = replace(jobs[i], final_objective=jobs[i].final_objective + generation * 1e-4,
                              last_epoch=(jobs[i].last_epoch or 0) + 1)
        from hpo_tui.views import MetricPoint

        points = tuple(MetricPoint(jobs[i].name, "Validation-accuracy", 3 + generation, 1_764_000_000.0 + generation,
                                   0.93 + generation * 1e-3) for i in range(changed))
        later.append(replace(first, training_jobs=tuple(jobs), new_points=points, cursor=generation))
    return first, later


async def deferred_work(count: int, changed: int = 20, rounds: int = 8) -> tuple[float, float, float, float]:
    """Median CPU seconds of the app's main (UI) thread for one refresh (apply_snapshot,
    then the idle-time work and the next frame), and for one 1 s clock tick, with `changed`
    running jobs; each minus the same wait with nothing to do. Third: the poll thread's work
    on a snapshot before it reaches the UI (Snapshot.prepare, done here as the dashboard's
    poll worker does it), measured on its own. Fourth: the whole process's CPU for one
    refresh, the charts' build thread included."""
    from hpo_tui.app.app import make_app

    first, later = scaled_snapshots(count, changed, rounds)
    clock = {"now": 1_764_000_000.0 + 2000}
    app = make_app(backend=LazyScriptedBackend(first), attach="bench", start="dashboard", interval=3600.0,
                   clock=lambda: clock["now"])
    refresh, tick, idle, prepare, process, process_idle = [], [], [], [], [], []
    clock_of = time.thread_time  # the UI thread: the test app runs on this thread's event loop
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        await pilot.pause(0.3)
        screen = app.screen
        deadline = time.monotonic() + 300
        while screen.query_one("#jobs-table").row_count < count:  # a large first load comes in chunks
            if time.monotonic() > deadline:
                raise RuntimeError(f"{count} rows did not load within 300 s")
            await pilot.pause(0.05)
        await pilot.pause(0.3)

        async def settled() -> None:
            for _ in range(3):
                await pilot.pause()

        try:  # the dashboard's poll worker keeps the scales' inputs on the snapshot (since beb4a35)
            from hpo_tui.scales import job_scales
        except ImportError:  # an older checkout (--against): no scales
            job_scales = None
        for snap in later:
            start = time.process_time()
            snap.prepare()  # what the poll worker does before posting the snapshot
            if job_scales is not None:
                job_scales(snap)
            prepare.append(time.process_time() - start)
            start, whole = clock_of(), time.process_time()
            await settled()
            idle.append(clock_of() - start)
            process_idle.append(time.process_time() - whole)
            start, whole = clock_of(), time.process_time()
            screen.apply_snapshot(snap)
            await settled()
            refresh.append(clock_of() - start)
            process.append(time.process_time() - whole)
            clock["now"] += 1.0
            start = clock_of()
            screen._tick_clock()
            await settled()
            tick.append(clock_of() - start)
    base = statistics.median(idle)
    return (statistics.median(refresh) - base, statistics.median(tick) - base, statistics.median(prepare),
            statistics.median(process) - statistics.median(process_idle))


def write_store(home: Path, name: str, jobs: int, epochs: int = 50, metrics: int = 3) -> None:
    """A finished tuning job of `jobs` x `epochs` x `metrics` points in a real local store."""
    import json

    from hpo_tui import paths
    from hpo_tui.engine.store import Store

    os.environ["HPO_TUI_HOME"] = str(home)
    now = time.time()
    writer = Store.writer(paths.store_path())
    names = ["Validation-accuracy", "Train-accuracy", "Validation-loss"][:metrics]
    try:
        with writer.write():
            row = dict(
                name=name, spec_json="{}", status="Completed", strategy="Random", objective_name=names[0],
                objective_type="Maximize", max_jobs=jobs,
                tuned_parameters=json.dumps(["optimizer", "learning_rate"]), created_at=now - 86400,
                ended_at=now - 60, folder=str(home / "jobs" / name))
            # A revision before schema 5 (--against) still has its max_parallel_jobs column.
            if "max_parallel_jobs" in {c[1] for c in writer.conn.execute("PRAGMA table_info(tuning_jobs)")}:
                row["max_parallel_jobs"] = 10
            writer.insert("tuning_jobs", row)
            for i in range(jobs):
                job = f"{name}-{i + 1:05d}"
                curve = [0.5 + 0.4 * (1 - 1 / (e + 2)) + (i % 101) * 1e-4 for e in range(epochs)]
                writer.insert("training_jobs", dict(
                    name=job, tuning_job=name, launch_index=i, status="Completed", objective_status="Succeeded",
                    hyperparameters=json.dumps({"optimizer": "sgd" if i % 2 else "adam",
                                                "learning_rate": repr(0.001 + i * 1e-5)}),
                    final_objective=curve[-1], best_objective=curve[-1], last_epoch=epochs - 1,
                    created_at=now - 80000 + i, started_at=now - 79999 + i, ended_at=now - 70000 + i,
                    log_path=str(home / "jobs" / name / f"{i}.log")))
                writer.add_points(name, job, [(m, e, now - 75000 + i + e, v - k * 0.01)
                                              for k, m in enumerate(names) for e, v in enumerate(curve)])
    finally:
        writer.checkpoint()
        writer.close()


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def attach_figures(env: dict[str, str], name: str, marker: str, idle_seconds: float = 10.0) -> tuple[float, float, float]:
    """`hpo-tui attach NAME` in tmux: seconds to the first frame showing marker (a row),
    RSS once settled (MiB), and the share of one core it uses idle afterwards."""
    start = time.perf_counter()
    pane = TmuxPane([str(HPO_TUI), "attach", name], env)
    try:
        while marker not in pane.text():
            if time.perf_counter() - start > 120:
                raise RuntimeError(f"no row {marker!r} within 120 s:\n{pane.text()}")
            time.sleep(0.01)
        first = time.perf_counter() - start
        time.sleep(8.0)  # the curves shown load, the charts draw, a finished-job poll or two
        pid = pane.pid()
        rss = rss_mib(pid)
        before, t0 = cpu_seconds(pid), time.monotonic()
        time.sleep(idle_seconds)
        share = (cpu_seconds(pid) - before) / (time.monotonic() - t0)
        return first, max(rss, rss_mib(pid)), share
    finally:
        pane.kill()


GNU_TIME = shutil.which("time") if Path("/usr/bin/time").exists() else None


def command_figures(env: dict[str, str], argv: list[str], runs: int = 3) -> tuple[float, float]:
    """Median wall seconds and the largest peak RSS (MiB, NaN without GNU time) of a CLI
    command, output discarded. The peak comes from GNU time: a child forked from this
    process would report this process's size as its own maximum."""
    walls, peaks = [], []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=300)
        walls.append(time.perf_counter() - start)
        if GNU_TIME:
            out = subprocess.run([GNU_TIME, "-f", "%M", *argv], env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True, check=True, timeout=300).stderr
            peaks.append(int(out.strip().splitlines()[-1]) / 1024)
    return statistics.median(walls), max(peaks) if peaks else float("nan")


def scale_worker() -> int:
    """`--scale-worker COUNT [--root DIR]`: deferred_work(COUNT) in this fresh process, on the
    hpo_tui of DIR (another checkout) or of this one; prints its four figures as JSON.
    `--write-store HOME NAME JOBS [--root DIR]`: write_store with that checkout's store code
    (a store is read by the version that wrote it)."""
    import json

    if "--root" in sys.argv:
        root = Path(sys.argv[sys.argv.index("--root") + 1]).resolve()
        sys.path.insert(0, str(root))
        import hpo_tui

        assert Path(hpo_tui.__file__).resolve().is_relative_to(root), hpo_tui.__file__
    if "--write-store" in sys.argv:
        home, name, jobs = sys.argv[sys.argv.index("--write-store") + 1:][:3]
        write_store(Path(home), name, int(jobs))
        return 0
    count = int(sys.argv[sys.argv.index("--scale-worker") + 1])
    print(json.dumps(asyncio.run(deferred_work(count))))
    return 0


def checkout_of(rev: str, into: Path) -> Path:
    """A directory holding hpo_tui as of `rev` (a git revision, or a directory already)."""
    if Path(rev).is_dir():
        return Path(rev).resolve()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "hpo_tui"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    compile_bytecode(into)
    return into


def deferred_side_by_side(checkouts: dict[str, Path | None], counts: tuple[int, ...],
                          rounds: int) -> dict[tuple[str, int], list[tuple[float, ...]]]:
    """deferred_work of every checkout at every count, each in a fresh process, interleaved
    (A B A B ... within each round, so a change in the machine's load hits them alike)."""
    import json

    results: dict[tuple[str, int], list[tuple[float, ...]]] = {}
    for _ in range(rounds):
        for count in counts:
            for label, root in checkouts.items():
                argv = [sys.executable, str(Path(__file__).resolve()), "--scale-worker", str(count)]
                if root is not None:
                    argv += ["--root", str(root)]
                out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=900).stdout
                results.setdefault((label, count), []).append(tuple(json.loads(out.splitlines()[-1])))
    return results


def scale_main() -> int:
    """Issue 16's figures: all in one run, ratios against the 500-job figure of this run.

    `--against REV` (a git revision or a checkout's directory) measures the same figures on
    that hpo_tui too, interleaved with this one's, and prints the ratios (this / REV);
    `--rounds N` (default 3) measurements of each, medians printed."""
    print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores)")
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 3
    with tempfile.TemporaryDirectory(prefix="hpo-tui-against-") as other_dir:
        checkouts: dict[str, Path | None] = {"this": None}
        for index, arg in enumerate(sys.argv):
            if arg == "--against":
                rev = sys.argv[index + 1]
                (Path(other_dir) / rev).mkdir()
                checkouts[rev] = checkout_of(rev, Path(other_dir) / rev)
        counts = (500, 2000, 5000, 10000)
        results = deferred_side_by_side(checkouts, counts, rounds)
        medians = {key: tuple(statistics.median(run[i] for run in runs) for i in range(4))
                   for key, runs in results.items()}
        for label in checkouts:
            base = medians[(label, 500)]
            for count in counts:
                refresh, tick, prepare, process = medians[(label, count)]
                print(f"[{label}] {count:>6} jobs, 20 changed: refresh incl. deferred work {refresh * 1000:.1f} ms "
                      f"UI-thread CPU ({refresh / base[0]:.2f}x the 500-job figure), 1 s tick {tick * 1000:.1f} ms "
                      f"({tick / max(base[1], 1e-4):.2f}x); poll thread {prepare * 1000:.1f} ms per snapshot; "
                      f"whole process per refresh {process * 1000:.1f} ms (the charts' build thread too); "
                      f"median of {rounds}")
        for label in list(checkouts)[1:]:
            for count in counts:
                ours, theirs = medians[("this", count)], medians[(label, count)]
                print(f"this / {label} at {count:>6} jobs: refresh {ours[0] / theirs[0]:.2f}x, "
                      f"tick {ours[1] / max(theirs[1], 1e-4):.2f}x, whole process {ours[3] / theirs[3]:.2f}x")
        print(f"load average: {os.getloadavg()[0]:.2f}")
        with tempfile.TemporaryDirectory(prefix="hpo-tui-scale-") as home:
            env = dict(os.environ, TERM="xterm-256color", HPO_TUI_HOME=home)
            env.pop("TMUX", None)
            # Each checkout its own home: a store is read by the version that wrote it.
            homes = {label: Path(home) if root is None else Path(home) / "against" / label
                     for label, root in checkouts.items()}
            envs = {label: env if root is None else dict(env, PYTHONPATH=str(root), HPO_TUI_HOME=str(homes[label]))
                    for label, root in checkouts.items()}
            for jobs in (1000, 5000):
                name = f"scale{jobs}"
                start = time.perf_counter()
                write_store(Path(home), name, jobs)
                print(f"store of {jobs} x 50 x 3 written in {time.perf_counter() - start:.1f} s")
                for label, root in checkouts.items():
                    if root is not None:
                        homes[label].mkdir(parents=True, exist_ok=True)
                        subprocess.run([sys.executable, str(Path(__file__).resolve()), "--write-store",
                                        str(homes[label]), name, str(jobs), "--root", str(root)],
                                       env=envs[label], check=True, timeout=600)
                # A hyperparameter value ("adam") is on screen once the rows are. Three starts
                # (one start's wall time moves by +-0.2 s on this machine), interleaved; idle
                # over 30 s (10 s caught one or two polls).
                runs: dict[str, list[tuple[float, float, float]]] = {label: [] for label in checkouts}
                for _ in range(3):
                    for label in checkouts:
                        runs[label].append(attach_figures(envs[label], name, "adam", idle_seconds=30.0))
                for label, found in runs.items():
                    firsts = sorted(first for first, _, _ in found)
                    print(f"[{label}] attach {jobs} x 50 x 3 (finished): first frame with rows "
                          f"{statistics.median(firsts):.2f} s (median of 3: {', '.join(f'{f:.2f}' for f in firsts)}), "
                          f"RSS {max(r for _, r, _ in found):.0f} MiB, "
                          f"idle CPU {statistics.median(s for _, _, s in found) * 100:.2f}% of one core")
                for label in list(checkouts)[1:]:
                    ours = statistics.median(first for first, _, _ in runs["this"])
                    theirs = statistics.median(first for first, _, _ in runs[label])
                    print(f"this / {label}: attach {jobs} first frame {ours / theirs:.2f}x, RSS "
                          f"{max(r for _, r, _ in runs['this']) / max(r for _, r, _ in runs[label]):.2f}x")
                wall, peak = command_figures(env, [str(HPO_TUI), "status", name], runs=5)
                print(f"`status` at {jobs} jobs: {wall:.3f} s, peak RSS {peak:.0f} MiB")
                for fmt in ("csv", "json"):
                    out = Path(home) / f"export.{fmt}"
                    wall, peak = command_figures(env, [str(HPO_TUI), "export", name, "--format", fmt, "-o", str(out)])
                    print(f"`export --format {fmt}` at {jobs} jobs: {wall:.3f} s, peak RSS {peak:.0f} MiB, "
                          f"{out.stat().st_size / 1e6:.1f} MB written")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    if "--scale-worker" in sys.argv[1:] or "--write-store" in sys.argv[1:]:
        sys.exit(scale_worker())
    compile_bytecode()
    sys.exit(scale_main())
