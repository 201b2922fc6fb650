"""Install smoke tests: what a user gets from a fresh clone, on each supported Python and
without the local extra. Each test builds its own venv (pip's cache makes that a minute or
two), so they run in `make smoke` (CI, after the suite), not in `make test`.

An interpreter this machine lacks is reported and the test skipped; none is ever downloaded.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from hpo_tui.spec import CategoricalParameter, ContinuousParameter, Estimator, TuningSpec, save_spec
from tests.pythons import find_python
from tests.training.conftest import NUMPY_SHIM

REPO = Path(__file__).resolve().parents[2]
SUPPORTED = ((3, 11), (3, 12))
INSTALL_TIMEOUT = 1800


def run(argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
        timeout: float = 600) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)
    print(f"$ {' '.join(argv)}  -> {result.returncode}")
    return result


def make_venv(python: str, where: Path, extras: str) -> Path:
    """A fresh venv at `where` with hpo-tui installed from this checkout (editable, as README says)."""
    created = run([python, "-m", "venv", str(where)])
    assert created.returncode == 0, created.stderr
    started = time.monotonic()
    installed = run([str(where / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                     "-e", f"{REPO}[{extras}]" if extras else str(REPO)], timeout=INSTALL_TIMEOUT)
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    print(f"installed hpo-tui[{extras}] with {python} in {time.monotonic() - started:.0f} s")
    return where / "bin"


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["HPO_TUI_HOME"] = str(home)
    return env


def other_supported() -> tuple[int, int]:
    return next(v for v in SUPPORTED if v != sys.version_info[:2])


def test_the_other_supported_python_installs_validates_and_trains(tmp_path: Path) -> None:
    major, minor = other_supported()
    python = find_python(major, minor)
    if python is None:
        pytest.skip(f"no Python {major}.{minor} on this machine (PATH or pyenv): not tested here")
    bin_dir = make_venv(python, tmp_path / "venv", "local")
    env = clean_env(tmp_path / "home")

    # As the training script imports it (NumPy's removed aliases restored first); on 3.12 this
    # needs setuptools' distutils.
    imported = run([str(bin_dir / "python"), "-c", NUMPY_SHIM + "import mxnet\nprint(mxnet.__version__)"], env=env)
    assert imported.returncode == 0, imported.stderr[-2000:]
    assert imported.stdout.split()[0] == "1.9.1"

    helped = run([str(bin_dir / "hpo-tui"), "--help"], env=env)
    assert helped.returncode == 0 and "usage: hpo-tui" in helped.stdout

    reference = save_spec(TuningSpec(), tmp_path / "reference.toml")
    validated = run([str(bin_dir / "hpo-tui"), "spec", "validate", str(reference)], env=env)
    assert validated.returncode == 0, validated.stdout + validated.stderr

    spec = TuningSpec(
        estimator=Estimator(hyperparameters={"batch_size": 100, "num_epoch": 1, "max_train_samples": 2000}),
        ranges={"optimizer": CategoricalParameter(["sgd", "Adam"]),
                "learning_rate": ContinuousParameter(0.01, 0.2)},
        strategy="Random", random_seed=3, max_jobs=2, max_parallel_jobs=1, tuning_job_name=f"smoke-py{major}{minor}",
    )
    path = save_spec(spec, tmp_path / "smoke.toml")
    launched = run([str(bin_dir / "hpo-tui"), "launch", str(path), "--wait"], env=env, timeout=900)
    assert launched.returncode == 0, launched.stdout[-2000:] + launched.stderr[-2000:]
    exported = run([str(bin_dir / "hpo-tui"), "export", spec.tuning_job_name, "--format", "csv", "--output",
                    str(tmp_path / "jobs.csv")], env=env)
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader((tmp_path / "jobs.csv").open()))
    assert [(r["status"], r["objective_status"]) for r in rows] == [("Completed", "Succeeded")] * 2
    for row in rows:
        print(f"  {row['name']}: {row['optimizer']} lr {row['learning_rate']} -> {row['final_objective']}")
        assert 0.0 < float(row["final_objective"]) <= 1.0


def test_a_base_install_without_the_local_extra(tmp_path: Path) -> None:
    """No MXNet: the TUI opens (Pilot), SageMaker's jobs and status work against moto, and the
    local backend says why it can't train (tests/install/test_base_install.py, run there)."""
    bin_dir = make_venv(sys.executable, tmp_path / "venv", "test")
    absent = run([str(bin_dir / "python"), "-c", "import mxnet"])
    assert absent.returncode != 0 and "No module named 'mxnet'" in absent.stderr
    env = clean_env(tmp_path / "home")
    env["HPO_TUI_INSTALL_SMOKE"] = "1"
    checked = run([str(bin_dir / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs",
                   "tests/install/test_base_install.py"], env=env, cwd=REPO, timeout=900)
    print(checked.stdout[-3000:])
    assert checked.returncode == 0, checked.stdout[-4000:] + checked.stderr[-2000:]
    assert "4 passed" in checked.stdout and "skipped" not in checked.stdout


def base_requirements() -> list[str]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]


