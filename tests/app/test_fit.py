"""hpo_tui.app.fit: header lines abbreviated, then wrapped, never cut mid-counter."""

from __future__ import annotations

from hpo_tui.app.fit import abbreviate, first_that_fits, fit_parts

PARTS = ["ETA 36m02s", "10/15 finished", "3 allowed, 2 running (2 cores)", "1 failed", "1 stopped",
         "8 completed", "epochs 41/58"]


def test_a_line_that_fits_is_kept_whole():
    assert fit_parts(PARTS, 200) == [" · ".join(PARTS)]


def test_a_narrow_line_is_abbreviated_before_it_wraps():
    lines = fit_parts(PARTS, 80)
    assert lines == ["ETA 36m02s · 10/15 done · 2/3 run (2 cpu) · 1 fail · 1 stop · 8 ok · ep 41/58"]


def test_a_narrower_line_wraps_between_counters_and_keeps_every_one():
    lines = fit_parts(PARTS, 52)
    assert len(lines) == 2 and all(len(line) <= 52 for line in lines)
    words = " · ".join(lines).split(" · ")
    assert words == [abbreviate(p) for p in PARTS]  # every counter whole, in order


def test_unknown_parts_are_kept_as_they_are():
    assert abbreviate("$1.23 billed") == "$1.23 billed"


def test_first_that_fits_falls_back_to_the_shortest_cut():
    assert first_that_fits(["mnist-hpo-1-008-f496", "008-f496"], 10) == "008-f496"
    assert first_that_fits(["abcdef"], 4) == "abc…"
