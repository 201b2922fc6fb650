"""A large tuning job on the dashboard (issue 16): a changed cell never makes the table
measure a whole column again, columns still grow for wider values, a poll re-renders and
re-sorts only what changed, and what is drawn is what Textual's DataTable would draw."""

from __future__ import annotations

import functools
import math
import random
import time
from dataclasses import replace

from textual.geometry import Region
from textual.renderables.styled import Styled
from textual.widgets import DataTable

from hpo_tui.app.screens.dashboard import COL_CURVE, COL_DURATION, COL_OBJECTIVE
from tests.app.conftest import dashboard_app, row_order, settle
from tests.app.fake_backend import NOW, T0, FakeBackend, ScriptedJob, snapshot_of


def _many_jobs(count: int, running: int) -> list[ScriptedJob]:
    jobs = []
    for i in range(count):
        done = i >= running
        accuracy = [0.90 + 0.0001 * (i % 97), 0.93 + 0.0001 * (i % 89)]
        jobs.append(ScriptedJob(i, "Completed" if done else "InProgress",
                                {"optimizer": "sgd" if i % 2 else "Adam", "learning_rate": f"0.{i % 9 + 1}",
                                 "num_epoch": "4"},
                                accuracy, start=float(i % 50), duration=40.0 if done else None))
    return jobs


class ColumnMeasures:
    """Counts whole-column reads (DataTable.get_column: what Textual's width re-measure walks)."""

    def __init__(self, table) -> None:
        self.calls = 0
        get_column = table.get_column

        def counting(column_key):
            self.calls += 1
            return get_column(column_key)

        table.get_column = counting


async def test_changed_cells_never_remeasure_a_column_and_wider_values_still_fit():
    jobs = _many_jobs(300, running=20)
    first = snapshot_of(jobs)
    # 20 running jobs report a new epoch: a new objective (narrower than the column's
    # "objective" header, which is what made Textual re-measure the whole column).
    later = [replace(j, accuracy=j.accuracy + [0.95 + 0.0001 * j.index]) if j.status == "InProgress" else j
             for j in jobs]
    backend = FakeBackend([first, snapshot_of(later)], jobs=jobs)
    # A clock that moves: the running jobs' durations grow from seconds to hours.
    clock = {"now": NOW}
    app = dashboard_app(backend)
    app.clock = lambda: clock["now"]
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.table
        deadline = time.monotonic() + 60
        while table.row_count < 300:  # a large first load adds its rows a chunk at a time
            assert time.monotonic() < deadline, table.row_count
            await settle(pilot)
        objective_width = table.columns[COL_OBJECTIVE].content_width
        measures = ColumnMeasures(table)

        backend.frame = 1
        await pilot.press("r")
        await settle(pilot)
        running = [j for j in later if j.status == "InProgress"]
        shown = {j.name: table.get_cell(j.name, COL_OBJECTIVE).plain for j in running}
        assert shown == {j.name: f"{j.accuracy[-1]:.4f}" for j in running}
        assert measures.calls == 0, f"{measures.calls} whole-column measures for 20 changed cells"
        assert table.columns[COL_OBJECTIVE].content_width == objective_width

        # Two hours on: the duration cells of the running jobs are wider than before, and
        # the column grows to show them whole (without measuring the other 280 rows).
        before = table.columns[COL_DURATION].content_width
        clock["now"] = T0 + 2 * 3600 + 5 * 60
        app.screen._tick_clock()
        await settle(pilot)
        durations = {table.get_cell(j.name, COL_DURATION).plain for j in running}
        assert all(d.startswith("2h") for d in durations), durations
        width = max(len(d) for d in durations)
        assert table.columns[COL_DURATION].content_width >= max(width, before)
        assert measures.calls == 0


def _moved(jobs: list[ScriptedJob], rng, count: int) -> list[ScriptedJob]:
    """`count` random jobs report a new epoch: values with ties, NaN and none at all."""
    out = list(jobs)
    for i in rng.sample(range(len(jobs)), count):
        value = rng.choice([0.91, 0.93, 0.95, round(rng.uniform(0.85, 0.99), 4), math.nan, None])
        out[i] = replace(out[i], accuracy=[] if value is None else out[i].accuracy + [value])
    return out


def _nudged(jobs: list[ScriptedJob], rng, count: int) -> list[ScriptedJob]:
    """`count` random jobs with a value report a new epoch that keeps their value (the row
    changes, its place does not) or takes the value of the row above or below (a tie: the
    launch order decides whether it moves)."""
    by_name = {j.name: j for j in jobs}
    order = [by_name[name] for name in _expected_order(jobs, lambda j: -j.view().final_objective)
             if not math.isnan(by_name[name].view().final_objective or math.nan)]
    out = list(jobs)
    for place in rng.sample(range(1, len(order) - 1), count):
        job = order[place]
        value = rng.choice([job.view().final_objective, order[place - 1].view().final_objective,
                            order[place + 1].view().final_objective])
        out[job.index] = replace(out[job.index], accuracy=out[job.index].accuracy + [value])
    return out


