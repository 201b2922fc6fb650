"""Every validation rule: a bad value is reported at its field path, with the fix."""

from __future__ import annotations

import math
import re
from datetime import datetime
from pathlib import Path

import pytest

from hpo_tui.spec import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    MetricDefinition,
    TuningSpec,
    grid_combinations,
    make_tuning_job_name,
    resolved_max_jobs,
    validate,
)

from .conftest import only_issue, variant

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"


def test_reference_spec_is_valid_and_is_the_reference_workflow() -> None:
    spec = TuningSpec()
    assert validate(spec) == []
    assert spec.ranges["optimizer"] == CategoricalParameter(["sgd", "Adam"])
    assert spec.ranges["learning_rate"] == ContinuousParameter(0.01, 0.2)
    assert spec.ranges["num_epoch"] == IntegerParameter(10, 50)
    assert (spec.max_jobs, spec.max_parallel_jobs, spec.strategy) == (9, 3, "Bayesian")
    assert spec.estimator.hyperparameters == {"batch_size": 100}


def test_every_problem_is_collected_not_only_the_first() -> None:
    def break_everything(s: TuningSpec) -> None:
        s.ranges["learning_rate"] = ContinuousParameter(0.5, 0.1)
        s.ranges["num_epoch"] = IntegerParameter(10, 50, "ReverseLogarithmic")
        s.metric_definitions[0].regex = "Validation-accuracy=[0-9.]+"
        s.max_parallel_jobs = 20
        s.random_seed = -1
        s.estimator.hyperparameters["optimizer"] = "sgd"

    paths = {i.path for i in validate(variant(break_everything))}
    assert paths == {
        "ranges.learning_rate.min", "ranges.num_epoch.scaling", "metric_definitions[0].regex",
        "max_parallel_jobs", "random_seed", "estimator.hyperparameters.optimizer",
    }


# -- names ---------------------------------------------------------------------------------

def test_static_and_tuned_names_collide() -> None:
    spec = variant(lambda s: s.estimator.hyperparameters.update(num_epoch=10))
    only_issue(spec, "estimator.hyperparameters.num_epoch", "both static and tuned", "ranges.num_epoch")


@pytest.mark.parametrize("name", ["bad name", "-x", "1st", "a=b", ""])
def test_range_names_must_be_usable_options(name: str) -> None:
    spec = variant(lambda s: s.ranges.update({name: CategoricalParameter(["a"])}))
    only_issue(spec, f"ranges.{name}", "start with a letter")


def test_static_names_must_be_usable_options() -> None:
    spec = variant(lambda s: s.estimator.hyperparameters.update({"batch size": 1}))
    only_issue(spec, "estimator.hyperparameters.batch size", "start with a letter")


def test_sdk_reserved_names_are_refused() -> None:
    spec = variant(lambda s: s.ranges.update(sagemaker_program=CategoricalParameter(["x.py"])))
    only_issue(spec, "ranges.sagemaker_program", "reserved")


def test_static_values_are_strings_or_finite_numbers() -> None:
    spec = variant(lambda s: s.estimator.hyperparameters.update(momentum=math.inf, flag=True))
    found = {i.path for i in validate(spec)}
    assert found == {"estimator.hyperparameters.momentum", "estimator.hyperparameters.flag"}


def test_metric_names_must_be_unique() -> None:
    spec = variant(lambda s: s.metric_definitions.append(
        MetricDefinition("Validation-accuracy", r"val=([0-9.]+)")))
    only_issue(spec, "metric_definitions[1].name", "more than once")


# -- numeric ranges ------------------------------------------------------------------------

@pytest.mark.parametrize("lo,hi", [(0.2, 0.01), (0.1, 0.1)])
def test_min_below_max(lo: float, hi: float) -> None:
    spec = variant(lambda s: s.ranges.update(learning_rate=ContinuousParameter(lo, hi)))
    only_issue(spec, "ranges.learning_rate.min", "less than max")


def test_integer_min_below_max() -> None:
    spec = variant(lambda s: s.ranges.update(num_epoch=IntegerParameter(50, 10)))
    only_issue(spec, "ranges.num_epoch.min", "less than max")


def test_integer_bounds_are_integers() -> None:
    spec = variant(lambda s: s.ranges.update(num_epoch=IntegerParameter(10, 50.5)))  # type: ignore[arg-type]
    only_issue(spec, "ranges.num_epoch.max", "whole-number")


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_bounds_are_finite(bad: float) -> None:
    spec = variant(lambda s: s.ranges.update(learning_rate=ContinuousParameter(0.01, bad)))
    only_issue(spec, "ranges.learning_rate.max", "finite")


