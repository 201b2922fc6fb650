"""The search views (slice, importance, parallel coordinates, objective over time): snapshots
from a fixture of a real reference run, and Pilot tests of their keys on both backends."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from textual.widgets import Static, TabbedContent

from hpo_tui import analysis
from hpo_tui.app.app import make_app
from hpo_tui.app.screens.dashboard import DashboardScreen
from hpo_tui.app.screens.search_views import SearchViewsScreen
from hpo_tui.spec import CategoricalParameter, Channels, ContinuousParameter, Estimator, TuningSpec
from tests.app.conftest import settle, wait_until
from tests.app.fake_backend import FakeBackend
from tests.app.fixtures.snapshot_json import load

SIZE = (120, 40)
FIXTURE = Path(__file__).parent / "fixtures" / "reference_run.json"
FAKE_TRAIN = Path(__file__).parent.parent / "engine" / "fake_train.py"


def reference_snapshot(**changes):
    return load(FIXTURE, **changes)


def reference_app(backend_name: str = "local"):
    snap = reference_snapshot(backend=backend_name)
    backend = FakeBackend([snap])
    backend.name = backend_name
    return make_app(backend=backend, backend_name=backend_name, attach=snap.tuning_job.name,
                    start="dashboard", interval=3600.0, clock=lambda: snap.fetched_at)


def open_view(key: str):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("v")
        await settle(pilot)
        await pilot.press(key)
        await settle(pilot)

    return run_before


# -- the fixture holds the lesson the views must show --------------------------------------


def test_the_fixture_is_a_real_run_with_the_adam_lesson():
    snap = reference_snapshot()
    scored = analysis.scored_jobs(snap)
    assert len(scored) >= 9
    hp = lambda s, k: s.job.hyperparameters[k]  # noqa: E731
    adam_high = [s.value for s in scored if hp(s, "optimizer") == "Adam" and float(hp(s, "learning_rate")) >= 0.1]
    sgd_high = [s.value for s in scored if hp(s, "optimizer") == "sgd" and float(hp(s, "learning_rate")) >= 0.1]
    assert adam_high and sgd_high
    assert max(adam_high) < 0.75 < min(sgd_high)  # Adam at a high rate fails where sgd does best


# -- snapshots ---------------------------------------------------------------------------------


def test_slice_view(snap_compare):
    # learning_rate coloured by optimizer: Adam's points fall away at high rates, sgd's stay on top.
    assert snap_compare(reference_app(), terminal_size=SIZE, run_before=open_view("1"))


def test_importance_view(snap_compare):
    assert snap_compare(reference_app(), terminal_size=SIZE, run_before=open_view("2"))


def test_parallel_coordinates_view(snap_compare):
    assert snap_compare(reference_app(), terminal_size=SIZE, run_before=open_view("3"))


def test_objective_over_time_view(snap_compare):
    assert snap_compare(reference_app(), terminal_size=SIZE, run_before=open_view("4"))


def test_importance_says_how_many_more_jobs_it_needs(snap_compare):
    snap = reference_snapshot()
    few = replace(snap, training_jobs=snap.training_jobs[:5])
    backend = FakeBackend([few])
    app = make_app(backend=backend, attach=few.tuning_job.name, start="dashboard", interval=3600.0,
                   clock=lambda: few.fetched_at)
    assert snap_compare(app, terminal_size=SIZE, run_before=open_view("2"))


# -- keys, on both backends ----------------------------------------------------------------


async def _cycle_views(pilot) -> SearchViewsScreen:
    app = pilot.app
    await pilot.press("v")
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, SearchViewsScreen)
    tabs = screen.query_one(TabbedContent)
    assert tabs.active == "slice"
    for key, tab in (("2", "importance"), ("3", "parallel"), ("4", "time"), ("1", "slice")):
        await pilot.press(key)
        await pilot.pause()
        assert tabs.active == tab
    return screen


@pytest.mark.parametrize("backend_name", ["local", "sagemaker"])
async def test_keys_on_the_scripted_backends(backend_name):
    app = reference_app(backend_name)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = await _cycle_views(pilot)
        assert f"({backend_name}, Random" in str(screen.query_one("#search-title", Static).render())
        await pilot.press("2")
        await settle(pilot)  # importance is computed in a worker
        body = str(screen.query_one("#importance-body", Static).render())
        assert "learning_rate" in body and "PED-ANOVA" in body
        polls = app._injected.polls
        await pilot.press("r")
        await settle(pilot)
        assert app._injected.polls == polls + 1
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)


async def test_keys_on_the_real_local_backend(tmp_path):
    """The real local backend, the fake trainer: the views open on what the dashboard polled
    and follow the tuning job while it runs."""
    for channel in ("train", "test"):
        (tmp_path / channel).mkdir()
    spec = TuningSpec(
        estimator=Estimator(entry_point=FAKE_TRAIN.name, source_dir=str(FAKE_TRAIN.parent),
                            hyperparameters={"num_epoch": 2, "sleep": 0.5}, base_job_name="views"),
        ranges={"learning_rate": ContinuousParameter(0.001, 0.5, "Logarithmic"),
                "optimizer": CategoricalParameter(["sgd", "Adam"])},
        strategy="Random", random_seed=3, max_jobs=9, max_parallel_jobs=3,
        channels=Channels(train=str(tmp_path / "train"), test=str(tmp_path / "test")),
    )
    from hpo_tui.backends.local import LocalBackend

    backend = LocalBackend()
    name = backend.launch(spec)
    try:
        app = make_app(backend_name="local", attach=name, start="dashboard", interval=0.2)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen)
                             and app.screen.snapshot is not None, "the first poll")
            await pilot.press("v")
            await settle(pilot)
            views = app.screen
            assert isinstance(views, SearchViewsScreen)
            summary = views.query_one("#search-summary", Static)
            await wait_until(pilot, lambda: str(summary.render()).startswith("9 of 9 training jobs finished"),
                             "the views to show all 9 jobs")
            await pilot.press("escape")
            await settle(pilot)
            screen = await _cycle_views(pilot)
            # The launched ranges came through the poll: learning_rate gets a log axis.
            axes = {a.name: a for a in analysis.axes(screen.snapshot)}
            assert axes["learning_rate"].log and axes["optimizer"].values == ("sgd", "Adam")
            await pilot.press("2")
            await settle(pilot)
            body = str(screen.query_one("#importance-body", Static).render())
            assert "learning_rate" in body and "optimizer" in body
            await pilot.press("escape")
            await settle(pilot)
            assert isinstance(app.screen, DashboardScreen)
    finally:
        backend.close()


async def test_names_and_values_from_outside_are_shown_without_escape_sequences():
    snap = reference_snapshot()
    hostile = "sgd\x1b]0;pwned\x07\x1b[2J"
    jobs = tuple(replace(j, hyperparameters={**j.hyperparameters, "optimizer": hostile})
                 if j.hyperparameters["optimizer"] == "sgd" else j for j in snap.training_jobs)
    ranges = tuple(replace(r, values=(hostile, "Adam")) if r.name == "optimizer" else r
                   for r in snap.tuning_job.parameter_ranges)
    snap = replace(snap, training_jobs=jobs, tuning_job=replace(snap.tuning_job, parameter_ranges=ranges))
    app = make_app(backend=FakeBackend([snap]), attach=snap.tuning_job.name, start="dashboard",
                   interval=3600.0, clock=lambda: snap.fetched_at)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("v")
        await settle(pilot)
        legend = str(app.screen.query_one("#slice-legend", Static).render())
        # The terminal-title sequence and the clear-screen are gone; the value is still named.
        assert "● sgd   ● Adam" in legend and "pwned" not in legend and "\x1b" not in legend
        for plot_id in ("#slice-0", "#parallel-plot"):
            drawn = app.screen.query_one(plot_id).plt.build()  # plotext's own colour codes only
            assert "pwned" not in drawn and "\x07" not in drawn and "\x1b[2J" not in drawn
