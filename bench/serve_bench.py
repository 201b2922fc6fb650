"""First frame of `hpo-tui serve` in headless Chromium: from navigation until the terminal
canvas shows the tuning job's name, on the dashboard of a finished fake-trainer tuning job.
Median of 5 fresh tabs (each starts its own app process), after one warm-up. Side by side,
in the same run: the app process alone (its served driver on a pipe, no server, no
browser) until its output holds the job name, to see what the browser and server add.

.venv/bin/python bench/serve_bench.py   (needs Debian's chromium; uses a temporary HPO_TUI_HOME)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
RUNS = 5


def app_alone_first_frame(name: str) -> float:
    """Seconds from starting `hpo-tui attach NAME` with the served driver until its stdout
    (textual-serve's protocol) carries the job name."""
    env = dict(os.environ, TEXTUAL_DRIVER="hpo_tui.app.served:ServedDriver", COLUMNS="170", ROWS="44")
    start = time.perf_counter()
    app = subprocess.Popen([sys.executable, "-m", "hpo_tui.cli", "attach", name], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    assert app.stdout is not None and app.stdin is not None
    seen = b""
    while name.encode() not in seen:
        chunk = os.read(app.stdout.fileno(), 65536)
        if not chunk:
            raise SystemExit("the app exited before showing the job name")
        seen += chunk
    shown = time.perf_counter() - start
    quit_meta = b'{"type": "quit"}'
    app.stdin.write(b"M" + len(quit_meta).to_bytes(4, "big") + quit_meta)
    app.stdin.close()
    app.wait(timeout=120)
    return shown


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="hpo-serve-bench-"))
    os.environ["HPO_TUI_HOME"] = str(work / "home")
    from tests.serve.browser import (chromium_binary, chromium_browser, expose_terminal, new_context,
                                     launch_fake_tuning_job, served, wait_for_text)

    if chromium_binary() is None:
        print("skipped: no chromium binary (install Debian's chromium package)")
        return 0
    load = Path("/proc/loadavg").read_text().split()[:3]
    name = launch_fake_tuning_job(work)
    page_load, first_frame, alone = [], [], []
    with served("attach", name) as (url, _server), chromium_browser() as launched:
        for run in range(RUNS + 1):
            context = new_context(launched)
            page = context.new_page()
            expose_terminal(page)
            start = time.perf_counter()
            page.goto(url, wait_until="load")
            loaded = time.perf_counter()
            wait_for_text(page, name)
            shown = time.perf_counter()
            context.close()
            app_alone = app_alone_first_frame(name)
            if run:  # the first run warms the page cache and the interpreter's imports
                page_load.append(loaded - start)
                first_frame.append(shown - start)
                alone.append(app_alone)

    def fmt(values: list[float]) -> str:
        return f"{statistics.median(values):.2f} s (min {min(values):.2f}, max {max(values):.2f})"

    print(f"date {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, "
          f"load average {' '.join(load)} at the start, {' '.join(Path('/proc/loadavg').read_text().split()[:3])} "
          "at the end")
    print(f"page loaded (navigation -> load event), median of {RUNS}: {fmt(page_load)}")
    print(f"first frame (navigation -> canvas shows {name}), median of {RUNS}: {fmt(first_frame)}")
    print(f"the app process alone (start -> its output holds the name), median of {RUNS}: {fmt(alone)}")
    print(f"ratio browser first frame / app alone: {statistics.median(first_frame) / statistics.median(alone):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