def test_bounds_are_numbers() -> None:
    spec = variant(lambda s: s.ranges.update(learning_rate=ContinuousParameter("0.01", 0.2)))  # type: ignore[arg-type]
    only_issue(spec, "ranges.learning_rate.min", "number")


@pytest.mark.parametrize("p,path", [
    (ContinuousParameter(0.0, 0.2, "Logarithmic"), "ranges.learning_rate.min"),
    (ContinuousParameter(-1.0, 0.2, "Logarithmic"), "ranges.learning_rate.min"),
])
def test_logarithmic_needs_positive_min(p: ContinuousParameter, path: str) -> None:
    spec = variant(lambda s: s.ranges.update(learning_rate=p))
    only_issue(spec, path, "min > 0")


def test_logarithmic_integer_needs_positive_min() -> None:
    spec = variant(lambda s: s.ranges.update(num_epoch=IntegerParameter(0, 50, "Logarithmic")))
    only_issue(spec, "ranges.num_epoch.min", "min > 0")


def test_logarithmic_with_positive_min_is_fine() -> None:
    spec = variant(lambda s: s.ranges.update(learning_rate=ContinuousParameter(1e-4, 0.2, "Logarithmic"),
                                             num_epoch=IntegerParameter(1, 50, "Logarithmic")))
    assert validate(spec) == []


def test_reverse_logarithmic_is_continuous_only() -> None:
    spec = variant(lambda s: s.ranges.update(num_epoch=IntegerParameter(10, 50, "ReverseLogarithmic")))
    only_issue(spec, "ranges.num_epoch.scaling", "continuous ranges only")


@pytest.mark.parametrize("lo,hi,path", [
    (0.5, 1.0, "ranges.momentum.max"),
    (0.5, 2.0, "ranges.momentum.max"),
    (-0.1, 0.5, "ranges.momentum.min"),
])
def test_reverse_logarithmic_needs_unit_interval(lo: float, hi: float, path: str) -> None:
    spec = variant(lambda s: s.ranges.update(momentum=ContinuousParameter(lo, hi, "ReverseLogarithmic")))
    only_issue(spec, path, "0 <= min < max < 1")


def test_reverse_logarithmic_inside_unit_interval_is_fine() -> None:
    spec = variant(lambda s: s.ranges.update(momentum=ContinuousParameter(0.0, 0.999, "ReverseLogarithmic")))
    assert validate(spec) == []


def test_scaling_must_be_known() -> None:
    spec = variant(lambda s: s.ranges.update(learning_rate=ContinuousParameter(0.01, 0.2, "Log")))
    only_issue(spec, "ranges.learning_rate.scaling", "Logarithmic")


# -- categorical ranges and counts ---------------------------------------------------------

@pytest.mark.parametrize("values,words", [
    ([], "between 1 and 30"),
    ([f"v{i}" for i in range(31)], "between 1 and 30"),
    (["sgd", "Adam", "sgd"], "distinct"),
    (["sgd", 3], "non-empty string"),
    (["sgd", ""], "non-empty string"),
])
def test_categorical_values(values: list, words: str) -> None:
    spec = variant(lambda s: s.ranges.update(optimizer=CategoricalParameter(values)))
    only_issue(spec, "ranges.optimizer.values", words)


def test_thirty_values_are_allowed() -> None:
    spec = variant(lambda s: s.ranges.update(optimizer=CategoricalParameter([f"v{i}" for i in range(30)])))
    assert validate(spec) == []


def test_at_most_30_ranges_in_total_not_30_per_type() -> None:
    # 10 of each type: 30 per type was accepted, AWS refuses more than 30 in total.
    def many(s: TuningSpec) -> None:
        s.ranges.clear()
        s.ranges.update({f"a{i}": ContinuousParameter(0.0, 1.0) for i in range(11)})
        s.ranges.update({f"b{i}": IntegerParameter(0, 1) for i in range(10)})
        s.ranges.update({f"c{i}": CategoricalParameter(["x"]) for i in range(10)})
        s.estimator.hyperparameters = {}

    only_issue(variant(many), "ranges", "31 ranges", "at most 30 in total")
    spec = variant(many)
    del spec.ranges["a0"]
    assert validate(spec) == []


