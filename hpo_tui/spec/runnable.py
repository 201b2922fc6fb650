"""What validate() must also refuse so that launch runs what it accepts (AWS's own limits are
in `limits`): numbers beyond what the store and the search can hold, values no command line
can pass, inputs the backend cannot reach (an s3:// channel or source_dir locally, a local
source_dir that is not there). Launch and the engine trust a spec that passed validate().

Imports only the rest of `hpo_tui.spec`, `hpo_tui.paths` and `hpo_tui.errors`.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Callable

from hpo_tui.spec.model import (
    S3_URI_PATTERN,
    CategoricalParameter,
    Channels,
    ContinuousParameter,
    Estimator,
    HyperbandSettings,
    IntegerParameter,
    TuningSpec,
    _is_int,
    _is_number,
    _show,
    max_epochs,
)

# The largest whole number (in size) a bound, a static value or an epoch count may be: the
# search samples integers through floats, exact below 2**53, and the store keeps 64 bits.
MAX_WHOLE_NUMBER = 10**15

Add = Callable[[str, str], None]


def _brief(n: int) -> str:
    """n for a message; a number of hundreds of digits is described, not printed."""
    return str(n) if n.bit_length() <= 128 else f"a number of {int(n.bit_length() * math.log10(2)) + 1} digits"


def finite(v: Any) -> bool:
    """math.isfinite that says False, instead of raising, for an int too large for a float."""
    try:
        return math.isfinite(v)
    except OverflowError:
        return False


def whole_number_problem(v: int) -> str | None:
    """Why the whole number v cannot be used as a bound or value, or None."""
    if abs(v) <= MAX_WHOLE_NUMBER:
        return None
    return (f"{_brief(v)} is too large; a whole number here must be at most {MAX_WHOLE_NUMBER:,} in size "
            f"(between -{MAX_WHOLE_NUMBER:,} and {MAX_WHOLE_NUMBER:,})")


def validate_runnable(spec: TuningSpec, add: Add, base_dir: str | os.PathLike[str] | None) -> None:
    """The checks of this module, called by validate() after SageMaker's rules."""
    _check_job_counts(spec, add)
    _check_ranges(spec, add)
    if isinstance(spec.estimator, Estimator):
        _check_static_values(spec.estimator, add)
        if spec.backend == "local":  # SageMaker's source_dir rules are the SageMaker checks'
            _check_source_dir(spec.estimator, add, base_dir)
    _check_epochs(spec, add)
    _check_local_channels(spec, add)


def _check_job_counts(spec: TuningSpec, add: Add) -> None:
    # max_jobs and Grid combinations: SageMaker's 750 (spec.limits) is the stricter bound.
    hb = spec.hyperband
    if isinstance(hb, HyperbandSettings):
        for key in ("min_resource", "max_resource"):
            v = getattr(hb, key)
            if _is_int(v) and (problem := whole_number_problem(v)):
                add(f"hyperband.{key}", problem)


def _check_ranges(spec: TuningSpec, add: Add) -> None:
    """Integer bounds are checked by validate()'s range rules (whole_number_problem); here: a
    continuous range wider than a float can hold, and NUL in categorical values."""
    if not isinstance(spec.ranges, dict):
        return
    for name, p in spec.ranges.items():
        path = f"ranges.{name}"
        if isinstance(p, ContinuousParameter) and p.scaling in ("Auto", "Linear"):
            lo, hi = p.min, p.max
            if _is_number(lo) and _is_number(hi) and finite(lo) and finite(hi) and lo < hi \
                    and not finite(float(hi) - float(lo)):
                add(f"{path}.max", f"the range from {lo!r} to {hi!r} is too wide to sample (max - min "
                    "overflows); narrow it or use scaling = \"Logarithmic\"")
        elif isinstance(p, CategoricalParameter) and isinstance(p.values, list):
            nul = next((v for v in p.values if isinstance(v, str) and "\x00" in v), None)
            if nul is not None:
                add(f"{path}.values", f"{_show(nul)} contains a NUL character, which no command line "
                    "can pass to the training script; remove it")


