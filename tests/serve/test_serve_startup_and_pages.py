"""`hpo-tui serve` starting up and its pages: options after `serve attach NAME`, the real port
in the --allow-remote warning with --port 0, no console error while the page loads, and
compare in the browser."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from pathlib import Path

from tests.serve.browser import (WAIT_MS, chromium_browser, console_errors, expose_terminal, new_context, served,
                                 stop_server, wait_for_text)


def serve_until_bound(*args: str) -> tuple[str, list[str]]:
    """Run `hpo-tui ARGS` until it prints where it serves; return (that URL, every line so far)."""
    proc = subprocess.Popen([sys.executable, "-m", "hpo_tui.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []
    found = threading.Event()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "served at" in line:
                found.set()
        found.set()

    threading.Thread(target=pump, daemon=True).start()
    try:
        found.wait(timeout=WAIT_MS / 1000)
        url = next((m.group(1) for line in lines for m in [re.search(r"served at (\S+)", line)] if m), None)
        assert url is not None, "hpo-tui serve never said where it serves:\n" + "".join(lines)
        return url, list(lines)
    finally:
        stop_server(proc)


def test_serve_attach_name_takes_options_after_the_name(finished_job: str) -> None:
    # It said "give one tuning job name": the options after NAME were taken for names.
    url, lines = serve_until_bound("serve", "attach", finished_job, "--port", "0")
    port = int(re.search(r":(\d+)/", url).group(1))
    assert port != 0 and "give one tuning job name" not in "".join(lines)


def test_allow_remote_with_port_0_names_the_port_it_bound() -> None:
    # 127.1 is this machine (127.0.0.1) but not a spelling the loopback check accepts, so it
    # takes the --allow-remote path while binding loopback only.
    url, lines = serve_until_bound("serve", "--host", "127.1", "--allow-remote", "--port", "0")
    port = re.search(r":(\d+)/", url).group(1)
    warning = next(line for line in lines if line.startswith("WARNING: serving on 127.1"))
    assert f"port {port} " in warning and f"ssh -L {port}:127.0.0.1:{port} " in warning
    assert "port 0 " not in warning and "ssh -L 0:" not in warning


def test_the_page_loads_without_console_errors(chromium, tmp_path: Path) -> None:
    # The page focused the terminal on load, before the websocket was open: textual.js sent
    # its "focus" message on a connecting socket ("Still in CONNECTING state").
    with served("jobs") as (url, _server), chromium_browser() as launched:
        page = new_context(launched).new_page()
        errors = console_errors(page)
        expose_terminal(page)
        page.goto(url)
        wait_for_text(page, "Tuning jobs")
        # Keys still reach the app without a click: the focus comes once the socket is open.
        page.keyboard.press("?")
        wait_for_text(page, "Tuning jobs keys")
    assert errors == []


def test_compare_in_the_browser(chromium, tmp_path: Path) -> None:
    """Mark two tuning jobs on the served list, m: the comparison shows in the page, with no
    console error from the load on."""
    from tests.compare.jobs import parent_and_child

    parent, child = parent_and_child(tmp_path)
    with served("jobs") as (url, _server), chromium_browser() as launched:
        page = new_context(launched).new_page()
        errors = console_errors(page)
        expose_terminal(page)
        page.goto(url)
        wait_for_text(page, parent)
        wait_for_text(page, child)
        for key in ("g", " ", "j", " "):
            page.keyboard.press("Space" if key == " " else key)
        wait_for_text(page, f"● {parent}")  # the marks (the toast saying so lasts 3 s only)
        wait_for_text(page, f"● {child}")
        page.keyboard.press("m")
        wait_for_text(page, f"{child} warm-started from {parent}")
        wait_for_text(page, "best so far against finished jobs")
        wait_for_text(page, "best training job")
        page.screenshot(path=str(tmp_path / "served-compare.png"))
    assert errors == []