def test_100_hyperparameters_count_the_sdk_statics_and_tuning_objective_metric() -> None:
    # 3 tuned + 89 static + the SDK's 7 + _tuning_objective_metric = 100, AWS's limit.
    spec = variant(lambda s: s.estimator.hyperparameters.update({f"s{i}": i for i in range(88)}))
    assert len(spec.ranges) + len(spec.estimator.hyperparameters) == 92
    assert validate(spec) == []
    spec.estimator.hyperparameters["one_more"] = 1
    text = only_issue(spec, "estimator.hyperparameters", "_tuning_objective_metric", "make 101", "at most 92")
    assert "SDK's 7" in text


def test_at_least_one_range() -> None:
    only_issue(variant(lambda s: s.ranges.clear()), "ranges", "at least one")


# -- metrics and objective -----------------------------------------------------------------

@pytest.mark.parametrize("regex,words", [
    ("Validation-accuracy=([0-9.]+", "does not compile"),
    ("Validation-accuracy=[0-9.]+", "0 capture groups"),
    ("(Validation)-accuracy=([0-9.]+)", "2 capture groups"),
    ("x" * 498 + "(y)", "at most 500"),
    ("", "non-empty"),
])
def test_metric_regex(regex: str, words: str) -> None:
    spec = variant(lambda s: setattr(s.metric_definitions[0], "regex", regex))
    only_issue(spec, "metric_definitions[0].regex", words)


def test_non_capturing_groups_are_fine() -> None:
    spec = variant(lambda s: setattr(s.metric_definitions[0], "regex", r"(?:Validation)-accuracy=([0-9.]+)"))
    assert validate(spec) == []


def test_at_most_20_metric_definitions_per_tuning_job() -> None:
    spec = variant(lambda s: s.metric_definitions.extend(
        MetricDefinition(f"m{i}", f"m{i}=([0-9.]+)") for i in range(19)))
    assert validate(spec) == []
    spec.metric_definitions.append(MetricDefinition("m19", "m19=([0-9.]+)"))
    only_issue(spec, "metric_definitions", "21", "at most 20")


def test_max_parallel_jobs_over_100_is_an_error_and_over_10_a_quota_warning() -> None:
    from hpo_tui.spec import spec_warnings

    spec = variant(lambda s: (setattr(s, "max_jobs", 200), setattr(s, "max_parallel_jobs", 101)))
    only_issue(spec, "max_parallel_jobs", "101", "100")
    spec.max_parallel_jobs = 100
    assert validate(spec) == []
    assert spec_warnings(spec) == []  # the local backend has no such quota
    spec.backend = "sagemaker"
    [warning] = spec_warnings(spec)
    assert warning.path == "max_parallel_jobs" and "quota of 10" in warning.message
    spec.max_parallel_jobs = 10
    assert spec_warnings(spec) == []


def test_max_jobs_at_most_750_grid_combinations_included() -> None:
    spec = variant(lambda s: setattr(s, "max_jobs", 751))
    only_issue(spec, "max_jobs", "751", "750")
    grid = variant(lambda s: (
        setattr(s, "strategy", "Grid"), setattr(s, "max_jobs", None),
        s.estimator.hyperparameters.clear(),
        s.ranges.clear(),
        s.ranges.update({n: CategoricalParameter([f"v{i}" for i in range(10)]) for n in ("a", "b", "c")})))
    only_issue(grid, "ranges", "1000 combinations", "750")


def test_instance_type_is_checked_against_botocores_training_instance_types() -> None:
    # ml.t2.medium matches the pattern but SageMaker does not train on it.
    only_issue(variant(lambda s: setattr(s.estimator, "instance_type", "ml.t2.medium")),
               "estimator.instance_type", "ml.t2.medium", "TrainingInstanceType")
    text = only_issue(variant(lambda s: setattr(s.estimator, "instance_type", "ml.m5.xlarg")),
                      "estimator.instance_type")
    assert 'did you mean "ml.m5.xlarge"' in text
    assert validate(variant(lambda s: setattr(s.estimator, "instance_type", "ml.p3.2xlarge"))) == []


def test_objective_must_be_defined() -> None:
    spec = variant(lambda s: setattr(s.objective, "name", "Validation-loss"))
    only_issue(spec, "objective.name", "Validation-loss", "not among the metric definitions")


def test_objective_type() -> None:
    spec = variant(lambda s: setattr(s.objective, "type", "Maximise"))
    only_issue(spec, "objective.type", "Maximize", "Minimize")


# -- strategy and limits -------------------------------------------------------------------

