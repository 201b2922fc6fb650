"""TUI figures: time to the first painted frame of `hpo-tui` (tmux), main-thread time to
apply a 500-job snapshot with 20 changed jobs, loading a 5,000-line log into the detail
view (against the old RichLog-per-line, side by side), idle CPU while watching a finished
job, and quit -> process exit with a poll blocked on a locked store (against an unlocked one).

`--startup` (issue 26): the first painted frame of the configure screen against two
yardsticks: a minimal Textual app (Header, Static, Footer), and the same form written in plain
Textual (bench/plain_form_app.py: the configure screen's widgets, kind by kind, with none of
hpo-tui's code; also without its 19 field rows); then the jobs screen and an attach;
interleaved, median of 5, with the ratios. Then where each first frame's time goes, phase by
phase (bench/startup_phases.py). `--startup --against DIR` adds the hpo-tui screens of
another checkout and of this one, both started with their tree on PYTHONPATH, in the same
rounds.

`--scale` (issue 16): the dashboard at 500-10,000 training jobs, in bench/tui_scale.py
(`--scale --against REV` puts another revision beside this one in the same run).

Prints the figures recorded in bench/RESULTS.md. Uses a temporary HPO_TUI_HOME; needs tmux.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HPO_TUI = Path(sys.executable).parent / "hpo-tui"
TMUX = shutil.which("tmux")
CLK_TCK = os.sysconf("SC_CLK_TCK")


class TmuxPane:
    def __init__(self, argv: list[str], env: dict[str, str], *, keep_dead: bool = False) -> None:
        self.socket = f"hpo-tui-bench-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.env = env
        self.run("new-session", "-d", "-x", "120", "-y", "40", "-s", "bench", *argv)
        if keep_dead:  # keep the pane after the command ends, to see when it did
            self.run("set-option", "-t", "bench", "remain-on-exit", "on")

    def keys(self, *keys: str) -> None:
        for key in keys:
            self.run("send-keys", "-t", "bench", key)

    def dead(self) -> bool:
        return self.run("list-panes", "-t", "bench", "-F", "#{pane_dead}").split()[0] == "1"

    def wait_for(self, marker: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while marker not in self.text():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{marker!r} did not show within {timeout:g} s:\n{self.text()}")
            time.sleep(0.05)

    def run(self, *args: str) -> str:
        return subprocess.run([TMUX, "-L", self.socket, *args], env=self.env, capture_output=True, text=True,
                              check=True, timeout=30).stdout

    def text(self) -> str:
        return self.run("capture-pane", "-p", "-t", "bench")

    def pid(self) -> int:
        return int(self.run("list-panes", "-t", "bench", "-F", "#{pane_pid}").split()[0])

    def kill(self) -> None:
        subprocess.run([TMUX, "-L", self.socket, "kill-server"], env=self.env, capture_output=True, timeout=30)


def first_frame(env: dict[str, str], argv: list[str], marker: str, runs: int = 7) -> list[tuple[float, float]]:
    """(wall seconds, CPU seconds of the app) from starting it in a fresh tmux pane until
    marker is on the pane. CPU time is the steadier figure on a shared machine."""
    results = []
    for _ in range(runs + 1):  # the first run warms the file cache
        start = time.perf_counter()
        pane = TmuxPane(argv, env)
        try:
            while marker not in pane.text():
                if time.perf_counter() - start > 30:
                    raise RuntimeError(f"{argv} did not paint {marker!r} within 30 s")
                time.sleep(0.005)
            wall = time.perf_counter() - start
            results.append((wall, cpu_seconds(pane.pid())))
        finally:
            pane.kill()
    return results[1:]


def side_by_side(env: dict[str, str], cases: list[tuple[str, list[str], str]],
                 rounds: int = 5) -> dict[str, list[tuple[float, float]]]:
    """First painted frames of several commands, interleaved round by round (so a change
    in the machine's load hits them all alike): {label: [(wall, CPU), ...]}."""
    results: dict[str, list[tuple[float, float]]] = {label: [] for label, _, _ in cases}
    for _ in range(rounds):
        for label, argv, marker in cases:
            if label in results:
                try:
                    results[label] += first_frame(env, argv, marker, runs=1)
                except RuntimeError as exc:
                    # E.g. an older checkout (--against) that cannot read a store this one wrote:
                    # said, and left out of the rounds that follow.
                    print(f"{label}: {exc}")
                    del results[label]
    return results


def startup_main() -> int:
    """Issue 26: the configure screen's first frame against a minimal Textual app (Header,
    Static, Footer) and against the same form in plain Textual, median of 5 side by side in
    one run; the attach and jobs screens; then the phases of each first frame."""
    if TMUX is None:
        print("tmux is not installed: apt-get install tmux", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="hpo-tui-bench-") as home:
        os.environ["HPO_TUI_HOME"] = home
        env = dict(os.environ, TERM="xterm-256color")
        env.pop("TMUX", None)
        print(f"load average before: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
        name = finished_local_job(env)
        minimal = [sys.executable, str(ROOT / "bench" / "minimal_textual_app.py")]
        plain = [sys.executable, str(ROOT / "bench" / "plain_form_app.py")]
        cases = [("minimal Textual app", minimal, "Minimal Textual app"),
                 ("configure (hpo-tui)", [str(HPO_TUI)], "Hyperparameter ranges"),
                 ("the same form in plain Textual", plain, "Hyperparameter ranges"),
                 ("the plain form without its fields", plain + ["--no-fields"], "Hyperparameter ranges"),
                 ("jobs (hpo-tui jobs --tui)", [str(HPO_TUI), "jobs", "--tui"], "Tuning jobs"),
                 (f"attach (hpo-tui attach {name})", [str(HPO_TUI), "attach", name], "Completed")]
        if "--against" in sys.argv:
            # Another checkout of hpo-tui (e.g. main's) and this one, both started through
            # `env PYTHONPATH=...` (which costs every screen alike), in the same rounds.
            other = Path(sys.argv[sys.argv.index("--against") + 1]).resolve()
            compile_bytecode(other)
            ours = [case for case in cases if case[1][0] == str(HPO_TUI)]
            for tree in (other, ROOT):
                cases += [(f"{label} @ {tree.name}", ["env", f"PYTHONPATH={tree}", *argv], marker)
                          for label, argv, marker in ours]
        results = side_by_side(env, cases)
        medians = {label: statistics.median(w for w, _ in frames) for label, frames in results.items()}
        base = medians["minimal Textual app"]
        for label, frames in results.items():
            print(f"first painted frame, {label}: {describe(frames)}  ratio {medians[label] / base:.2f}x the minimal app")
        configure, form = medians["configure (hpo-tui)"], medians["the same form in plain Textual"]
        print(f"start-up ratio (configure / minimal, median of 5, side by side): {configure / base:.2f}  "
              f"target <= 1.5")
        print(f"the same form in plain Textual / minimal: {form / base:.2f}; "
              f"without its fields: {medians['the plain form without its fields'] / base:.2f}")
        print(f"configure / the same form in plain Textual: {configure / form:.2f}")
        startup_phases(env)
        print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


PHASES = ("textual", "app code", "compose", "mounted", "frame")
PHASE_NAMES = ("import textual", "app's own imports", "start to compose", "compose + mount", "to first frame")


def startup_phases(env: dict[str, str], rounds: int = 5) -> None:
    """Where each first frame's time goes (bench/startup_phases.py), interleaved, median of
    rounds, in ms from the script's start: what the ratios above are made of."""
    script = str(ROOT / "bench" / "startup_phases.py")
    apps = ("minimal", "plain", "configure")
    with tempfile.TemporaryDirectory(prefix="hpo-tui-phases-") as folder:
        out = Path(folder) / "phases.jsonl"
        done = 0  # rows written so far
        for _ in range(rounds + 1):  # the first round warms the file cache
            for app in apps:
                pane = TmuxPane([sys.executable, script, app, str(out)], env)
                try:
                    deadline = time.monotonic() + 30
                    while len(phase_rows(out)) == done:
                        if time.monotonic() > deadline:
                            raise RuntimeError(f"startup_phases.py {app} wrote nothing within 30 s:\n{pane.text()}")
                        time.sleep(0.01)
                finally:
                    pane.kill()
                done += 1
        rows = phase_rows(out)[len(apps):]
    print(f"\nwhere the first frame's time goes, ms (median of {rounds}, interleaved):")
    print(f"{'':34s}" + "".join(f"{name:>19s}" for name in PHASE_NAMES) + f"{'first frame':>14s}")
    labels = {"minimal": "minimal Textual app", "plain": "the same form in plain Textual",
              "configure": "configure (hpo-tui)"}
    for app in apps:
        runs = [row for row in rows if row["app"] == app]
        steps = [statistics.median(run[phase] - (run[PHASES[i - 1]] if i else 0.0) for run in runs) * 1000
                 for i, phase in enumerate(PHASES)]
        total = statistics.median(run["frame"] for run in runs) * 1000
        print(f"{labels[app]:34s}" + "".join(f"{step:19.1f}" for step in steps) + f"{total:14.1f}")


def phase_rows(out: Path) -> list[dict]:
    """The rows bench/startup_phases.py appended to out, one per first frame."""
    return [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []


def describe(results: list[tuple[float, float]]) -> str:
    walls = [w for w, _ in results]
    cpus = [c for _, c in results]
    return (f"median {statistics.median(walls):.3f} s wall (min {min(walls):.3f}, max {max(walls):.3f}), "
            f"{statistics.median(cpus):.2f} s CPU")


def synthetic_snapshot(count: int, changed: int = 0, generation: int = 0):
    from hpo_tui.views import MetricPoint, Snapshot, StatusCounters, TrainingJobView, TuningJobView

    t0 = 1_764_000_000.0
    jobs, points = [], []
    for i in range(count):
        epochs = 3 + (generation if i < changed else 0)
        curve = [0.90 + 0.01 * e + (i % 17) * 0.001 for e in range(epochs)]
        name = f"bench-{i + 1:03d}-abcd"
        jobs.append(TrainingJobView(
            name=name, status="InProgress" if i < changed else "Completed",
            objective_status="Pending" if i < changed else "Succeeded",
            hyperparameters={"optimizer": "sgd" if i % 2 else "adam", "learning_rate": repr(0.01 + i * 0.0003),
                             "num_epoch": str(10 + i % 40)},
            final_objective=curve[-1], best_objective=max(curve), last_epoch=epochs - 1,
            created_at=t0 + i, started_at=t0 + i + 1, ended_at=None if i < changed else t0 + i + 90,
            launch_index=i))
        if generation == 0 or i < changed:
            points += [MetricPoint(name, "Validation-accuracy", e, t0 + i + 10 * e, v) for e, v in enumerate(curve)]
    best = max(jobs, key=lambda j: j.final_objective)
    view = TuningJobView(
        name="bench", backend="local", status="InProgress", strategy="Random", objective_name="Validation-accuracy",
        objective_type="Maximize", max_jobs=count, max_parallel_jobs=changed or 1,
        status_counters=StatusCounters(completed=count - changed, in_progress=changed),
        best_training_job=best.name, best_objective=best.final_objective, created_at=t0,
        tuned_parameters=("optimizer", "learning_rate", "num_epoch"), max_epochs=50)
    return Snapshot(view, tuple(jobs), tuple(points), cursor=generation, fetched_at=t0 + 1000)


class ScriptedBackend:
    """Serves one snapshot; the bench applies the others itself, timed, on the main thread."""

    name = "local"
    default_interval = 3600.0

    def __init__(self, snapshot) -> None:
        self.snapshot = snapshot

    def poll(self, name, cursor=None):
        return self.snapshot


async def apply_times(count: int = 500, changed: int = 20, rounds: int = 15) -> list[float]:
    from hpo_tui.app.app import make_app

    first = synthetic_snapshot(count)
    app = make_app(backend=ScriptedBackend(first), attach="bench", start="dashboard", interval=3600.0,
                   clock=lambda: 1_764_000_000.0 + 2000)
    times = []
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        screen = app.screen
        assert screen.query_one("#jobs-table").row_count == count
        for generation in range(1, rounds + 1):
            snap = synthetic_snapshot(count, changed, generation)
            snap = replace(snap, training_jobs=tuple(
                replace(j, final_objective=j.final_objective + generation * 1e-4) if j.launch_index < changed else j
                for j in snap.training_jobs))
            start = time.perf_counter()
            screen.apply_snapshot(snap)
            times.append(time.perf_counter() - start)
            await pilot.pause(0.05)  # let it paint between polls, as a real poll would
    return times


def synthetic_log(lines: int) -> list[str]:
    """A training log as MXNet writes it: batch speed lines, epoch metrics, some colour codes."""
    out = []
    for i in range(lines):
        epoch, batch = divmod(i, 100)
        if batch == 99:
            out.append(f"INFO:root:Epoch[{epoch}] Validation-accuracy={0.9 + epoch * 1e-4:.6f}")
        else:
            out.append(f"\x1b[2mINFO:root:Epoch[{epoch}] Batch [{batch * 100}]\tSpeed: {9000 + i % 977:.2f} "
                       f"samples/sec\taccuracy={0.9 + (i % 89) / 1000:.6f}\x1b[0m")
    return out


async def log_load_times(lines: int = 5000, rounds: int = 5) -> tuple[list[float], list[float]]:
    """Seconds from a 5,000-line log chunk arriving in the detail view to the next painted
    frame, and the same lines written one at a time into the RichLog the view used before."""
    from rich.text import Text
    from textual.app import App
    from textual.widgets import RichLog

    from hpo_tui.app import format as fmt
    from hpo_tui.app.app import make_app
    from hpo_tui.app.messages import DetailPolled
    from hpo_tui.app.screens.detail import DetailScreen
    from hpo_tui.views import LogChunk

    log = synthetic_log(lines)
    snap = synthetic_snapshot(9)
    new_times = []
    for _ in range(rounds):
        app = make_app(backend=ScriptedBackend(snap), attach="bench", start="dashboard", interval=3600.0,
                       clock=lambda: 1_764_000_000.0 + 2000)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(0.2)
            await app.workers.wait_for_complete()
            await app.push_screen(DetailScreen("bench", snap.training_jobs[0].name, snapshot=snap))
            await pilot.pause(0.2)
            await app.workers.wait_for_complete()
            screen = app.screen
            start = time.perf_counter()
            screen._polled(DetailPolled(None, LogChunk(tuple(log), len(log)), 3600.0))
            await pilot.pause()  # the next frame, with the log's last lines on screen
            new_times.append(time.perf_counter() - start)
            assert screen.query_one("#detail-log").line_count == lines

    class OldLog(App[None]):
        def compose(self):
            yield RichLog(max_lines=lines, markup=False, highlight=False, wrap=True)

    old_times = []
    for _ in range(rounds):
        old = OldLog()
        async with old.run_test(size=(120, 40)) as pilot:
            await pilot.pause(0.1)
            widget = old.query_one(RichLog)
            start = time.perf_counter()
            for line in log:
                widget.write(Text(fmt.strip_escapes(line)))
            await pilot.pause()
            old_times.append(time.perf_counter() - start)
    return new_times, old_times


def finished_local_job(env: dict[str, str]) -> str:
    """Run one tiny real tuning job to the end on the local backend; return its name."""
    from hpo_tui.backends.local import LocalBackend
    from hpo_tui.data import prepare_mnist
    from hpo_tui.spec import CategoricalParameter, ContinuousParameter, TuningSpec

    channels = prepare_mnist(Path(env["HPO_TUI_HOME"]) / "mnist-bench")
    spec = TuningSpec()
    spec.ranges = {"optimizer": CategoricalParameter(["sgd"]), "learning_rate": ContinuousParameter(0.05, 0.2)}
    spec.estimator.hyperparameters = {"batch_size": 100, "num_epoch": 1, "max_train_samples": 3000}
    spec.max_jobs, spec.max_parallel_jobs, spec.strategy = 2, 2, "Random"
    spec.channels.train, spec.channels.test = str(channels / "train"), str(channels / "test")
    backend = LocalBackend()
    try:
        name = backend.launch(spec)
        deadline = time.monotonic() + 300
        while not backend.poll(name).tuning_job.is_terminal:
            if time.monotonic() > deadline:
                raise RuntimeError("the bench tuning job did not finish within 300 s")
            time.sleep(0.5)
        return name
    finally:
        backend.close()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def idle_cpu(env: dict[str, str], name: str, seconds: float = 10.0) -> float:
    """Share of one core `hpo-tui attach NAME` uses while showing a finished tuning job."""
    pane = TmuxPane([str(HPO_TUI), "attach", name], env)
    try:
        deadline = time.monotonic() + 60
        while "finished" not in pane.text():
            if time.monotonic() > deadline:
                raise RuntimeError(f"the dashboard did not show {name}:\n{pane.text()}")
            time.sleep(0.2)
        time.sleep(3.0)  # past the first paint and chart drawing
        pid = pane.pid()
        before, start = cpu_seconds(pid), time.monotonic()
        time.sleep(seconds)
        return (cpu_seconds(pid) - before) / (time.monotonic() - start)
    finally:
        pane.kill()


def quit_to_exit(env: dict[str, str], name: str, *, locked: bool, runs: int = 5) -> list[float]:
    """Seconds from the last quitting key to the process exit of `hpo-tui attach NAME` (a
    finished job). locked: an exclusive lock on the store, taken before the app starts (a
    reader already connected would keep it from being taken), and a poll in flight at q."""
    import sqlite3

    from hpo_tui import paths

    results = []
    for _ in range(runs):
        locker = None
        if locked:
            locker = sqlite3.connect(paths.store_path(), isolation_level=None, timeout=5)
            locker.execute("PRAGMA locking_mode = EXCLUSIVE")
            locker.execute("BEGIN EXCLUSIVE")
        pane = TmuxPane([str(HPO_TUI), "attach", name], env, keep_dead=True)
        try:
            if locked:
                pane.wait_for("store is busy")
                pane.keys("r")  # a poll in flight as q arrives
                time.sleep(0.05)
                pane.keys("q")
                pane.wait_for("Quit hpo-tui?")  # nothing could be read: the status is unknown
                last_key = "Enter"
            else:
                pane.wait_for("Completed")
                last_key = "q"
            start = time.perf_counter()
            pane.keys(last_key)
            while not pane.dead():
                if time.perf_counter() - start > 60:
                    raise RuntimeError(f"hpo-tui did not exit within 60 s of {last_key}:\n{pane.text()}")
                time.sleep(0.01)
            results.append(time.perf_counter() - start)
        finally:
            pane.kill()
            if locker is not None:
                locker.close()
    return results


def compile_bytecode(root: Path = ROOT) -> None:
    """Write the bytecode of root's package first, as an install does: start-up figures are
    then those of an installed hpo-tui, not of a first run compiling every module (an
    environment with PYTHONDONTWRITEBYTECODE=1 never keeps it, ~50 ms more per start)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(root / "hpo_tui")], check=True)


def main() -> int:
    if {"-h", "--help"} & set(sys.argv[1:]):
        print(__doc__)
        return 0
    known = {"--scale", "--startup", "--against", "--rounds", "--scale-worker", "--root", "--write-store"}
    unknown = [a for a in sys.argv[1:] if a.startswith("-") and a not in known]
    if unknown:
        print(f"tui_bench.py: unknown option {unknown[0]}; see --help", file=sys.stderr)
        return 2
    compile_bytecode()
    if "--scale" in sys.argv[1:]:
        from tui_scale import scale_main  # bench/tui_scale.py

        return scale_main()
    if "--startup" in sys.argv[1:]:
        return startup_main()
    if TMUX is None:
        print("tmux is not installed: apt-get install tmux", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="hpo-tui-bench-") as home:
        os.environ["HPO_TUI_HOME"] = home
        env = dict(os.environ, TERM="xterm-256color")
        env.pop("TMUX", None)

        print(f"load average before: {os.getloadavg()[0]:.1f} (2 cores)")
        frames = first_frame(env, [str(HPO_TUI)], "Hyperparameter ranges")
        print(f"first painted frame of `hpo-tui` (configure screen, tmux, {len(frames)} runs): {describe(frames)}"
              "  target < 1.0 s")
        frames = first_frame(env, [str(HPO_TUI), "jobs", "--tui"], "Tuning jobs")
        print(f"first painted frame of `hpo-tui jobs --tui` (the app shell, tmux): {describe(frames)}")

        applies = asyncio.run(apply_times())
        print(f"apply a 500-job snapshot with 20 changed ({len(applies)} rounds): median "
              f"{statistics.median(applies) * 1000:.1f} ms (min {min(applies) * 1000:.1f}, "
              f"max {max(applies) * 1000:.1f})  target < 30 ms")

        new, old = asyncio.run(log_load_times())
        print(f"load a 5,000-line log into the detail view (Log.write_lines, to the next frame; "
              f"median of {len(new)}): {statistics.median(new) * 1000:.0f} ms (min {min(new) * 1000:.0f}, "
              f"max {max(new) * 1000:.0f})  target < 200 ms")
        print(f"  the old RichLog, one write per line, same lines, same run: {statistics.median(old) * 1000:.0f} ms"
              f"  ratio {statistics.median(old) / statistics.median(new):.1f}x")

        name = finished_local_job(env)
        share = idle_cpu(env, name)
        print(f"idle CPU watching finished tuning job {name} (10 s): {share * 100:.2f}% of one core  target < 3%")

        free = quit_to_exit(env, name, locked=False)
        blocked = quit_to_exit(env, name, locked=True)
        print(f"quit -> exit, store unlocked ({len(free)} runs): median {statistics.median(free):.3f} s "
              f"(min {min(free):.3f}, max {max(free):.3f})")
        print(f"quit -> exit, poll blocked on an exclusively locked store ({len(blocked)} runs): median "
              f"{statistics.median(blocked):.3f} s (min {min(blocked):.3f}, max {max(blocked):.3f}), "
              f"{statistics.median(blocked) / statistics.median(free):.2f}x the unlocked figure  target < 1 s")
        print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
