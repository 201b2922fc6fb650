"""`hpo-tui serve` in a real headless Chromium: the served dashboard of a fake-trainer tuning
job takes keys, downloads its export, opens the palette, ends on q, and needs its token."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path


from tests.serve.browser import (WAIT_MS, chromium_browser, expose_terminal, new_context, served,
                                 wait_for_downloads, wait_for_no_text, wait_for_text)

ROOT = Path(__file__).parents[2]
SCREENSHOT = ROOT / "docs" / "screenshots" / "served-dashboard.png"


def cli_export_rows(name: str) -> list[dict[str, str]]:
    out = subprocess.run([sys.executable, "-m", "hpo_tui.cli", "export", name, "--format", "csv"],
                         capture_output=True, text=True, check=True, timeout=120)
    return list(csv.DictReader(io.StringIO(out.stdout)))


def test_served_dashboard_in_chromium(chromium, finished_job: str, tmp_path: Path) -> None:
    name = finished_job
    with served("attach", name) as (url, _server), chromium_browser() as launched:
        context = new_context(launched)
        downloads = []
        # The export opens its download URL in a new tab, as textual.js does.
        context.on("page", lambda page: page.on("download", lambda d: downloads.append(d)))
        page = context.new_page()
        page.on("download", lambda d: downloads.append(d))
        expose_terminal(page)
        response = page.goto(url)
        assert response is not None and response.status == 200
        assert page.title() == f"hpo-tui attach {name}"

        # The terminal canvas appears and shows the dashboard of the tuning job.
        page.wait_for_selector("canvas.xterm-text-layer", timeout=WAIT_MS)
        wait_for_text(page, name)
        wait_for_text(page, "3 completed")
        wait_for_text(page, "★")
        shot = page.screenshot(path=str(tmp_path / "served-dashboard.png"))
        assert shot[:8] == b"\x89PNG\r\n\x1a\n"
        if os.environ.get("HPO_TUI_WRITE_SCREENSHOTS"):
            shutil.copyfile(tmp_path / "served-dashboard.png", SCREENSHOT)

        # Keys typed in the page reach the app: ? opens the help.
        page.keyboard.press("?")
        wait_for_text(page, "Dashboard keys")
        page.keyboard.press("Escape")
        wait_for_no_text(page, "Dashboard keys")

        # ctrl+p opens the command palette: the browser does not eat it (no print dialog).
        page.keyboard.press("Control+p")
        wait_for_text(page, "Search for commands")
        page.keyboard.press("Escape")
        wait_for_no_text(page, "Search for commands")

        # e, then enter in the file name field: the browser downloads the CSV.
        page.keyboard.press("e")
        wait_for_text(page, "your browser downloads it")
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        wait_for_text(page, "sent to your browser")
        wait_for_downloads(page, downloads)
        assert downloads, "the export did not start a download in the browser"
        download = downloads[0]
        assert download.suggested_filename == f"{name}.csv"
        browser_rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
        assert len(browser_rows) == 3
        assert browser_rows == cli_export_rows(name)
        assert not (Path.cwd() / f"{name}.csv").exists()  # served: nothing written on the server

        # q ends the session (the tuning job has finished: no question), and the page says so.
        page.keyboard.press("q")
        page.wait_for_selector("body.-closed", timeout=WAIT_MS)
        ended = page.locator("#session-ended")
        ended.wait_for(state="visible", timeout=WAIT_MS)
        assert "Session ended" in ended.inner_text()

        # Without the token, another browser profile gets neither the page nor a websocket.
        anonymous = new_context(launched).new_page()
        base = url.split("?")[0]
        response = anonymous.goto(base)
        assert response is not None and response.status == 403
        assert "Forbidden" in anonymous.locator("h1").inner_text()
        socket_result = anonymous.evaluate("""(url) => new Promise(resolve => {
            const socket = new WebSocket(url);
            socket.onopen = () => resolve("open");
            socket.onerror = () => resolve("refused");
        })""", base.replace("http://", "ws://") + "ws?width=80&height=24")
        assert socket_result == "refused"


def test_tab_cap_shows_a_clear_page(chromium, finished_job: str, tmp_path: Path) -> None:
    with served("--max-tabs", "1", "attach", finished_job) as (url, _server), chromium_browser() as launched:
        context = new_context(launched)
        first = context.new_page()
        expose_terminal(first)
        first.goto(url)
        wait_for_text(first, finished_job)
        second = context.new_page()
        response = second.goto(url)
        assert response is not None and response.status == 503
        assert "Too many tabs" in second.locator("h1").inner_text()
        assert "--max-tabs 1" in second.locator("#message").inner_text()
        # Closing the first tab frees its slot: a reload of the second one serves the app.
        first.close()
        expose_terminal(second)
        for _ in range(600):
            response = second.reload()
            if response is not None and response.status == 200:
                break
            second.wait_for_timeout(200)
        assert response is not None and response.status == 200
        wait_for_text(second, finished_job)