@pytest.mark.parametrize("jobs,parallel,path", [(9, 0, "max_parallel_jobs"), (9, 10, "max_parallel_jobs"),
                                                (0, 1, "max_jobs"), (-3, 1, "max_jobs")])
def test_parallel_jobs_between_1_and_max_jobs(jobs: int, parallel: int, path: str) -> None:
    spec = variant(lambda s: (setattr(s, "max_jobs", jobs), setattr(s, "max_parallel_jobs", parallel)))
    only_issue(spec, path)


def test_max_jobs_required_unless_grid() -> None:
    only_issue(variant(lambda s: setattr(s, "max_jobs", None)), "max_jobs", "only the Grid strategy")


def grid_spec(**changes: object) -> TuningSpec:
    spec = TuningSpec(strategy="Grid", max_jobs=None, max_parallel_jobs=2)
    spec.ranges = {"optimizer": CategoricalParameter(["sgd", "Adam"]),
                   "num_epoch": CategoricalParameter(["1", "2", "3"])}
    for key, value in changes.items():
        setattr(spec, key, value)
    return spec


def test_grid_max_jobs_is_computed() -> None:
    spec = grid_spec()
    assert validate(spec) == []
    assert resolved_max_jobs(spec) == 6
    assert grid_combinations(spec) == [
        {"optimizer": "sgd", "num_epoch": "1"}, {"optimizer": "sgd", "num_epoch": "2"},
        {"optimizer": "sgd", "num_epoch": "3"}, {"optimizer": "Adam", "num_epoch": "1"},
        {"optimizer": "Adam", "num_epoch": "2"}, {"optimizer": "Adam", "num_epoch": "3"},
    ]
    assert validate(grid_spec(max_jobs=6)) == []


def test_grid_max_jobs_must_match_combinations() -> None:
    only_issue(grid_spec(max_jobs=9), "max_jobs", "all 6 combinations", "max_jobs = 6")


def test_grid_parallel_jobs_limited_by_combinations() -> None:
    only_issue(grid_spec(max_parallel_jobs=7), "max_parallel_jobs", "6 jobs")


def test_grid_takes_categorical_ranges_only() -> None:
    spec = grid_spec()
    spec.ranges["learning_rate"] = ContinuousParameter(0.01, 0.2)
    only_issue(spec, "ranges.learning_rate", "categorical ranges only")


def test_hyperband_needs_early_stopping_off() -> None:
    spec = variant(lambda s: (setattr(s, "strategy", "Hyperband"), setattr(s, "early_stopping", "Auto")))
    only_issue(spec, "early_stopping", "Off")
    spec.early_stopping = "Off"
    assert validate(spec) == []


def test_hyperband_resources() -> None:
    spec = variant(lambda s: setattr(s, "strategy", "Hyperband"))
    spec.hyperband.min_resource, spec.hyperband.max_resource = 5, 2
    only_issue(spec, "hyperband.min_resource", "must not exceed")
    spec.hyperband.min_resource = 0
    only_issue(spec, "hyperband.min_resource", ">= 1")
    spec.hyperband.min_resource = 1
    assert validate(spec) == []
    spec.strategy = "Bayesian"
    assert {i.path for i in validate(spec)} == {"hyperband.min_resource", "hyperband.max_resource"}


def test_hyperband_needs_to_know_the_epoch_budget() -> None:
    spec = variant(lambda s: setattr(s, "strategy", "Hyperband"))
    del spec.ranges["num_epoch"]
    only_issue(spec, "hyperband.max_resource", "num_epoch")
    spec.estimator.hyperparameters["num_epoch"] = 12
    assert validate(spec) == []


@pytest.mark.parametrize("field,value,ok", [
    ("strategy", "Bayes", False), ("strategy", "Random", True),
    ("early_stopping", "On", False), ("early_stopping", "Auto", True),
    ("backend", "aws", False),
    ("max_runtime_seconds", 119, False), ("max_runtime_seconds", 120, True),
    ("max_runtime_seconds", 15_768_000, True), ("max_runtime_seconds", 15_768_001, False),
    ("max_runtime_seconds", 600.0, False),
    ("random_seed", -1, False), ("random_seed", 0, True), ("random_seed", 2**31, False),
])
def test_top_level_values(field: str, value: object, ok: bool) -> None:
    spec = variant(lambda s: setattr(s, field, value))
    if ok:
        assert validate(spec) == []
    else:
        only_issue(spec, field, str(value).replace("_", ""))


