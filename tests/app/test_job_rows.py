"""The jobs table's rows model on its own (no Textual): the filter, the sort (and the
incremental re-sort a poll uses), the diff of a poll against the rows drawn, and the
sparklines' shared scale."""

from __future__ import annotations

import random
import subprocess
import sys
from dataclasses import replace

from hpo_tui.app.format import MetricHistory
from hpo_tui.app.job_rows import (
    COL_DURATION,
    COL_JOB,
    COL_OBJECTIVE,
    COL_STATUS,
    JobRows,
    fmt_scale,
    scaled_sparkline,
    sparkline_scale,
)
from hpo_tui.scales import JobScales
from hpo_tui.views import MetricPoint, TrainingJobView, TuningJobView

NOW = 1_764_000_000.0


def job(index: int, objective: float | None, status: str = "Completed", **hps: str) -> TrainingJobView:
    return TrainingJobView(name=f"tj-{index:03d}", status=status, objective_status="Succeeded",
                           hyperparameters=hps or {"optimizer": "sgd" if index % 2 else "adam"},
                           final_objective=objective, launch_index=index, created_at=NOW - 1000 + index,
                           started_at=NOW - 1000 + index, ended_at=None if status == "InProgress" else NOW - 500)


def tuning(objective_type: str = "Maximize") -> TuningJobView:
    return TuningJobView(name="tj", backend="local", status="InProgress", strategy="Random",
                         objective_name="acc", objective_type=objective_type, max_jobs=100, max_parallel_jobs=2)


def model(jobs: list[TrainingJobView], view: TuningJobView) -> JobRows:
    """A model whose rows are `jobs` in sorted order, each drawn from its job."""
    rows = JobRows(lambda: NOW)
    for name in rows.ordered_names(jobs, view):
        rows.added(name)
    for j in jobs:
        rows.drawn(j, False)
    return rows


# --- filter -------------------------------------------------------------------------


def test_the_status_filter_and_every_word_of_the_text_filter_must_match():
    jobs = [job(0, 0.9, optimizer="adam", learning_rate="0.01"), job(1, 0.8, "Failed", optimizer="sgd"),
            job(2, None, "InProgress", optimizer="adam", learning_rate="0.1")]
    rows = JobRows(lambda: NOW)
    assert not rows.filtering and rows.visible(jobs) == jobs
    rows.text_filter = "adam"
    assert [j.name for j in rows.visible(jobs)] == ["tj-000", "tj-002"]
    rows.text_filter = "adam learning_rate=0.1"
    assert [j.name for j in rows.visible(jobs)] == ["tj-002"]
    rows.text_filter = "failed"  # the status is a word too
    assert [j.name for j in rows.visible(jobs)] == ["tj-001"]
    rows.text_filter = ""
    rows.shown_statuses = frozenset({"Completed", "InProgress"})
    assert rows.filtering and [j.name for j in rows.visible(jobs)] == ["tj-000", "tj-002"]
    assert rows.filter_words() == ["status InProgress, Completed"]


# --- sort ---------------------------------------------------------------------------


def test_objective_sorts_best_first_either_way_with_missing_and_failed_last():
    jobs = [job(0, 0.5), job(1, 0.9), job(2, None, "InProgress"), job(3, 0.99, "Failed"), job(4, 0.7)]
    rows = JobRows(lambda: NOW)
    assert rows.ordered_names(jobs, tuning("Maximize")) == ["tj-001", "tj-004", "tj-000", "tj-002", "tj-003"]
    assert rows.ordered_names(jobs, tuning("Minimize")) == ["tj-000", "tj-004", "tj-001", "tj-002", "tj-003"]
    rows.sort_reverse = True  # reversed: worst first, missing values still last
    assert rows.ordered_names(jobs, tuning("Maximize")) == ["tj-000", "tj-004", "tj-001", "tj-002", "tj-003"]


def test_other_columns_sort_on_raw_values_ties_by_launch():
    jobs = [job(0, 0.5, "Failed"), job(1, 0.9, "InProgress"), job(2, 0.1), job(3, 0.2, "InProgress")]
    rows = JobRows(lambda: NOW)
    rows.sort_key = COL_STATUS
    assert rows.ordered_names(jobs, tuning()) == ["tj-001", "tj-003", "tj-002", "tj-000"]
    rows.sort_key = COL_JOB
    assert rows.ordered_names(jobs, tuning()) == ["tj-000", "tj-001", "tj-002", "tj-003"]
    rows.sort_key = "learning_rate"  # a hyperparameter: numbers as numbers, not as text
    lrs = [job(i, 0.5, learning_rate=lr) for i, lr in enumerate(["0.1", "0.02", "1e-3", "0.3"])]
    assert rows.ordered_names(lrs, tuning()) == ["tj-002", "tj-001", "tj-000", "tj-003"]
    rows.sort_key = COL_DURATION  # the running jobs' durations run to the model's clock
    assert rows.ordered_names(jobs, tuning()) == ["tj-002", "tj-000", "tj-003", "tj-001"]
    assert rows.sort_summary({COL_OBJECTIVE: "objective", COL_DURATION: "time"}, paused=True) == \
        "sort: time · order frozen (p resumes)"