def _check_static_values(est: Estimator, add: Add) -> None:
    if not isinstance(est.hyperparameters, dict):
        return
    for name, value in est.hyperparameters.items():
        path = f"estimator.hyperparameters.{name}"
        if _is_int(value) and (problem := whole_number_problem(value)):
            add(path, problem)
        elif isinstance(value, str) and "\x00" in value:
            add(path, f"{_show(value)} contains a NUL character, which no command line can pass to "
                "the training script; remove it")


def _check_epochs(spec: TuningSpec, add: Add) -> None:
    """The most epochs a job may run is stored and given to Hyperband: it must fit too. An
    integer num_epoch range or static value is already checked above."""
    ranges = spec.ranges if isinstance(spec.ranges, dict) else {}
    p = ranges.get("num_epoch")
    static = spec.estimator.hyperparameters if isinstance(spec.estimator, Estimator) and \
        isinstance(spec.estimator.hyperparameters, dict) else {}
    if isinstance(p, IntegerParameter) or (p is None and _is_int(static.get("num_epoch"))):
        return
    try:
        epochs = max_epochs(spec)
    except (TypeError, ValueError, OverflowError, AttributeError):
        return  # a malformed range or value: reported by the range rules
    if epochs is not None and epochs > MAX_WHOLE_NUMBER:
        path = "ranges.num_epoch" if p is not None else "estimator.hyperparameters.num_epoch"
        add(path, f"a job could run {_brief(epochs)} epochs; at most {MAX_WHOLE_NUMBER:,} can be counted, "
            "and far fewer finish: lower num_epoch")


def _check_local_channels(spec: TuningSpec, add: Add) -> None:
    if spec.backend != "local" or not isinstance(spec.channels, Channels):
        return
    for name in ("train", "test"):
        value = getattr(spec.channels, name)
        # A malformed URI is named by the channel rules; a well-formed one is named here.
        if isinstance(value, str) and S3_URI_PATTERN.fullmatch(value):
            add(f"channels.{name}", f"{value} is an S3 URI, which the local backend cannot read; use a local "
                "folder, or leave it out for the packaged MNIST data (or set backend = \"sagemaker\")")


# -- source_dir -----------------------------------------------------------------------------------


def source_dir_candidates(source_dir: str, base_dir: str | os.PathLike[str] | None) -> list[Path]:
    """Where a local source_dir may be, in order: as given when absolute; else relative to the
    spec file's folder, then to the current directory; and for "training", the training/
    folder shipped with hpo-tui. The local backend runs the first that holds the entry point."""
    given = Path(source_dir).expanduser()
    if given.is_absolute():
        candidates = [given]
    else:
        candidates = ([Path(base_dir) / given] if base_dir is not None else []) + [Path.cwd() / given]
    if source_dir.rstrip("/") == "training":
        from hpo_tui.paths import training_dir

        candidates.append(training_dir())
    return candidates


def _check_source_dir(est: Estimator, add: Add, base_dir: str | os.PathLike[str] | None) -> None:
    src, ep = est.source_dir, est.entry_point
    if not isinstance(src, str) or not src.strip():
        return  # empty: the estimator rules say so
    if src.startswith("s3:"):
        add("estimator.source_dir", f"{_show(src)} is in S3, which the local backend cannot run from; point "
            "it at a local folder that holds the entry point, or use \"training\" for the bundled MNIST script")
        return
    if not isinstance(ep, str) or not ep.endswith(".py") or ep.startswith("/") or ".." in ep.split("/"):
        return  # the estimator rules name the entry point's problem
    folders = [c for c in source_dir_candidates(src, base_dir) if c.is_dir()]
    if not folders:
        where = f" (looked in {base_dir} and the current folder)" if base_dir is not None and \
            not Path(src).expanduser().is_absolute() else ""
        add("estimator.source_dir", f"folder {src} not found{where}; point it at the folder that holds "
            f"{ep}, or use \"training\" for the bundled MNIST script")
    elif not any((folder / ep).is_file() for folder in folders):
        add("estimator.entry_point", f"{ep} is not in {folders[0]}; set entry_point to a script in that "
            "folder, or source_dir to the folder that holds it")
