"""Attach to a large finished tuning job in the real local store: rows first, then the curves
of the rows shown; a row selected far down loads its curve (issue 16)."""

from __future__ import annotations

import json
import time

from hpo_tui import paths
from hpo_tui.app.screens.dashboard import COL_CURVE, COL_OBJECTIVE
from hpo_tui.backends.local import LocalBackend
from hpo_tui.engine.store import Store
from tests.app.conftest import settle

TUNING = "lazy-curves"
METRIC = "Validation-accuracy"
JOBS = 400


def _record_finished_tuning_job() -> None:
    now = time.time()
    writer = Store.writer(paths.store_path())
    try:
        with writer.write():
            writer.insert("tuning_jobs", dict(
                name=TUNING, spec_json="{}", status="Completed", strategy="Random", objective_name=METRIC,
                objective_type="Maximize", max_jobs=JOBS,
                tuned_parameters=json.dumps(["learning_rate"]), created_at=now - 3600, ended_at=now - 10,
                folder=str(paths.jobs_dir() / TUNING)))
            for i in range(JOBS):
                name = f"{TUNING}-{i + 1:03d}"
                curve = [0.5 + 0.4 * (i / JOBS) + 0.01 * e for e in range(3)]
                writer.insert("training_jobs", dict(
                    name=name, tuning_job=TUNING, launch_index=i, status="Completed",
                    objective_status="Succeeded", hyperparameters=json.dumps({"learning_rate": f"0.{i:03d}"}),
                    final_objective=curve[-1], best_objective=curve[-1], last_epoch=2, created_at=now - 3000 + i,
                    started_at=now - 2999 + i, ended_at=now - 2900 + i, log_path=f"/nonexistent/{i}.log"))
                writer.add_points(TUNING, name, [(METRIC, e, now - 2950 + i + e, v) for e, v in enumerate(curve)]
                                  + [("Train-accuracy", e, now - 2950 + i + e, v) for e, v in enumerate(curve)])
    finally:
        writer.close()


async def test_curves_load_for_the_rows_shown_and_for_a_row_selected_far_down():
    from hpo_tui.app.app import make_app

    _record_finished_tuning_job()
    backend = LocalBackend()
    app = make_app(backend=backend, attach=TUNING, start="dashboard", interval=3600.0)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.screen
            table = screen.table

            async def wait_until(condition, what: str) -> None:
                deadline = time.monotonic() + 60
                while not condition():
                    assert time.monotonic() < deadline, f"timed out waiting for {what}"
                    await settle(pilot)

            await wait_until(lambda: table.row_count == JOBS, "the rows")
            order = table.rows_between(0, JOBS)
            best, worst = order[0], order[-1]
            assert best == f"{TUNING}-{JOBS:03d}"  # sorted best first
            await wait_until(lambda: table.get_cell(best, COL_CURVE).plain != "", "the top row's sparkline")

            # Only the objective of the rows on screen (and the charts' top jobs) was read.
            loaded = [name for name in order if screen.history.curve(name, METRIC)]
            assert best in loaded and worst not in loaded
            assert len(loaded) < JOBS // 2
            assert screen.history.metrics(best) == [METRIC]
            assert table.get_cell(worst, COL_CURVE).plain == ""

            await pilot.press("G")  # the last row: the worst job, selected
            await wait_until(lambda: table.get_cell(worst, COL_CURVE).plain != "", "the selected row's sparkline")
            assert table.selected_job() == worst
            assert [v for _, v in screen.history.curve(worst, METRIC)] == [0.5, 0.51, 0.52]
            legend = str(screen.query_one("#curves-legend").render())
            assert "001*" in legend  # the selected job's curve is in the chart
            assert table.get_cell(worst, COL_OBJECTIVE).plain == "0.5200"
    finally:
        backend.close()
