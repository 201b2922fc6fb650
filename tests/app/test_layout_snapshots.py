"""Snapshots of the configure screen and of a 12-job dashboard at 80x24, 120x40 and
200x60, and with NO_COLOR (scripted data, frozen clock)."""

from __future__ import annotations

import pytest

from hpo_tui.app.app import make_app
from tests.app.conftest import dashboard_app, settle
from tests.app.fake_backend import FakeBackend, twelve_job_snapshot

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
