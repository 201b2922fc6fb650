"""The dashboard shows a stalled training job (issue 25): its row is marked, the reason
column says how long it has been silent and whether it is stopped, the detail view says so
too, and the header names the machine slots in use. Real app, real local backend, with
the fake trainer."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from textual.widgets import DataTable, Static

from hpo_tui.app.app import make_app
from hpo_tui.app.screens.detail import DetailScreen
from hpo_tui.backends.local import LocalBackend
from hpo_tui.spec import CategoricalParameter, Channels, Estimator, LocalSettings, TuningSpec
from tests.app.conftest import wait_until

FAKE_TRAIN = Path(__file__).parents[1] / "engine" / "fake_train.py"


async def test_a_stalled_job_is_marked_in_the_table_the_detail_and_the_header(tmp_path):
    for name in ("train", "test"):
        (tmp_path / name).mkdir()
    spec = TuningSpec(
        estimator=Estimator(entry_point=FAKE_TRAIN.name, source_dir=str(FAKE_TRAIN.parent),
                            hyperparameters={"num_epoch": 1, "hang": 1}, base_job_name="stall"),
        ranges={"optimizer": CategoricalParameter(["sgd", "Adam"])}, strategy="Random", max_jobs=1,
        max_parallel_jobs=1, random_seed=1, local=LocalSettings(concurrency=1, stall_seconds=1),
        channels=Channels(train=str(tmp_path / "train"), test=str(tmp_path / "test")),
    )
    backend = LocalBackend()
    name = backend.launch(spec)
    job = f"{name}-001"
    app = make_app(attach=name, start="dashboard", interval=0.3)
    try:
        async with app.run_test(size=(140, 40)) as pilot:
            dashboard = app.screen
            table = dashboard.query_one("#jobs-table", DataTable)

            def cell(column: str) -> str:
                return table.get_cell(job, column).plain if job in [r.key.value for r in table.ordered_rows] else ""

            await wait_until(pilot, lambda: "⚠" in cell(":status"), "the row to be marked stalled")
            assert cell(":status").startswith("InProgress") and "silent" in cell(":reason")
            counters = str(dashboard.query_one("#dash-counters", Static).render())
            assert "machine slots 1 of 1 in use: this job 1" in counters

            pid = backend._training_row(job)["pid"]
            os.kill(pid, signal.SIGSTOP)
            try:
                table.move_cursor(row=table.get_row_index(job))
                await pilot.press("enter")
                await wait_until(pilot, lambda: isinstance(app.screen, DetailScreen), "the detail screen")
                info = app.screen.query_one("#detail-info", Static)
                await wait_until(pilot, lambda: "stopped (state T)" in str(info.render()), "state T in the detail")
                assert "stalled: silent" in str(info.render()) and "kill -CONT" in str(info.render())
            finally:
                os.kill(pid, signal.SIGCONT)
            await pilot.press("escape")
    finally:
        backend.stop(name)
        backend.close()
