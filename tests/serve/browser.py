"""Helpers for the browser tests and bench/serve_bench.py: a fake-trainer tuning job, an
`hpo-tui serve` subprocess on 127.0.0.1 at a free port, and headless Debian Chromium driven
by Playwright, with the served terminal's text readable from the page."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium tries to reach hosts this sandbox cannot.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
FAKE_TRAIN = Path(__file__).parents[1] / "engine" / "fake_train.py"
WAIT_MS = 120_000  # generous: the machine is shared and loaded; waits end on events, not on time


def chromium_binary() -> str | None:
    return CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")


def launch_fake_tuning_job(workdir: Path, max_jobs: int = 3, hyperparameters: dict | None = None,
                           wait: bool = True) -> str:
    """Launch a local tuning job of fake_train.py and return its name; with wait, once it ended."""
    from hpo_tui.spec import CategoricalParameter, Channels, ContinuousParameter, Estimator, TuningSpec

    for name in ("train", "test"):
        (workdir / "channels" / name).mkdir(parents=True, exist_ok=True)
    spec = TuningSpec(
        estimator=Estimator(entry_point=FAKE_TRAIN.name, source_dir=str(FAKE_TRAIN.parent),
                            hyperparameters={"num_epoch": 3, **(hyperparameters or {})}, base_job_name="served"),
        ranges={"learning_rate": ContinuousParameter(0.001, 0.5, "Logarithmic"),
                "optimizer": CategoricalParameter(["sgd", "Adam"])},
        strategy="Random", max_jobs=max_jobs, max_parallel_jobs=max_jobs, random_seed=7,
        channels=Channels(train=str(workdir / "channels" / "train"), test=str(workdir / "channels" / "test")),
    )
    from tests.compare.jobs import launch

    return launch(spec, wait=wait)


@contextmanager
def served(*args: str, env: dict[str, str] | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """Run `hpo-tui serve --port 0 ARGS`; yield (the URL it printed, the process)."""
    proc = subprocess.Popen([sys.executable, "-m", "hpo_tui.cli", "serve", "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    proc.output = seen  # type: ignore[attr-defined]  # everything the server printed, so far

    def follow() -> None:
        while True:
            line = lines.get()
            if line is None:
                return
            seen.append(line)

    try:
        while True:
            line = lines.get(timeout=WAIT_MS / 1000)
            if line is None:
                raise AssertionError("hpo-tui serve exited before serving:\n" + "".join(seen))
            seen.append(line)
            match = re.search(r"served at (http://127\.0\.0\.1:\d+/\S*)", line)
            if match:
                break
        threading.Thread(target=follow, daemon=True).start()
        yield match.group(1), proc
    finally:
        stop_server(proc)


def stop_server(proc: subprocess.Popen) -> None:
    """SIGTERM (the server then closes its tabs), SIGKILL to its group if it lingers."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def console_errors(page) -> list[str]:
    """The page's console errors and uncaught exceptions, as they come (a list filled by listeners)."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


@contextmanager
def chromium_browser():
    """Headless Debian Chromium (Playwright's own browser download is never used); each
    context gets a fresh, empty profile."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=chromium_binary(), headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def new_context(launched):
    return launched.new_context(accept_downloads=True, viewport={"width": 1400, "height": 900})


def wait_for_downloads(page, downloads: list, timeout: float = WAIT_MS) -> None:
    """Let Playwright deliver events until `downloads` (filled by a listener) is not empty."""
    waited = 0.0
    while not downloads and waited < timeout:
        page.wait_for_timeout(100)
        waited += 100


# textual.js keeps its xterm.js Terminal in a closure. The canvas renderer draws no text in
# the DOM, so the tests read the terminal's own buffer (what the canvas shows) through this
# one-line hook added to the script as it is served to the test browser.
_OPEN = "this.terminal.open(e),"
_HOOK = "this.terminal.open(e),window.__hpoTerminal=this.terminal,"


def expose_terminal(page) -> None:
    def patch(route) -> None:
        response = route.fetch()
        script = response.text()
        assert script.count(_OPEN) == 1, "textual.js changed: update the terminal hook in tests/serve/browser.py"
        route.fulfill(response=response, body=script.replace(_OPEN, _HOOK))

    page.route(re.compile(r".*/static/js/textual\.js.*"), patch)


SCREEN_TEXT_JS = """() => {
  const term = window.__hpoTerminal;
  if (!term) return "";
  const buffer = term.buffer.active, lines = [];
  for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i).translateToString(true));
  return lines.join("\\n");
}"""


def screen_text(page) -> str:
    return page.evaluate(SCREEN_TEXT_JS)


def wait_for_text(page, text: str, timeout: float = WAIT_MS) -> None:
    """Wait until the served terminal shows `text` (a substring of one of its lines); when it
    never does, fail with what the terminal showed instead, and its size."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(f"(text) => ({SCREEN_TEXT_JS})().includes(text)", arg=text, timeout=timeout)
    except PlaywrightTimeout:
        size = page.evaluate("() => { const t = window.__hpoTerminal; return t ? [t.cols, t.rows] : null; }")
        raise AssertionError(f"the served terminal (cols, rows = {size}) never showed {text!r}; "
                             f"it showed:\n{screen_text(page)}") from None


def wait_for_no_text(page, text: str, timeout: float = WAIT_MS) -> None:
    page.wait_for_function(f"(text) => !({SCREEN_TEXT_JS})().includes(text)", arg=text, timeout=timeout)