@pytest.mark.parametrize("n,ok", [(2, False), (3, True), (0, False)])
def test_not_improving_needs_at_least_3_jobs(n: int, ok: bool) -> None:
    spec = variant(lambda s: setattr(s.completion, "max_jobs_not_improving", n))
    if ok:
        assert validate(spec) == []
    else:
        only_issue(spec, "completion.max_jobs_not_improving", ">= 3")


def test_target_objective_value_is_finite() -> None:
    spec = variant(lambda s: setattr(s.completion, "target_objective_value", math.nan))
    only_issue(spec, "completion.target_objective_value", "finite")


# -- names of jobs -------------------------------------------------------------------------

@pytest.mark.parametrize("name,words", [("mnist_hpo", "letters, digits and hyphens"),
                                        ("-mnist", "letters, digits and hyphens"),
                                        ("mnist-", "letters, digits and hyphens"),
                                        ("m" * 33, "33 characters"), ("", "non-empty")])
def test_base_job_name(name: str, words: str) -> None:
    spec = variant(lambda s: setattr(s.estimator, "base_job_name", name))
    only_issue(spec, "estimator.base_job_name", words)


@pytest.mark.parametrize("name", ["tuning.1", "a" * 33, "x--"])
def test_tuning_job_name(name: str) -> None:
    only_issue(variant(lambda s: setattr(s, "tuning_job_name", name)), "tuning_job_name")


@pytest.mark.parametrize("base", ["mnist-hpo", "a" * 32, "a--b"])
def test_generated_tuning_job_names_fit_sagemaker(base: str) -> None:
    spec = variant(lambda s: setattr(s.estimator, "base_job_name", base))
    names = {make_tuning_job_name(spec, now=datetime(2026, 11, 28, 17, 5, 9)) for _ in range(20)}
    assert len(names) > 1  # a random tag tells apart launches within the same second
    for name in names:
        assert len(name) <= 32 and re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}", name), name
        assert "261128-170509" in name and name.startswith(base[:14].rstrip("-"))


def test_explicit_tuning_job_name_is_used() -> None:
    assert make_tuning_job_name(variant(lambda s: setattr(s, "tuning_job_name", "my-run-1"))) == "my-run-1"


# -- estimator -----------------------------------------------------------------------------

@pytest.mark.parametrize("field,value", [("instance_count", 0), ("instance_count", 1.5),
                                         ("instance_type", "m5.xlarge"), ("entry_point", "mnist"),
                                         ("entry_point", "../mnist.py"), ("framework_version", "1.8.0"),
                                         ("py_version", "py37"), ("source_dir", "")])
def test_estimator_fields(field: str, value: object) -> None:
    only_issue(variant(lambda s: setattr(s.estimator, field, value)), f"estimator.{field}")


# -- backend, role, region, channels ------------------------------------------------------

def test_role_required_for_sagemaker_without_env(no_role_env: None) -> None:
    spec = variant(lambda s: setattr(s, "backend", "sagemaker"))
    only_issue(spec, "sagemaker.role_arn", "SAGEMAKER_ROLE_ARN")


def test_role_from_environment_is_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAGEMAKER_ROLE_ARN", ROLE)
    assert validate(variant(lambda s: setattr(s, "backend", "sagemaker"))) == []


def test_local_backend_needs_no_role(no_role_env: None) -> None:
    assert validate(TuningSpec()) == []


@pytest.mark.parametrize("role", ["arn:aws:iam::12345:role/x", "SageMakerRole",
                                  "arn:aws:s3:::123456789012:role/x", "arn:aws:iam::123456789012:user/x"])
def test_role_arn_pattern(role: str) -> None:
    spec = variant(lambda s: (setattr(s, "backend", "sagemaker"), setattr(s.sagemaker, "role_arn", role)))
    only_issue(spec, "sagemaker.role_arn", "arn:aws:iam::")


@pytest.mark.parametrize("role", [ROLE, "arn:aws-cn:iam::123456789012:role/service-role/AmazonSageMaker-Exec"])
def test_good_role_arns(role: str) -> None:
    spec = variant(lambda s: (setattr(s, "backend", "sagemaker"), setattr(s.sagemaker, "role_arn", role)))
    assert validate(spec) == []


def test_region_pattern() -> None:
    only_issue(variant(lambda s: setattr(s.sagemaker, "region", "Oregon")), "sagemaker.region", "us-west-2")
    assert validate(variant(lambda s: setattr(s.sagemaker, "region", "us-gov-west-1"))) == []


