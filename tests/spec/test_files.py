"""TOML spec files: lossless round trip, every unknown key or wrong type named, no tracebacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from hpo_tui.spec import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    SpecError,
    TuningSpec,
    dumps_toml,
    load_spec,
    loads_toml,
    save_spec,
    spec_from_dict,
    spec_to_dict,
)


def paths_of(err: SpecError) -> list[str]:
    return [i.path for i in err.issues]


def test_default_spec_round_trips_through_a_file(tmp_path: Path) -> None:
    path = save_spec(TuningSpec(), tmp_path / "tuning.toml")
    assert load_spec(path) == TuningSpec()
    assert spec_from_dict(spec_to_dict(TuningSpec())) == TuningSpec()


def test_round_trip_keeps_every_setting(tmp_path: Path) -> None:
    spec = TuningSpec(strategy="Hyperband", max_jobs=20, max_parallel_jobs=4, max_runtime_seconds=3600,
                      random_seed=7, backend="sagemaker", tuning_job_name="run-7")
    spec.ranges["momentum"] = ContinuousParameter(0.0, 0.99, "ReverseLogarithmic")
    spec.ranges["layers"] = IntegerParameter(1, 4, "Linear")
    spec.estimator.hyperparameters.update(model="lenet", dropout=0.25)
    spec.completion.target_objective_value = 0.98
    spec.completion.max_jobs_not_improving = 5
    spec.hyperband.min_resource, spec.hyperband.max_resource = 1, 50
    spec.channels.train = "s3://my-bucket/mnist/train"
    spec.channels.test = str(tmp_path)
    spec.sagemaker.role_arn = "arn:aws:iam::123456789012:role/SageMakerRole"
    spec.sagemaker.region, spec.sagemaker.profile = "eu-west-1", "work"
    assert loads_toml(dumps_toml(spec)) == spec


def test_grid_without_max_jobs_stays_computed() -> None:
    spec = TuningSpec(strategy="Grid", max_jobs=None, max_parallel_jobs=2,
                      ranges={"optimizer": CategoricalParameter(["sgd", "Adam"])})
    text = dumps_toml(spec)
    assert "max_jobs" not in text.split("[", 1)[0].replace("# max_jobs", "")
    assert loads_toml(text) == spec


def test_numbers_in_categorical_values_become_strings() -> None:
    text = dumps_toml(TuningSpec()).replace('"sgd",\n    "Adam",', "32, 64, 0.5")
    assert loads_toml(text).ranges["optimizer"].values == ["32", "64", "0.5"]


def test_unknown_keys_are_named_everywhere() -> None:
    text = dumps_toml(TuningSpec())
    text = text.replace("\nstrategy = ", "\nstratgey = \"Random\"\nstrategy = ", 1)
    text = text.replace("[estimator]\n", "[estimator]\ninstance = 2\n", 1)
    text = text.replace("[ranges.num_epoch]\n", "[ranges.num_epoch]\nstep = 5\n", 1)
    text = text.replace('{ name = "Validation-accuracy", ', '{ Name = "x", name = "Validation-accuracy", ', 1)
    text += "\n[monitoring]\nevery = 3\n"
    with pytest.raises(SpecError) as info:
        loads_toml(text)
    assert paths_of(info.value) == ["stratgey", "monitoring", "estimator.instance",
                                    "metric_definitions[0].Name", "ranges.num_epoch.step"]
    message = str(info.value)
    assert "did you mean 'strategy'?" in message
    assert "did you mean 'instance_type'?" in message or "instance_count" in message
    assert len(message.splitlines()) == 5  # one line per issue


@pytest.mark.parametrize("edit,path", [
    (("max_jobs = 9", 'max_jobs = "nine"'), "max_jobs"),
    (("max_parallel_jobs = 3", "max_parallel_jobs = [3]"), "max_parallel_jobs"),
    (("min = 0.01", 'min = "0.01"'), "ranges.learning_rate.min"),
    (("min = 10", "min = 10.5"), "ranges.num_epoch.min"),
    (("batch_size = 100", "batch_size = [100]"), "estimator.hyperparameters.batch_size"),
    (("instance_count = 1", "instance_count = true"), "estimator.instance_count"),
    (('type = "Maximize"', "type = 1"), "objective.type"),
    (('type = "integer"', 'type = "int"'), "ranges.num_epoch.type"),
    (('type = "integer"\n', ""), "ranges.num_epoch.type"),
    (("[channels]\n", "[channels]\ntrain = 5\n"), "channels.train"),
    (("[sagemaker]\n", "[sagemaker]\nrole_arn = { arn = 1 }\n"), "sagemaker.role_arn"),
    (("[completion]\n", "[completion]\nmax_jobs_not_improving = 2.5\n"), "completion.max_jobs_not_improving"),
])
def test_wrong_types_are_named(edit: tuple[str, str], path: str) -> None:
    text = dumps_toml(TuningSpec())
    assert edit[0] in text
    with pytest.raises(SpecError) as info:
        loads_toml(text.replace(edit[0], edit[1], 1))
    assert paths_of(info.value) == [path], str(info.value)


def test_a_table_where_a_section_belongs() -> None:
    with pytest.raises(SpecError) as info:
        spec_from_dict({"max_jobs": 9, "estimator": "mnist.py", "ranges": [1], "metric_definitions": {"a": 1}})
    assert paths_of(info.value) == ["estimator", "metric_definitions", "ranges"]


def test_missing_range_bounds() -> None:
    with pytest.raises(SpecError) as info:
        spec_from_dict({"max_jobs": 3, "ranges": {"lr": {"type": "continuous", "min": 0.1}}})
    assert paths_of(info.value) == ["ranges.lr.max"]


def test_check_false_returns_a_spec_to_fix_but_still_refuses_unknown_keys() -> None:
    spec = spec_from_dict({"max_jobs": 0, "ranges": {"lr": {"type": "continuous", "min": 1, "max": 0}}},
                          check=False)
    assert spec.max_jobs == 0 and spec.ranges == {"lr": ContinuousParameter(1.0, 0.0)}
    with pytest.raises(SpecError):
        spec_from_dict({"maxjobs": 3}, check=False)


@pytest.mark.parametrize("text,line,col", [
    ('strategy = "Bayesian"\nmax_jobs = = 9\n', 2, 12),
    ('strategy = "Bayesian\n', 1, 21),
    ("[ranges.lr]\ntype = 'continuous'\n[ranges.lr]\n", 3, 1),
])
def test_malformed_toml_names_line_and_column(text: str, line: int, col: int, tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    (issue,) = info.value.issues
    assert issue.path == str(path)
    assert f"line {line}, column {col}" in issue.message


def test_missing_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="hpo-tui spec init"):
        load_spec(tmp_path / "nope.toml")


def test_save_is_atomic_and_reports_unwritable_paths(tmp_path: Path) -> None:
    target = tmp_path / "specs" / "tuning.toml"
    save_spec(TuningSpec(), target)
    assert [p.name for p in target.parent.iterdir()] == ["tuning.toml"]  # no temp file left behind
    (tmp_path / "file").write_text("")
    with pytest.raises(SpecError, match="cannot be written"):
        save_spec(TuningSpec(), tmp_path / "file" / "tuning.toml")


def test_relative_channels_are_found_next_to_the_spec_file(tmp_path: Path) -> None:
    (tmp_path / "data" / "train").mkdir(parents=True)
    spec = TuningSpec()
    spec.channels.train = "data/train"
    path = save_spec(spec, tmp_path / "tuning.toml")
    assert load_spec(path) == spec  # the value is kept as written
    spec.channels.train = "data/missing"
    save_spec(spec, path)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert paths_of(info.value) == ["channels.train"]


def test_local_concurrency_round_trips_and_a_fresh_file_shows_where_it_goes() -> None:
    text = dumps_toml(TuningSpec())
    assert "[local]" in text and "# concurrency" in text
    spec = loads_toml(text.replace("[local]\n", "[local]\nconcurrency = 3\n"))
    assert spec.local.concurrency == 3
    assert loads_toml(dumps_toml(spec)) == spec
    with pytest.raises(SpecError) as err:
        loads_toml(text.replace("[local]\n", "[local]\nconcurency = 3\n"))
    assert paths_of(err.value) == ["local.concurency"]


def test_spot_warm_start_and_price_survive_a_round_trip() -> None:
    from hpo_tui.spec import TuningSpec, dumps_toml, loads_toml

    spec = TuningSpec(backend="sagemaker")
    spec.sagemaker.role_arn = "arn:aws:iam::123456789012:role/R"
    spec.sagemaker.price_per_hour = 0.23
    spec.estimator.use_spot_instances = True
    spec.estimator.max_wait_seconds = 172800
    spec.warm_start.parents = ["mnist-hpo-1"]
    spec.warm_start.type = "TransferLearning"
    text = dumps_toml(spec)
    assert "[warm_start]" in text and "price_per_hour = 0.23" in text
    assert loads_toml(text) == spec
    assert "[warm_start]" not in dumps_toml(TuningSpec())
