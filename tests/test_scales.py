"""hpo_tui.scales: ranges that a diverged job cannot stretch, metric bounds, divergence."""

from __future__ import annotations

import math

from hpo_tui.scales import Scale, diverged, job_scales, metric_bounds, robust_scale, top_values
from tests.app.fake_backend import ScriptedJob, finished_jobs, snapshot_of

HEALTHY = [0.9634, 0.9552, 0.9655, 0.9560, 0.9641, 0.9702, 0.9480]


def test_accuracy_is_bounded_by_zero_and_one_when_its_values_are():
    assert metric_bounds("Validation-accuracy", [0.1, 0.98]) == (0.0, 1.0)
    assert metric_bounds("val_acc", [0.5]) == (0.0, 1.0)
    assert metric_bounds("Validation-accuracy", [12.0]) == (None, None)  # a percentage: not a fraction


def test_a_loss_is_never_negative_and_an_unknown_metric_has_no_bounds():
    assert metric_bounds("Validation-loss", [0.3, 2.1]) == (0.0, None)
    assert metric_bounds("reward", [-3.0, 4.0]) == (None, None)


def test_declared_bounds_win_over_the_name():
    assert metric_bounds("score", [0.4], declared=(0.0, 100.0)) == (0.0, 100.0)


def test_a_collapsed_job_is_diverged_and_a_merely_poor_one_is_not():
    values = {f"j{i}": v for i, v in enumerate(HEALTHY)}
    values["adam-high-lr"] = 0.1009
    values["poor"] = 0.86
    values["running"] = None
    assert diverged(values, maximize=True, bounds=(0.0, 1.0)) == {"adam-high-lr"}


def test_nan_is_diverged_even_alone():
    assert diverged({"a": math.nan, "b": 0.9}, maximize=True) == {"a"}


def test_a_loss_that_blew_up_is_diverged_when_minimizing():
    values = {"a": 0.12, "b": 0.15, "c": 0.14, "d": 0.17, "blown": 2.31}
    assert diverged(values, maximize=False, bounds=(0.0, None)) == {"blown"}


def test_too_few_peers_make_no_verdict():
    assert diverged({"a": 0.95, "b": 0.10}, maximize=True, bounds=(0.0, 1.0)) == frozenset()


def test_one_value_gets_a_span_inside_the_bounds():
    scale = robust_scale([0.98], bounds=(0.0, 1.0), least=0.1)
    assert scale is not None and scale.high == 1.0 and math.isclose(scale.low, 0.9)
    assert robust_scale([math.nan]) is None


def test_zoom_spans_the_top_jobs_only():
    top = top_values(HEALTHY, maximize=True)
    assert top == [0.9702, 0.9655, 0.9641]
    scale = robust_scale(HEALTHY, zoom_to=top, zoom=True)
    assert (scale.low, scale.high, scale.zoomed) == (0.9641, 0.9702, True)
    smallest = robust_scale([0.1, 0.2, 0.3, 0.9], zoom_to=[0.1, 0.2], zoom=True, maximize=False)
    assert (smallest.low, smallest.high) == (0.1, 0.2)


def test_values_outside_are_clamped_and_told_apart():
    scale = Scale(0.9, 0.98)
    assert [scale.where(v) for v in (0.1, 0.95, 0.99, math.nan)] == [-1, 0, 1, -1]
    assert scale.clamp(0.1) == 0.9 and scale.clamp(math.nan) == 0.9
    assert math.isclose(scale.fraction(0.94), 0.5) and scale.fraction(0.1) == 0.0


def test_padding_never_passes_the_bounds():
    scale = Scale(0.93, 0.999).padded(0.05, bounds=(0.0, 1.0))
    assert scale.high == 1.0 and scale.low < 0.93


def _with_diverged_and_failed() -> list[ScriptedJob]:
    jobs = finished_jobs()
    jobs.append(ScriptedJob(9, "Completed", {"optimizer": "Adam", "learning_rate": "0.19", "num_epoch": "3"},
                            [0.1135, 0.1009, 0.0980], start=200, duration=40))
    return jobs


def test_a_snapshots_scale_leaves_out_the_diverged_and_the_failed_jobs():
    snap = snapshot_of(_with_diverged_and_failed(), "Completed")
    scales = job_scales(snap)
    names = {j.launch_index: j.name for j in snap.training_jobs}
    # The failed partial job (0.1135) and the collapsed Adam job (0.098) are both diverged.
    assert scales.diverged == {names[2], names[9]}
    scale = scales.objective_scale()
    assert scale.low > 0.9 and scale.high == 0.9702
    assert scales.bounds == (0.0, 1.0)


def test_the_specs_bounds_reach_the_scale_through_the_local_backend():
    from hpo_tui.backends.local import LocalBackend
    from hpo_tui.spec import TuningSpec
    from tests.app.conftest import record_tuning_job

    spec = TuningSpec()
    spec.objective.lowest, spec.objective.highest = 0.0, 100.0  # a percentage, say
    record_tuning_job("bounded", spec, best={"optimizer": "sgd", "learning_rate": "0.1"})
    backend = LocalBackend()
    try:
        snap = backend.poll("bounded")
    finally:
        backend.close()
    assert snap.tuning_job.objective_bounds == (0.0, 100.0)
    assert job_scales(snap).bounds == (0.0, 100.0)  # not the [0, 1] the name would suggest