@pytest.mark.parametrize("uri", ["s3://Bad_Bucket/mnist", "s3://ab/x", "s3:/bucket/train", "https://example.com/x",
                                 "s3://", "s3://bucket-/train"])
def test_s3_uris_are_well_formed(uri: str) -> None:
    only_issue(variant(lambda s: setattr(s.channels, "train", uri)), "channels.train", "S3 URI")


@pytest.mark.parametrize("uri", ["s3://my-bucket", "s3://my.bucket-1/mnist/train", "s3://abc/"])
def test_good_s3_uris(uri: str) -> None:
    def change(s: TuningSpec) -> None:
        s.channels.test = uri
        s.backend = "sagemaker"  # the local backend cannot read S3
        s.sagemaker.role_arn = "arn:aws:iam::123456789012:role/SageMakerRole"

    assert validate(variant(change)) == []


def test_local_channels_must_exist(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    only_issue(variant(lambda s: setattr(s.channels, "test", str(missing))), "channels.test", "does not exist")
    a_file = tmp_path / "file.gz"
    a_file.write_bytes(b"")
    only_issue(variant(lambda s: setattr(s.channels, "train", str(a_file))), "channels.train", "is a file")
    assert validate(variant(lambda s: setattr(s.channels, "train", str(tmp_path)))) == []


def test_local_concurrency_is_a_whole_number_of_jobs() -> None:
    for bad in (0, -1, 2.5, "2", True, 10**6):
        spec = variant(lambda s: setattr(s.local, "concurrency", bad))
        only_issue(spec, "local.concurrency", "one job per core")
    spec = variant(lambda s: setattr(s.local, "concurrency", 2))
    assert validate(spec) == []


# -- spot, warm start, s3:// source_dir ------------------------------------------------------

def test_spot_needs_max_wait_at_least_max_run() -> None:
    def spot(s: TuningSpec) -> None:
        s.estimator.use_spot_instances = True
        s.estimator.max_run_seconds = 3600

    only_issue(variant(spot), "estimator.max_wait_seconds", "needs", "7200")
    short = variant(spot)
    short.estimator.max_wait_seconds = 1800
    only_issue(short, "estimator.max_wait_seconds", "1800 s is less than the 3600 s", ">=")
    short.estimator.max_wait_seconds = 3600
    assert validate(short) == []
    no_spot = variant(lambda s: setattr(s.estimator, "max_wait_seconds", 7200))
    only_issue(no_spot, "estimator.max_wait_seconds", "use_spot_instances = true")
    bad_uri = variant(lambda s: setattr(s.estimator, "checkpoint_s3_uri", "my-bucket/ckpt"))
    only_issue(bad_uri, "estimator.checkpoint_s3_uri", "s3://")


def test_warm_start_takes_1_to_5_parents_of_a_known_type() -> None:
    ok = variant(lambda s: setattr(s.warm_start, "parents", ["run-a", "run-b"]))
    assert validate(ok) == []
    six = variant(lambda s: setattr(s.warm_start, "parents", [f"run-{i}" for i in range(6)]))
    only_issue(six, "warm_start.parents", "6 tuning jobs", "1 to 5")
    none = variant(lambda s: setattr(s.warm_start, "parents", []))
    only_issue(none, "warm_start.parents", "1 to 5")
    kind = variant(lambda s: (setattr(s.warm_start, "parents", ["run-a"]), setattr(s.warm_start, "type", "Identical")))
    only_issue(kind, "warm_start.type", "IdenticalDataAndAlgorithm", "TransferLearning")
    bad = variant(lambda s: setattr(s.warm_start, "parents", ["run_a"]))
    only_issue(bad, "warm_start.parents[0]", "not a tuning job name")


def test_s3_source_dir_must_be_a_tar_gz() -> None:
    def s3(uri: str) -> TuningSpec:
        return variant(lambda s: (setattr(s, "backend", "sagemaker"), setattr(s.sagemaker, "role_arn", ROLE),
                                  setattr(s.estimator, "source_dir", uri)))

    assert validate(s3("s3://bkt/code/sourcedir.tar.gz")) == []
    only_issue(s3("s3://bkt/code/"), "estimator.source_dir", ".tar.gz")
    # The local backend runs a local script: an S3 source_dir is refused for it.
    only_issue(variant(lambda s: setattr(s.estimator, "source_dir", "s3://bkt/code/sourcedir.tar.gz")),
               "estimator.source_dir", "local backend", "local folder")
