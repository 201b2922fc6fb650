"""Hostile spec files (issue 13): deep nesting, thousands of problems, huge integers, values
launch cannot run, files that are not TOML, not small or not files at all. Each is a clear
message naming the field and the fix; never a traceback, a hang or a quote of the file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hpo_tui.spec import (
    CategoricalParameter,
    Channels,
    ContinuousParameter,
    IntegerParameter,
    SpecError,
    TuningSpec,
    load_spec,
    loads_toml,
    save_spec,
    validate,
)

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
from spec_validate import broken_spec  # noqa: E402


def validate_cli(path: Path | str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hpo_tui.cli", "spec", "validate", str(path)],
                          capture_output=True, text=True, timeout=timeout)


def issues_of(spec: TuningSpec) -> dict[str, str]:
    return {i.path: i.message for i in validate(spec)}


# -- deep nesting ---------------------------------------------------------------------------------


@pytest.mark.parametrize("nested", ["[" * 5000 + "]" * 5000, "{ a = " * 5000 + "1" + " }" * 5000])
def test_deeply_nested_toml_is_a_clear_error(tmp_path: Path, nested: str) -> None:
    path = tmp_path / "deep.toml"
    path.write_text(f"max_jobs = 9\nx = {nested}\n")
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert "nested too deeply" in str(err.value)
    result = validate_cli(path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert "nested too deeply" in result.stdout


# -- many problems ----------------------------------------------------------------------------------


def _calls_while_loading(text: str) -> int:
    """Python function calls made while loading text (deterministic: no clock involved)."""
    calls = 0

    def count(frame, event, arg):  # noqa: ANN001
        nonlocal calls
        if event == "call":
            calls += 1

    sys.setprofile(count)
    try:
        loads_toml(text)
    except SpecError:
        pass
    finally:
        sys.setprofile(None)
    return calls


def test_validation_is_linear_in_the_number_of_problems() -> None:
    """4x the broken ranges costs about 4x the work, not 16x (bench/spec_validate.py times it)."""
    small, large = _calls_while_loading(broken_spec(500)), _calls_while_loading(broken_spec(2000))
    assert large / small < 5, (small, large)


def test_validate_of_20000_broken_ranges_lists_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(broken_spec(20000))
    result = validate_cli(path, timeout=280)
    assert result.returncode == 1
    listed = [line for line in result.stdout.splitlines() if line.startswith("  ranges.p")]
    assert len(listed) == 20000


# -- integers beyond what launch can store -----------------------------------------------------------


def test_huge_max_jobs_is_refused_by_validate() -> None:
    found = issues_of(TuningSpec(max_jobs=10**26))
    # SageMaker's limit (750) is the bound (issue 10), for the local engine too.
    assert "max_jobs" in found and "set max_jobs <= 750" in found["max_jobs"]


def test_huge_integer_range_is_refused_by_validate() -> None:
    spec = TuningSpec()
    spec.ranges["num_epoch"] = IntegerParameter(10, 10**30)
    found = issues_of(spec)
    assert "ranges.num_epoch.max" in found and "at most" in found["ranges.num_epoch.max"]
    spec.ranges["num_epoch"] = IntegerParameter(-(10**30), 5)
    assert "ranges.num_epoch.min" in issues_of(spec)


def test_huge_static_integer_is_refused_by_validate() -> None:
    spec = TuningSpec()
    spec.estimator.hyperparameters["batch_size"] = 10**30
    assert "estimator.hyperparameters.batch_size" in issues_of(spec)


def test_integer_of_thousands_of_digits_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "digits.toml"
    path.write_text("max_jobs = " + "9" * 5000 + "\n")
    result = validate_cli(path)
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert "thousands of digits" in result.stdout and "set_int_max_str_digits" not in result.stdout


def test_continuous_range_wider_than_a_float_is_refused_by_validate() -> None:
    spec = TuningSpec()
    spec.ranges["learning_rate"] = ContinuousParameter(-1.5e308, 1.5e308)  # max - min overflows
    assert "too wide" in issues_of(spec)["ranges.learning_rate.max"]
    spec.ranges["learning_rate"] = ContinuousParameter(0.0, 10**400)  # an int no float can hold
    assert "ranges.learning_rate.max" in issues_of(spec)


# -- what validate accepts, launch runs ----------------------------------------------------------------


def test_s3_channel_with_the_local_backend_is_refused_by_validate() -> None:
    spec = TuningSpec(backend="local", channels=Channels(train="s3://my-bucket/train", test=None))
    found = issues_of(spec)
    assert "channels.train" in found and "local backend" in found["channels.train"]
    spec.backend = "sagemaker"
    assert "channels.train" not in issues_of(spec)


def test_missing_source_dir_is_refused_by_validate(tmp_path: Path) -> None:
    spec = TuningSpec()
    spec.estimator.source_dir = str(tmp_path / "no-such-folder")
    found = issues_of(spec)
    assert "estimator.source_dir" in found and "not found" in found["estimator.source_dir"]


def test_source_dir_without_the_entry_point_is_refused_by_validate(tmp_path: Path) -> None:
    spec = TuningSpec()
    spec.estimator.source_dir = str(tmp_path)
    found = issues_of(spec)
    assert "estimator.entry_point" in found and str(tmp_path) in found["estimator.entry_point"]
    (tmp_path / "mnist.py").write_text("print('hi')\n")
    assert "estimator.entry_point" not in issues_of(spec)


def test_nul_in_categorical_or_static_values_is_refused_by_validate() -> None:
    spec = TuningSpec()
    spec.ranges["optimizer"] = CategoricalParameter(["sgd", "ad\x00am"])
    spec.estimator.hyperparameters["note"] = "a\x00b"
    found = issues_of(spec)
    assert "NUL" in found["ranges.optimizer.values"]
    assert "NUL" in found["estimator.hyperparameters.note"]


def test_escape_sequences_in_spec_values_are_stripped_in_the_validate_summary(tmp_path: Path) -> None:
    spec = TuningSpec()
    spec.ranges["optimizer"] = CategoricalParameter(["sgd", "ad\x1b]52;c;aGFja2Vk\x07\x1b[2Jam"])
    save_spec(spec, tmp_path / "esc.toml")
    result = validate_cli(tmp_path / "esc.toml")
    assert result.returncode == 0, result.stdout  # AWS takes any text as a value: valid, shown clean
    assert "adam" in result.stdout
    assert not any(ch in result.stdout for ch in ("\x1b", "\x07", "\x9b")), repr(result.stdout)


# -- files that are not specs ---------------------------------------------------------------------------


def test_validate_of_a_non_toml_file_does_not_quote_it(tmp_path: Path) -> None:
    shadow = tmp_path / "shadow"
    shadow.write_text("root:$6$s3cr3tSalt$HashHashHash:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n")
    result = validate_cli(shadow)
    assert result.returncode == 1
    assert "not valid TOML at line 1" in result.stdout
    assert "s3cr3t" not in result.stdout + result.stderr and "root:" not in result.stdout + result.stderr


def test_spec_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.toml"
    big.write_text("# padding\n" * 300_000)  # 3 MB of comments: valid TOML, not a plausible spec
    with pytest.raises(SpecError) as err:
        load_spec(big)
    assert "at most" in str(err.value) and "MiB" in str(err.value)


def test_fifo_and_dev_zero_spec_files_are_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "spec.fifo"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        result = validate_cli(path, timeout=60)  # a FIFO opened for reading blocks without a writer
        assert result.returncode == 1
        assert "not a regular file" in result.stdout
        assert "Traceback" not in result.stderr


def test_saved_default_spec_still_validates(tmp_path: Path) -> None:
    save_spec(TuningSpec(), tmp_path / "t.toml")
    assert validate_cli(tmp_path / "t.toml").returncode == 0