def _expected_order(jobs: list[ScriptedJob], key) -> list[str]:
    """The table's documented order, computed here from scratch: values first (by `key`),
    ties in launch order, jobs without a value (or NaN) last in launch order."""
    def missing(job):
        value = job.view().final_objective
        return value is None or math.isnan(value)

    present = sorted((j for j in jobs if not missing(j)), key=lambda j: (key(j), j.index))
    return [j.name for j in present] + [j.name for j in sorted(jobs, key=lambda j: j.index) if missing(j)]


async def test_live_polls_keep_every_row_in_sorted_order_while_only_the_changed_rows_move():
    """Each poll re-inserts the changed rows only; after each of 12 polls of random changes
    (ties, NaN, values gone; values kept, or tied with a neighbour) the order is the one a
    full sort gives, best first, and the cursor stays on its job."""
    rng = random.Random(16)
    jobs = _many_jobs(240, running=0)
    frames = [jobs]
    for _ in range(6):
        frames.append(_moved(frames[-1], rng, 9))
        frames.append(_nudged(frames[-1], rng, 9))
    backend = FakeBackend([snapshot_of(f) for f in frames], jobs=jobs)
    app = dashboard_app(backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.table
        while table.row_count < len(jobs):
            await settle(pilot)
        assert row_order(table) == _expected_order(jobs, lambda j: -j.view().final_objective)
        watched = jobs[37].name
        table.move_cursor(row=table.get_row_index(watched))
        for frame in range(1, len(frames)):
            backend.frame = frame
            await pilot.press("r")
            await settle(pilot)
            assert row_order(table) == _expected_order(frames[frame], lambda j: -j.view().final_objective), frame
            assert table.selected_job() == watched
        # Another column, reversed: words after numbers, each set in its own order.
        app.screen.sort_by("optimizer", reverse=True)
        await settle(pilot)
        names = row_order(table)
        assert [table.get_cell(n, "optimizer").plain for n in names[:1]] == ["sgd"]
        assert table.selected_job() == watched


def _in_order(frames: list) -> list:
    """Frames whose points arrive in order, as a backend sends them: each frame's new
    points come after every point already sent."""
    out, sent = [], ()
    for frame in frames:
        sent = sent + tuple(p for p in frame.new_points if p not in set(sent))
        out.append(replace(frame, new_points=sent))
    return out


def _screen_lines(table) -> list:
    return table.render_lines(Region(0, 0, table.size.width, table.size.height))


async def test_a_changed_job_renders_only_its_changed_cells_and_every_line_matches_datatable():
    """After a poll where one job changed, rich renders that job's changed cells and no
    other; after rows moved (a new best on top), every line on screen is exactly what
    Textual's own DataTable renders for the same data (text, colours and the row and
    column a click reads)."""
    jobs = _many_jobs(120, running=3)
    # The top job reports its third epoch with the same value: its epoch and sparkline
    # change, its objective and place do not.
    top = max(jobs, key=lambda j: (j.accuracy[-1], -j.index))
    one = [replace(j, accuracy=j.accuracy + j.accuracy[-1:]) if j is top else j for j in jobs]
    best = [replace(j, accuracy=j.accuracy + [0.999]) if j.index == 2 else j for j in one]
    backend = FakeBackend(_in_order([snapshot_of(jobs), snapshot_of(one), snapshot_of(best)]), jobs=jobs)
    app = dashboard_app(backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.table
        console = app.console
        render_lines = console.render_lines
        rendered: list[str] = []

        def counting(renderable, *args, **kwargs):
            if isinstance(renderable, Styled):  # a cell: Styled(Padding(cell)), as DataTable draws it
                rendered.append(renderable.renderable.renderable.plain)
            return render_lines(renderable, *args, **kwargs)

        console.render_lines = counting
        backend.frame = 1
        await pilot.press("r")
        await settle(pilot)
        console.render_lines = render_lines
        # Its epoch and sparkline: not the 38 rows on screen (500 cells).
        assert row_order(table)[0] == top.name
        assert sorted(rendered) == sorted(["3/4", table.get_cell(top.name, COL_CURVE).plain]), rendered

        backend.frame = 2
        await pilot.press("r")
        await settle(pilot)
        assert row_order(table)[0] == jobs[2].name  # moved to the top: every row below shifted
        ours = _screen_lines(table)
        table._render_cell = functools.partial(DataTable._render_cell, table)  # Textual's own
        table._clear_caches()
        table._styles_cache.clear()
        theirs = _screen_lines(table)
        assert len(ours) == len(theirs) == table.size.height
        for y, (a, b) in enumerate(zip(ours, theirs)):
            assert list(a) == list(b), f"line {y}: {a.text!r} vs {b.text!r}"


async def test_a_click_after_rows_moved_selects_the_row_under_the_pointer():
    jobs = _many_jobs(60, running=3)
    best = [replace(j, accuracy=j.accuracy + [0.999]) if j.index == 2 else j for j in jobs]
    backend = FakeBackend([snapshot_of(jobs), snapshot_of(best)], jobs=jobs)
    app = dashboard_app(backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.table
        backend.frame = 1
        await pilot.press("r")
        await settle(pilot)
        order = row_order(table)
        assert order[0] == jobs[2].name
        for row in (0, 1, 5):
            await pilot.click("#jobs-table", offset=(4, 1 + row))  # line 0 is the header
            await settle(pilot)
            assert table.selected_job() == order[row], row
