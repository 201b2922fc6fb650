"""Issue 12's smaller defects (part B): request preview width and highlighting, detail
wording and whole-epoch ticks, the launch toast, export folder, the log viewer."""

from __future__ import annotations

import os
import re

from textual.widgets import Log, Static, TextArea

from hpo_tui.app.app import make_app
from hpo_tui.views import LogChunk
from tests.app.conftest import dashboard_app, settle
from tests.app.fake_backend import NOW, FakeBackend, finished_jobs, snapshot_of


async def test_the_request_preview_is_wide_and_highlighted():
    from hpo_tui.app.screens.spec_dialogs import RequestPreview

    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        app.screen.query_one("#ranges-table").focus()
        await pilot.press("p")
        await pilot.pause(0.3)
        preview = app.screen
        assert isinstance(preview, RequestPreview)
        dialog = preview.query_one("#request-dialog")
        assert dialog.outer_size.width >= 0.95 * 160  # not .dialog's 70 columns
        area = preview.query_one("#request-json", TextArea)
        longest = max(len(line) for line in area.text.splitlines())
        gutter = area.gutter_width if hasattr(area, "gutter_width") else 6
        assert area.scrollable_content_region.width >= longest + gutter  # no line cut at 160 columns
        assert area.language == "json"
        # Keys, strings and numbers in different colours.
        colours = {str(segment.style.color) for y in range(area.size.height)
                   for segment in area.render_line(y) if segment.text.strip() and segment.style}
        assert len(colours) >= 3


def _finished_app():
    jobs = finished_jobs()
    return dashboard_app(FakeBackend([snapshot_of(jobs, "Completed", ended=NOW - 60.0)], jobs=jobs))


async def test_detail_says_best_of_its_epochs_and_ticks_whole_epochs():
    app = _finished_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        info = str(app.screen.query_one("#detail-info", Static).render())
        assert "(best of its epochs: 0.9702)" in info and "best epoch" not in info
        plot = app.screen.query(".metric-chart").first()
        lines = [strip.text for strip in plot.render_lines(plot.region.reset_offset)]
        axis = next(i for i, line in enumerate(lines) if "└" in line)
        ticks = lines[axis + 1].split()
        assert ticks == [str(n) for n in range(1, 6)]  # epochs 1..5: the log's Epoch[0..4]
        assert "log Epoch[0] = 1" in lines[axis + 2]


async def test_the_launching_toast_is_gone_once_the_dashboard_opens(mid_run_backend):
    from hpo_tui.spec import TuningSpec

    app = make_app(backend=mid_run_backend, interval=3600.0, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.launch_tuning_job(TuningSpec())
        await settle(pilot)  # well within the toast's own 5 s timeout
        assert type(app.screen).__name__ == "DashboardScreen"
        assert not any("Launching" in n.message for n in app._notifications)


async def test_export_goes_to_the_exports_folder_and_says_where(mid_run_backend, hpo_home):
    app = dashboard_app(mid_run_backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await pilot.pause()
        suggested = app.screen.query_one("#export-path").value
        assert suggested.startswith(str(hpo_home / "exports"))
        app.screen.query_one("#export-path").value = "mine.json"
        await pilot.click("#format-json")
        await pilot.click("#export")
        await settle(pilot)
        written = hpo_home / "exports" / "mine.json"
        assert written.exists()
        assert any(str(written) in n.message for n in app._notifications)


class LongLogBackend(FakeBackend):
    """The scripted finished run, where job 8's log has `lines` lines (dimmed batch lines between)."""

    def __init__(self, lines: int) -> None:
        jobs = finished_jobs()
        super().__init__([snapshot_of(jobs, "Completed", ended=NOW - 60.0)], jobs=jobs)
        self.long_job = jobs[7].name
        base = jobs[7].log()
        filler = [f"\x1b[2mINFO:root:Batch [{i}] Speed: 1234 samples/sec\x1b[0m" for i in range(lines - len(base))]
        self.long_log = base[:1] + filler + base[1:]

    def log_tail(self, job: str, cursor=None) -> LogChunk:
        if job != self.long_job:
            return super().log_tail(job, cursor)
        return LogChunk(tuple(self.long_log[cursor or 0:]), len(self.long_log))


def _long_log_app(lines: int):
    backend = LongLogBackend(lines)
    return dashboard_app(backend), backend.long_job


async def test_the_log_viewer_searches_follows_and_strips_escapes():
    app, name = _long_log_app(5000)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#jobs-table")
        table.move_cursor(row=table.get_row_index(name))
        await pilot.press("enter")
        await settle(pilot)
        log = app.screen.query_one("#detail-log", Log)
        assert log.line_count == 5000 and not any("\x1b" in line for line in log.lines)
        assert log.auto_scroll and log.scroll_y == log.max_scroll_y  # following: the end is in view
        title = app.screen.query_one("#detail-log-title", Static)
        await pilot.press("slash", *"validation-accuracy")
        await settle(pilot)
        first = app.screen.match_line
        assert first is not None and "Validation-accuracy" in log.lines[first]
        assert "match 1 of 5" in str(title.render())
        assert not log.auto_scroll  # a search stops following
        assert log.scroll_y <= first < log.scroll_y + log.size.height
        await pilot.press("enter", "n")
        assert app.screen.match_line > first and "match 2 of 5" in str(title.render())
        await pilot.press("N", "N")
        assert "match 5 of 5" in str(title.render())  # wraps around, as less does
        await pilot.press("f")
        await settle(pilot)
        assert log.auto_scroll and "following" in str(title.render())


async def test_v_hands_the_log_to_the_pager_as_an_argv(monkeypatch, tmp_path):
    # Pilot's headless driver cannot lend the terminal: the file stays and the app says where.
    app, name = _long_log_app(50)
    monkeypatch.setenv("PAGER", "less -R")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#jobs-table")
        table.move_cursor(row=table.get_row_index(name))
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("v")
        await settle(pilot)
        message = next(n.message for n in app._notifications if "log is in" in n.message)
        path = re.search(r"log is in (\S+)", message).group(1)
        text = open(path, encoding="utf-8").read()
        assert text.count("\n") == 50 and "\x1b" not in text
        os.unlink(path)
    monkeypatch.setenv("PAGER", "no-such-pager-here")
    app, name = _long_log_app(10)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("v")
        await pilot.pause()
        assert any("No pager found (no-such-pager-here)" in n.message for n in app._notifications)