@pytest.mark.parametrize("platform", ["macosx_11_0_arm64", "win_amd64"])
@pytest.mark.parametrize("python_version", ["3.11", "3.12"])
def test_the_base_install_resolves_to_wheels_on_macos_arm64_and_windows(
    platform: str, python_version: str, tmp_path: Path
) -> None:
    """Resolved from the registry as pip would on that machine, wheels only (metadata: no
    wheel is downloaded where the registry serves it separately)."""
    abi = "cp" + python_version.replace(".", "")
    report = tmp_path / "report.json"
    resolved = run([sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--disable-pip-version-check",
                    "--ignore-installed", "--only-binary=:all:", "--platform", platform, "--python-version",
                    python_version, "--implementation", "cp", "--abi", abi, "--abi", "abi3", "--abi", "none",
                    "--target", str(tmp_path / "target"), "--report", str(report), *base_requirements()],
                   timeout=900)
    if resolved.returncode != 0 and ("Could not fetch" in resolved.stderr or "connection" in resolved.stderr.lower()):
        pytest.skip(f"the package registry did not answer: {resolved.stderr.strip()[-300:]}")
    assert resolved.returncode == 0, resolved.stderr[-3000:]
    installed = {item["metadata"]["name"].lower(): item["metadata"]["version"]
                 for item in json.loads(report.read_text())["install"]}
    print(f"{platform} cp{python_version}: {len(installed)} wheels, e.g. numpy {installed.get('numpy')}, "
          f"textual {installed.get('textual')}, sagemaker {installed.get('sagemaker')}")
    assert {"textual", "sagemaker", "boto3", "numpy"} <= set(installed)
    # ...while the local extra's MXNet has no wheel there: why local training is Linux-only.
    mxnet = run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
                 "--only-binary=:all:", "--platform", platform, "--python-version", python_version,
                 "--implementation", "cp", "-d", str(tmp_path / "mx"), "mxnet==1.9.1"], timeout=600)
    assert mxnet.returncode != 0 and "No matching distribution found for mxnet==1.9.1" in mxnet.stderr


def test_an_unsupported_python_is_refused_at_once(tmp_path: Path) -> None:
    python = find_python(3, 13)
    if python is None:
        pytest.skip("no Python 3.13 on this machine (PATH or pyenv): not tested here")
    clone = tmp_path / "clone"
    clone.mkdir()
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(REPO / name, clone / name)
    shutil.copytree(REPO / "tools", clone / "tools")
    started = time.monotonic()
    made = run(["make", "run", f"PYTHON={python}"], cwd=clone, timeout=60)
    elapsed = time.monotonic() - started
    print(f"make run with Python 3.13 stopped after {elapsed:.2f} s: {made.stderr.strip()}")
    assert made.returncode != 0
    lines = made.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs Python 3.11 or 3.12" in lines[0] and "is 3.13" in lines[0]
    assert "PYTHON=" in lines[0]
    assert not (clone / ".venv").exists()  # nothing was built or downloaded

    refused = run([python, "-m", "pip", "install", "--dry-run", "--no-deps", "--disable-pip-version-check",
                   str(REPO)], timeout=600)
    assert refused.returncode != 0
    assert "requires a different Python" in refused.stdout + refused.stderr
