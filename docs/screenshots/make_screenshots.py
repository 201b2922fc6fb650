"""Regenerate the README screenshots from a real local run (real MXNet jobs, tiny spec).

.venv/bin/python docs/screenshots/make_screenshots.py   (uses a temporary HPO_TUI_HOME)
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
SIZE = (120, 40)


async def shoot() -> None:
    from textual.widgets import DataTable

    from hpo_tui.app.app import make_app
    from hpo_tui.app.screens.dashboard import DashboardScreen
    from hpo_tui.app.screens.detail import DetailScreen
    from hpo_tui.backends.local import LocalBackend
    from hpo_tui.data import prepare_mnist
    from hpo_tui.spec import CategoricalParameter, ContinuousParameter, IntegerParameter, TuningSpec

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.5)
        app.save_screenshot("configure.svg", path=str(HERE))

    channels = prepare_mnist(Path(os.environ["HPO_TUI_HOME"]) / "mnist")
    spec = TuningSpec()
    spec.ranges = {
        "optimizer": CategoricalParameter(["sgd", "Adam"]),
        "learning_rate": ContinuousParameter(0.01, 0.2),
        "num_epoch": IntegerParameter(2, 4),
    }
    spec.estimator.hyperparameters = {"batch_size": 100, "max_train_samples": 5000}
    spec.max_jobs, spec.max_parallel_jobs = 6, 2
    spec.channels.train, spec.channels.test = str(channels / "train"), str(channels / "test")

    app = make_app(spec=spec, interval=1.0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.5)
        await pilot.click("#launch")
        while not isinstance(app.screen, DashboardScreen):
            await pilot.pause(0.2)
        dashboard = app.screen
        while dashboard.snapshot is None or not dashboard.snapshot.tuning_job.is_terminal:
            await pilot.pause(0.5)
        await pilot.pause(2.0)
        app.save_screenshot("dashboard.svg", path=str(HERE))
        table = dashboard.query_one("#jobs-table", DataTable)
        table.move_cursor(row=0)
        await pilot.press("enter")
        while not isinstance(app.screen, DetailScreen) or app.screen.log_lines == 0:
            await pilot.pause(0.2)
        await pilot.pause(1.0)
        app.save_screenshot("detail.svg", path=str(HERE))
        LocalBackend().stop(dashboard.tuning_job)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="hpo-tui-shots-") as home:
        os.environ["HPO_TUI_HOME"] = home
        asyncio.run(shoot())
    for name in ("configure.svg", "dashboard.svg", "detail.svg"):
        print(HERE / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
