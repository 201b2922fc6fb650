"""The jobs table's filter, statuses, sort and pause are reactive: setting one is enough for
the rows, the filter bar and the status bar to follow (nothing else to remember to call)."""

from __future__ import annotations

from hpo_tui.app.widgets.training_jobs_table import COL_JOB, TrainingJobsTable
from tests.app.conftest import dashboard_app, settle


def _rows(table: TrainingJobsTable) -> list[str]:
    return [row.key.value for row in table.ordered_rows]


def _bar(app, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


async def test_setting_the_statuses_filters_the_rows_and_says_so(mid_run_backend):
    app = dashboard_app(mid_run_backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.table
        table.shown_statuses = frozenset({"Failed"})
        await settle(pilot)
        statuses = {j.name: j.status for j in app.screen.snapshot.training_jobs}
        assert [statuses[name] for name in _rows(table)] == ["Failed"]
        assert "status Failed" in _bar(app, "#filter-bar") and "1 of 6 jobs shown" in _bar(app, "#filter-bar")
        table.text_filter = "no-such-job"
        await settle(pilot)
        assert app.screen.query_one("#no-match").display and not table.display


async def test_setting_the_sort_reorders_and_the_status_bar_follows(mid_run_backend):
    app = dashboard_app(mid_run_backend)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.table
        table.sorting = (COL_JOB, True)
        await settle(pilot)
        launch = {j.name: j.launch_index for j in app.screen.snapshot.training_jobs}
        assert [launch[name] for name in _rows(table)] == sorted(launch.values(), reverse=True)
        assert "sort: job (reversed)" in _bar(app, "#status-bar")
        table.sort_paused = True
        await settle(pilot)
        assert "order frozen" in _bar(app, "#status-bar")
