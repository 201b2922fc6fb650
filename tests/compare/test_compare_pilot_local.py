"""Compare in the real app on the real local engine (fake trainer): space marks training jobs
on the dashboard and m overlays their curves for every metric with a hyperparameter diff; on
the tuning jobs list, space marks tuning jobs and m puts their bests and lineage side by side."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from hpo_tui.app.app import make_app
from hpo_tui.app.screens.compare import CompareScreen
from hpo_tui.backends.local import LocalBackend
from tests.compare.jobs import METRICS, compare_rows, parent_and_child, rows_and_points, until

@pytest.fixture
def pair(tmp_path: Path) -> tuple[str, str]:
    return parent_and_child(tmp_path)


async def test_dashboard_marks_two_training_jobs_and_compares_every_metric(pair) -> None:
    parent, _ = pair
    snap, points = rows_and_points(parent)
    app = make_app(attach=parent, start="dashboard", interval=3600.0)
    async with app.run_test(size=(140, 45)) as pilot:
        table = app.screen.query_one("#jobs-table", DataTable)
        await until(pilot, lambda: table.row_count == 3, "the three training jobs")
        await pilot.press("g", "space", "j", "space")
        marked = list(app.screen.table.marked)
        assert len(marked) == 2
        shown = [str(table.get_row(name)[0]) for name in marked]
        assert all(cell[0] in "●★" for cell in shown), shown
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.comparison is not None,
                    "the comparison")
        screen = app.screen
        plots = list(screen.query(PlotextPlot))
        assert len(plots) == len(METRICS)  # one chart per metric the spec defines
        rows = compare_rows(screen)
        for metric in METRICS:
            last = [max((p for p in points if p.job == job and p.metric == metric), key=lambda p: p.epoch).value
                    for job in marked]
            assert [float(v) for v in rows[f"last {metric}"][1:]] == pytest.approx(last, abs=1e-4)
        # learning_rate differs between the two random draws: marked ≠
        assert rows["learning_rate"][0] == "≠"
        hps = {j.name: j.hyperparameters for j in snap.training_jobs}
        assert [float(v) for v in rows["learning_rate"][1:]] == pytest.approx(
            [float(hps[j]["learning_rate"]) for j in marked], rel=1e-5)
        await pilot.press("escape")
        assert not isinstance(app.screen, CompareScreen)


async def test_jobs_list_marks_two_tuning_jobs_and_compares_bests_and_lineage(pair) -> None:
    parent, child = pair
    backend = LocalBackend()
    try:
        bests = {n: backend.poll(n).tuning_job for n in pair}
    finally:
        backend.close()
    app = make_app(start="jobs", interval=3600.0)
    async with app.run_test(size=(140, 45)) as pilot:
        table = app.screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count == 2, "the two tuning jobs")
        # The disk use of each local tuning job is a column.
        assert "disk" in [str(c.label) for c in table.columns.values()]
        await pilot.press("m")  # nothing marked yet: it says how
        await pilot.press("g", "space", "j", "space", "m")
        await until(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.comparison is not None,
                    "the comparison")
        screen = app.screen
        assert len(list(screen.query(PlotextPlot))) == 2  # against jobs, and against wall time
        summary = str(screen.query_one("#compare-summary", Static).render())
        assert f"{child} warm-started from {parent} (IdenticalDataAndAlgorithm)" in summary
        rows = compare_rows(screen)
        order = screen.names
        assert rows["best training job"][1:] == [bests[n].best_training_job for n in order]
        assert [float(v) for v in rows["best objective"][1:]] == pytest.approx(
            [bests[n].best_objective for n in order], abs=1e-4)
        assert rows["warm start from"][1:] == ["—" if n == parent else parent for n in order]


async def test_a_frame_drawn_right_after_the_table_fills_shows_whole_cells(pair) -> None:
    """The table's columns are as wide as their widest cell from its first frame on: left to
    DataTable's auto width (measured when the table is next idle), a frame drawn before then
    cut every cell to its header's width, and the browser once kept showing "best tra"."""
    from hpo_tui.app.screens.compare import Compared

    app = make_app(start="jobs", interval=3600.0)
    async with app.run_test(size=(140, 45)) as pilot:
        table = app.screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count == 2, "the two tuning jobs")
        await pilot.press("g", "space", "j", "space", "m")
        await until(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.comparison is not None,
                    "the comparison")
        screen = app.screen
        compared = screen.query_one("#compare-table", DataTable)
        await screen._compared(Compared(screen.comparison))  # drawn again; the table is not idle yet
        frame = [compared.render_line(y).text for y in range(compared.row_count + 1)]
        best_jobs = compare_rows(screen)["best training job"][1:]
        line = next((text for text in frame if "best tra" in text), "")
        assert "best training job" in line and all(name in line for name in best_jobs), frame
