"""The configure form's model, without an app: how a field's text parses, what spec the
inputs describe, where each problem is shown, and the ranges and metrics being edited."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hpo_tui.app.form_model import (
    ALL_FIELDS,
    SELECTS,
    FormInput,
    FormModel,
    focus_target,
    parse_field,
    place_problems,
)
from hpo_tui.spec import CategoricalParameter, ContinuousParameter, HyperbandSettings, TuningSpec

FIELDS = {f.id: f for f in ALL_FIELDS}


@pytest.fixture(autouse=True)
def _no_role_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAGEMAKER_ROLE_ARN", raising=False)


def form_of(model: FormModel, **texts: str) -> FormInput:
    """The form as opened from the model's spec, with some inputs retyped (ids with _ for -)."""
    typed = {f.id: model.start_value(f) for f in ALL_FIELDS}
    typed |= {key.replace("_", "-"): text for key, text in texts.items()}
    return FormInput(typed, {s: model.start_choice(s) for s in SELECTS},
                     dict(model.base.estimator.hyperparameters))


def test_the_model_imports_no_textual():
    code = "import sys, hpo_tui.app.form_model; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize(("field", "text", "expected"), [
    ("max-jobs", " 12 ", (12, None)),
    ("max-jobs", "", (None, None)),  # optional: empty means none
    ("max-jobs", "nine", (None, "max_jobs must be a whole number, got 'nine'")),
    ("max-parallel-jobs", "", (None, "max_parallel_jobs must be a whole number, got empty")),
    ("target-objective-value", "0.98", (0.98, None)),
    ("target-objective-value", "high", (None, "target_objective_value must be a number, got 'high'")),
    ("tuning-job-name", "  ", (None, None)),
    ("entry-point", " mnist.py ", ("mnist.py", None)),
])
def test_a_field_parses_its_text_or_says_what_it_needs(field, text, expected):
    assert parse_field(FIELDS[field], text) == expected


def test_the_spec_follows_the_inputs_and_keeps_what_the_form_does_not_show():
    spec = TuningSpec()
    spec.max_runtime_seconds = 600
    model = FormModel(spec)
    built, problems = model.build(form_of(model, max_jobs="4", random_seed="7"))
    assert problems == []
    assert (built.max_jobs, built.random_seed, built.max_runtime_seconds) == (4, 7, 600)
    assert spec.max_jobs == 9  # the spec given is not touched


def test_a_text_that_does_not_parse_is_one_problem_not_two():
    model = FormModel(TuningSpec())
    problems = model.check(form_of(model, max_parallel_jobs="x"))
    assert problems == [("max_parallel_jobs", "max_parallel_jobs must be a whole number, got 'x'")]


def test_hidden_groups_feed_nothing():
    spec = TuningSpec()
    spec.hyperband = HyperbandSettings(min_resource=2, max_resource=9)
    model = FormModel(spec)
    # Local backend: the S3 inputs are not read, though typed; Bayesian: Hyperband is reset.
    built, _ = model.build(form_of(model, s3_train="s3://bucket/train", channel_train="/data/train"))
    assert built.channels.train == "/data/train"
    assert built.hyperband == HyperbandSettings()


def test_a_channel_of_the_other_backend_starts_blank():
    spec = TuningSpec()
    spec.channels.train = "/data/train"
    model = FormModel(spec)
    assert model.start_value(FIELDS["channel-train"]) == "/data/train"
    assert model.start_value(FIELDS["s3-train"]) == ""


def test_a_typed_static_hyperparameter_not_set_is_a_problem():
    model = FormModel(TuningSpec())
    form = form_of(model)
    form.static_pending = ("momentum", "")
    problems = model.check(form)
    assert problems[0][0] == "estimator.hyperparameters"
    assert problems[0][1].startswith("'momentum' (no value) is typed but not set")


def test_problems_go_to_the_line_under_their_field_or_table():
    selects = {s: FormModel().start_choice(s) for s in SELECTS}
    placed = place_problems([
        ("max_jobs", "max_jobs must be a whole number, got 'nine'"),
        ("ranges.lr.min", "min (0.5) must be less than max (0.2)"),
        ("early_stopping", "Hyperband stops jobs itself"),
        ("sagemaker.role_arn", "needs an execution role"),  # hidden on the local backend
    ], selects)
    assert placed.by_line == {
        "max-jobs-error": ["max_jobs must be a whole number, got 'nine'"],
        "ranges-error": ["lr.min: min (0.5) must be less than max (0.2)"],
        "early-stopping-error": ["Hyperband stops jobs itself"],
    }
    assert placed.loose == ["sagemaker.role_arn: needs an execution role (edit it with Backend = sagemaker)"]


def test_launch_focuses_where_a_problem_is_fixed():
    local = {s: FormModel().start_choice(s) for s in SELECTS}
    assert focus_target("max_jobs", local) == "max-jobs"
    assert focus_target("ranges.lr.min", local) == "ranges-table"
    assert focus_target("estimator.hyperparameters", local) == "static-hps"
    assert focus_target("sagemaker.role_arn", local) == "backend"  # the select that shows it
    assert focus_target("sagemaker.role_arn", local | {"backend": "sagemaker"}) == "role-arn"


def test_a_renamed_range_keeps_its_place():
    spec = TuningSpec()
    model = FormModel(spec)
    order = list(model.ranges)
    model.put_range("lr", ContinuousParameter(0.001, 0.1), replacing="learning_rate")
    assert list(model.ranges) == [("lr" if name == "learning_rate" else name) for name in order]
    model.put_range("batch_norm", CategoricalParameter(["on", "off"]))
    assert list(model.ranges)[-1] == "batch_norm"
    model.delete_range("lr")
    assert "lr" not in model.ranges and spec.ranges.keys() == set(order)


def test_the_range_editor_hears_only_about_its_range():
    model = FormModel(TuningSpec())
    check = model.range_check(form_of(model, max_parallel_jobs="x"), "learning_rate")
    assert check("learning_rate", ContinuousParameter(0.5, 0.2)) == ["min (0.5) must be less than max (0.2)"]
    assert check("learning_rate", ContinuousParameter(0.01, 0.2)) == []


def test_metric_definitions_are_added_replaced_and_deleted():
    model = FormModel(TuningSpec())
    count = len(model.metrics)
    model.put_metric("Train-accuracy", r"Train-accuracy=([0-9.]+)")
    assert model.definitions()[-1] == ("Train-accuracy", r"Train-accuracy=([0-9.]+)")
    model.put_metric("Train-acc", r"Train-acc=([0-9.]+)", index=count)
    assert model.definitions()[-1][0] == "Train-acc"
    model.delete_metric(count)
    assert len(model.metrics) == count


def test_a_loaded_spec_replaces_the_ranges_and_metrics():
    model = FormModel(TuningSpec())
    other = TuningSpec()
    other.ranges = {"momentum": ContinuousParameter(0.5, 0.99)}
    other.backend = "sagemaker"
    model.load(other)
    assert list(model.ranges) == ["momentum"]
    assert model.start_choice("backend") == "sagemaker" and model.shown_at_start("role-arn")
    other.ranges["x"] = ContinuousParameter(1, 2)
    assert list(model.ranges) == ["momentum"]  # a copy