def test_the_incremental_reorder_after_a_poll_is_the_full_sort():
    """A poll that changed a few jobs re-inserts those rows only; the order must be what a
    full sort gives, whatever changed (random changes, both directions, ties)."""
    rng = random.Random(7)
    view = tuning()
    for trial in range(60):
        jobs = [job(i, round(rng.random(), 2) if rng.random() > 0.1 else None) for i in range(40)]
        rows = model(jobs, view)
        rows.sort_reverse = trial % 2 == 1
        rows.reorder(rows.ordered_names(jobs, view))
        changed = rng.sample(range(40), rng.randint(1, 6))
        for i in changed:
            jobs[i] = replace(jobs[i], final_objective=round(rng.random(), 2))
        moved = [jobs[i] for i in changed]
        for j in moved:  # the table draws the changed rows, then sorts
            rows.drawn(j, False)
        wanted = rows.ordered_after_changes(moved, view)
        assert wanted == rows.ordered_names(jobs, view), trial
        if wanted != rows.order:
            rows.reorder(wanted)
        assert rows.order == wanted and rows.place == {name: i for i, name in enumerate(wanted)}


def test_a_poll_that_moves_nothing_keeps_the_order_object():
    view = tuning()
    jobs = [job(i, 0.1 * i) for i in range(10)]
    rows = model(jobs, view)
    moved = [replace(jobs[5], final_objective=0.51)]  # still between its neighbours
    assert rows.ordered_after_changes(moved, view) is rows.order


def test_reorder_reports_the_range_of_places_that_changed():
    rows = JobRows(lambda: NOW)
    for name in "abcdef":
        rows.added(name)
    assert rows.reorder(list("abedcf")) == (2, 4)
    assert rows.place == {"a": 0, "b": 1, "e": 2, "d": 3, "c": 4, "f": 5}
    rows.removed({"b"})
    assert rows.order == list("aedcf") and rows.place["f"] == 4
    assert rows.reorder(list("fedca")) == (0, 4)


# --- the diff of a poll -------------------------------------------------------------------


def test_a_poll_with_the_same_objects_looks_only_at_the_changed_and_new_ones():
    view = tuning()
    jobs = [job(i, 0.5) for i in range(6)]
    rows = model(jobs, view)
    assert rows.candidates(jobs, None, set(), rows.places_changed(jobs), loading=False) == jobs  # first: all
    later = list(jobs)
    later[2] = replace(jobs[2], final_objective=0.7)
    later.append(job(6, None, "InProgress"))
    changed = rows.places_changed(later)
    assert rows.gone(later, changed) == set()
    looked_at = rows.candidates(later, None, set(), changed, loading=False)
    assert [j.name for j in looked_at] == ["tj-002", "tj-006"]
    # A curve that changed (history) and a new best bring back their rows, as drawn.
    again = rows.candidates(later, "tj-004", {"tj-001"}, rows.places_changed(later), loading=False)
    assert sorted(j.name for j in again) == ["tj-001", "tj-004"]


def test_rows_whose_job_left_the_list_are_gone():
    view = tuning()
    jobs = [job(i, 0.5) for i in range(5)]
    rows = model(jobs, view)
    rows.candidates(jobs, None, set(), None, loading=False)
    rows.text_filter = "tj-00"  # any list of other length or other names
    fewer = [jobs[0], jobs[3]]
    assert rows.gone(fewer, rows.places_changed(fewer)) == {"tj-001", "tj-002", "tj-004"}


def test_drawn_from_compares_the_very_object_and_the_best_mark():
    rows = JobRows(lambda: NOW)
    j = job(1, 0.5)
    rows.drawn(j, False)
    assert rows.drawn_from(j, False)
    assert not rows.drawn_from(j, True)
    assert not rows.drawn_from(replace(j, final_objective=0.6), False)
    rows.forget_drawn()
    assert not rows.drawn_from(j, False)


# --- the sparklines' scale -------------------------------------------------------------


def test_sparklines_share_a_scale_that_leaves_out_failed_and_diverged_jobs():
    view = tuning()
    history = MetricHistory()
    curves = {"tj-000": [0.90, 0.95, 0.97], "tj-001": [0.80, 0.85], "tj-002": [0.10, 0.10]}
    history.add(MetricPoint(name, "acc", e, NOW, v) for name, values in curves.items() for e, v in enumerate(values))
    jobs = [job(0, 0.97), job(1, 0.85), job(2, 0.10, "Failed")]
    scales = JobScales(bounds=(0.0, 1.0), maximize=True, diverged=frozenset(), reference=(0.97, 0.85), top=(0.97,))
    scale = sparkline_scale(jobs, view, history, frozenset(), scales, zoomed=False)
    assert scale is not None
    low, high = scale
    assert 0.7 < low <= 0.80 and 0.97 <= high <= 1.0  # the failed job's 0.10 is off the scale
    assert scaled_sparkline([0.10, 0.97], low, high).startswith("↓")
    assert sparkline_scale(jobs, view, MetricHistory(), frozenset(), scales, zoomed=False) is None  # no curves yet
    assert len(fmt_scale(low, high)) <= 9


def test_a_sparkline_marks_values_off_its_scale():
    assert scaled_sparkline([0.5, 1.0, 2.0, float("nan")], 0.5, 1.0) == "▁█↑↓"
    assert scaled_sparkline([], 0.0, 1.0) == ""


def test_the_model_never_loads_textual():
    code = "import sys, hpo_tui.app.job_rows; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
