"""A large tuning job on the dashboard: a changed cell never makes the table measure a
whole column again, and columns still grow for wider values (issue 16)."""

from __future__ import annotations

import time
from dataclasses import replace

from hpo_tui.app.screens.dashboard import COL_DURATION, COL_OBJECTIVE
from tests.app.conftest import dashboard_app, settle
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
