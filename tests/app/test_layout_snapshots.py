"""Snapshots of the configure screen and of a 12-job dashboard at 80x24, 120x40 and
200x60, and with NO_COLOR (scripted data, frozen clock)."""

from __future__ import annotations

import pytest

from hpo_tui.app.app import make_app
from tests.app.conftest import dashboard_app, settle
from tests.app.fake_backend import FakeBackend, diverged_run_jobs, diverged_run_snapshot, twelve_job_snapshot

SIZES = [(80, 24), (120, 40), (200, 60)]


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_configure_at(snap_compare, size):
    assert snap_compare(make_app(), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_dashboard_of_12_jobs_at(snap_compare, size):
    assert snap_compare(dashboard_app(FakeBackend([twelve_job_snapshot()])), terminal_size=size, run_before=settle)


def test_dashboard_of_12_jobs_with_no_color(snap_compare, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(dashboard_app(FakeBackend([twelve_job_snapshot()])), terminal_size=(120, 40),
                        run_before=settle)


def test_configure_with_no_color(snap_compare, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(make_app(), terminal_size=(120, 40), run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_dashboard_with_a_diverged_and_a_failed_partial_job_at(snap_compare, size):
    # One Adam job collapsed to 0.10 and one failed part-way at 0.969: the sgd rows'
    # sparklines still differ from one another, the collapsed job reads "diverged", and the
    # failed job is ranked last and not in the finished-jobs chart.
    backend = FakeBackend([diverged_run_snapshot()], jobs=diverged_run_jobs())
    assert snap_compare(dashboard_app(backend), terminal_size=size, run_before=settle)
