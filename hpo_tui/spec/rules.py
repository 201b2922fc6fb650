"""Validation: every rule a spec must satisfy to be accepted by AWS and the local engine,
collected as SpecIssue(path, message) and never stopping at the first.

Imports only the rest of `hpo_tui.spec` and `hpo_tui.errors`.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any, Callable

from hpo_tui.spec.model import (
    BACKENDS,
    DEFAULT_OBJECTIVE,
    DEFAULT_REGEX,
    EARLY_STOPPING,
    HYPERPARAMETER_NAME_PATTERN,
    JOB_NAME_MAX,
    MAX_CATEGORICAL_VALUES,
    MAX_LOCAL_CONCURRENCY,
    MAX_METRIC_DEFINITIONS,
    MAX_METRIC_NAME_LENGTH,
    MAX_PARAMETER_STRING,
    MAX_RANDOM_SEED,
    MAX_REGEX_LENGTH,
    MAX_RUNTIME_SECONDS,
    MAX_STATIC_VALUE_LENGTH,
    MIN_JOBS_NOT_IMPROVING,
    MIN_RUNTIME_SECONDS,
    NAME_PATTERN,
    OBJECTIVE_TYPES,
    REGION_PATTERN,
    RESERVED_PREFIX,
    ROLE_ARN_ENV,
    ROLE_ARN_PATTERN,
    S3_URI_PATTERN,
    SCALINGS,
    STRATEGIES,
    SUPPORTED_FRAMEWORK_VERSION,
    SUPPORTED_PY_VERSION,
    CategoricalParameter,
    Channels,
    CompletionCriteria,
    ContinuousParameter,
    Estimator,
    HyperbandSettings,
    LocalSettings,
    IntegerParameter,
    MetricDefinition,
    Objective,
    SageMakerSettings,
    SpecIssue,
    TuningSpec,
    _choices,
    _is_int,
    _is_number,
    _show,
    grid_size,
    max_epochs,
)
from hpo_tui.spec.limits import (
    validate_instance_type,
    validate_source_dir,
    validate_spot,
    validate_totals,
    validate_warm_start,
)
from hpo_tui.spec.runnable import finite, validate_runnable, whole_number_problem

# ---------------------------------------------------------------------------------------
# Validation


def validate(spec: TuningSpec, *, base_dir: str | os.PathLike[str] | None = None) -> list[SpecIssue]:
    """Every problem in the spec (empty when valid); each names its field and the fix.

    Covers SageMaker's own rules for CreateHyperParameterTuningJob, so a spec that passes
    is accepted by AWS and by the local engine alike.  Never raises on odd input.
    A relative local channel directory may be relative to base_dir (the spec file's
    folder) or to the current directory.
    """
    issues: list[SpecIssue] = []

    def add(path: str, message: str) -> None:
        issues.append(SpecIssue(path, message))

    if not isinstance(spec, TuningSpec):
        return [SpecIssue("spec", f"expected a TuningSpec, got {type(spec).__name__}")]

    tuned: dict[str, Any] = spec.ranges if isinstance(spec.ranges, dict) else {}
    if isinstance(spec.estimator, Estimator):
        _validate_estimator(spec.estimator, tuned, add)
    else:
        add("estimator", "must be an estimator table (entry_point, instance_type, hyperparameters ...)")
    if not isinstance(spec.ranges, dict):
        add("ranges", "must be a table of hyperparameter ranges, one sub-table per hyperparameter")
    else:
        _validate_ranges(spec, add)
    validate_totals(spec, add)
    metric_names = _validate_metrics(spec, add)
    _validate_objective(spec, metric_names, add)
    _validate_strategy_and_limits(spec, add)
    _validate_channels(spec, add, base_dir)
    _validate_backend(spec, add)
    _validate_local(spec, add)
    validate_warm_start(spec, add)
    validate_runnable(spec, add, base_dir)  # what the engine could not hold or reach
    if spec.tuning_job_name is not None:
        _check_job_name("tuning_job_name", spec.tuning_job_name, add)
    return issues


def _check_job_name(path: str, value: Any, add: Callable[[str, str], None]) -> None:
    if not isinstance(value, str) or not value:
        add(path, f"must be a non-empty string, got {_show(value)}")
    elif len(value) > JOB_NAME_MAX:
        add(path, f"{_show(value)} is {len(value)} characters; SageMaker allows at most {JOB_NAME_MAX}")
    elif not NAME_PATTERN.fullmatch(value):
        add(path, f"{_show(value)} is not a valid SageMaker name; use letters, digits and hyphens, "
            "starting and ending with a letter or digit (e.g. \"mnist-hpo\")")


def _check_hyperparameter_name(path: str, name: Any, add: Callable[[str, str], None]) -> None:
    if not isinstance(name, str) or not HYPERPARAMETER_NAME_PATTERN.fullmatch(name):
        add(path, f"hyperparameter name {_show(name)} is not usable as a command-line option; "
            "start with a letter and use letters, digits, '_', '-' or '.'")
    elif len(name) > MAX_PARAMETER_STRING:
        add(path, f"hyperparameter name is {len(name)} characters; at most {MAX_PARAMETER_STRING}")
    elif name.startswith(RESERVED_PREFIX):
        add(path, f"names starting with {RESERVED_PREFIX!r} are reserved for the SageMaker SDK; rename it")


def _validate_estimator(est: Estimator, tuned: dict[str, Any], add: Callable[[str, str], None]) -> None:
    ep = est.entry_point
    if not isinstance(ep, str) or not ep.endswith(".py") or ep.startswith("/") or ".." in ep.split("/"):
        add("estimator.entry_point", f"{_show(ep)} must be a Python file inside source_dir, e.g. \"mnist.py\"")
    if not isinstance(est.source_dir, str) or not est.source_dir.strip():
        add("estimator.source_dir", "must name the directory holding the entry point (e.g. \"training\") "
            "or an s3:// URI of a sourcedir.tar.gz")
    if est.framework_version != SUPPORTED_FRAMEWORK_VERSION:
        add("estimator.framework_version", f"{_show(est.framework_version)} is not supported; the MNIST "
            f"script and the local engine use MXNet {SUPPORTED_FRAMEWORK_VERSION}: set framework_version = "
            f"\"{SUPPORTED_FRAMEWORK_VERSION}\"")
    if est.py_version != SUPPORTED_PY_VERSION:
        add("estimator.py_version", f"{_show(est.py_version)} is not supported; SageMaker's MXNet "
            f"{SUPPORTED_FRAMEWORK_VERSION} images run Python 3.8: set py_version = \"{SUPPORTED_PY_VERSION}\"")
    validate_instance_type(est, add)
    validate_source_dir(est, add)
    validate_spot(est, add)
    if not _is_int(est.instance_count) or est.instance_count < 1:
        add("estimator.instance_count", f"must be a whole number >= 1, got {_show(est.instance_count)}")
    if not isinstance(est.base_job_name, str):
        add("estimator.base_job_name", f"must be a string, got {_show(est.base_job_name)}")
    else:
        _check_job_name("estimator.base_job_name", est.base_job_name, add)
    hps = est.hyperparameters
    if not isinstance(hps, dict):
        add("estimator.hyperparameters", "must be a table of name = value pairs, e.g. batch_size = 100")
        return
    for name, value in hps.items():
        path = f"estimator.hyperparameters.{name}"
        _check_hyperparameter_name(path, name, add)
        if name in tuned:
            add(path, f"{name} is both static and tuned (ranges.{name}); remove one of the two")
        if not _is_number(value) and not isinstance(value, str):
            add(path, f"must be a string or a number, got {_show(value)}")
        elif isinstance(value, float) and not math.isfinite(value):
            add(path, f"must be a finite number, got {value!r}")
        elif len(json.dumps(value)) > MAX_STATIC_VALUE_LENGTH:
            add(path, f"value is longer than SageMaker's {MAX_STATIC_VALUE_LENGTH} characters; shorten it")


def _validate_ranges(spec: TuningSpec, add: Callable[[str, str], None]) -> None:
    ranges = spec.ranges
    if not ranges:
        add("ranges", "add at least one hyperparameter range to tune, e.g. "
            "[ranges.learning_rate] type = \"continuous\", min = 0.01, max = 0.2")
        return
    for name, p in ranges.items():
        path = f"ranges.{name}"
        _check_hyperparameter_name(path, name, add)
        if isinstance(p, CategoricalParameter):
            _validate_categorical(path, p, add)
        elif isinstance(p, (IntegerParameter, ContinuousParameter)):
            _validate_numeric(path, p, add)
        else:
            add(path, "must be an integer, continuous or categorical range "
                "(type = \"integer\", \"continuous\" or \"categorical\")")


def _validate_categorical(path: str, p: CategoricalParameter, add: Callable[[str, str], None]) -> None:
    values = p.values
    if not isinstance(values, list):
        add(f"{path}.values", f"must be a list of strings, e.g. [\"sgd\", \"Adam\"], got {_show(values)}")
        return
    if not 1 <= len(values) <= MAX_CATEGORICAL_VALUES:
        add(f"{path}.values", f"has {len(values)} values; give between 1 and {MAX_CATEGORICAL_VALUES}")
    # The SDK sends a framework's categorical values JSON-encoded, quotes included.
    bad = [v for v in values if not isinstance(v, str) or not v or len(json.dumps(v)) > MAX_PARAMETER_STRING]
    if bad:
        add(f"{path}.values", f"{_show(bad[0])[:40]} is not a usable value; each value must be a non-empty "
            f"string of at most {MAX_PARAMETER_STRING - 2} characters")
    seen: set[Any] = set()
    dups = [v for v in values if isinstance(v, str) and (v in seen or seen.add(v))]
    if dups:
        add(f"{path}.values", f"{_show(dups[0])} is listed more than once; values must be distinct")


def _validate_numeric(path: str, p: IntegerParameter | ContinuousParameter, add: Callable[[str, str], None]) -> None:
    integer = isinstance(p, IntegerParameter)
    bounds_ok = True
    for bound in ("min", "max"):
        v = getattr(p, bound)
        if integer and not _is_int(v):
            add(f"{path}.{bound}", f"an integer range needs whole-number bounds, got {_show(v)}; "
                "use a whole number or make the range continuous")
            bounds_ok = False
        elif not integer and not _is_number(v):
            add(f"{path}.{bound}", f"must be a number, got {_show(v)}")
            bounds_ok = False
        elif integer and (too_large := whole_number_problem(v)):
            add(f"{path}.{bound}", too_large)
            bounds_ok = False
        elif not finite(v):
            add(f"{path}.{bound}", f"must be a finite number, got {v!r}")
            bounds_ok = False
        elif len(str(v)) > MAX_PARAMETER_STRING:
            add(f"{path}.{bound}", f"is too long as a string (over {MAX_PARAMETER_STRING} characters)")
            bounds_ok = False
    if bounds_ok and not p.min < p.max:
        add(f"{path}.min", f"min ({p.min!r}) must be less than max ({p.max!r})")
    for issue in scaling_issues(path, p, bounds_ok=bounds_ok):
        add(issue.path, issue.message)


def scaling_issues(path: str, p: IntegerParameter | ContinuousParameter, *, bounds_ok: bool = True) -> list[SpecIssue]:
    """The scaling rules of one numeric range at `path` (ranges.NAME): a known scaling type,
    and the bounds Logarithmic and ReverseLogarithmic need (checked when bounds_ok: the
    bounds are numbers). The local search samples a range by these same rules."""
    integer = isinstance(p, IntegerParameter)
    scaling = p.scaling
    if scaling not in SCALINGS:
        return [SpecIssue(f"{path}.scaling", f"{_show(scaling)} is not a scaling type; use one of {_choices(SCALINGS)}")]
    if scaling == "Logarithmic" and bounds_ok and p.min <= 0:
        return [SpecIssue(f"{path}.min", f"Logarithmic scaling needs min > 0 (got {p.min!r}); raise min or use "
                          "scaling = \"Linear\"")]
    if scaling == "ReverseLogarithmic":
        if integer:
            return [SpecIssue(f"{path}.scaling", "ReverseLogarithmic scaling works for continuous ranges only; use "
                              "\"Linear\" or \"Logarithmic\", or make the range continuous")]
        if bounds_ok and not (0 <= p.min < p.max < 1):
            return [SpecIssue(f"{path}.min" if p.min < 0 else f"{path}.max",
                              f"ReverseLogarithmic scaling needs 0 <= min < max < 1 (got {p.min!r} .. {p.max!r}); "
                              "change the bounds or use scaling = \"Linear\"")]
    return []


def _validate_metrics(spec: TuningSpec, add: Callable[[str, str], None]) -> set[str]:
    names: set[str] = set()
    defs = spec.metric_definitions
    if not isinstance(defs, list):
        add("metric_definitions", "must be a list of {name, regex} tables ([[metric_definitions]])")
        return names
    if not defs:
        add("metric_definitions", "add at least one metric definition for the objective, e.g. "
            f"name = \"{DEFAULT_OBJECTIVE}\", regex = '{DEFAULT_REGEX}'")
    if len(defs) > MAX_METRIC_DEFINITIONS:
        add("metric_definitions", f"{len(defs)} definitions; SageMaker allows at most {MAX_METRIC_DEFINITIONS} "
            "per tuning job; remove some")
    for i, md in enumerate(defs):
        path = f"metric_definitions[{i}]"
        if not isinstance(md, MetricDefinition):
            add(path, "must be a table with name and regex")
            continue
        if not isinstance(md.name, str) or not md.name.strip():
            add(f"{path}.name", f"must be a non-empty string, got {_show(md.name)}")
        elif len(md.name) > MAX_METRIC_NAME_LENGTH:
            add(f"{path}.name", f"is {len(md.name)} characters; at most {MAX_METRIC_NAME_LENGTH}")
        elif md.name in names:
            add(f"{path}.name", f"{_show(md.name)} is defined more than once; metric names must be unique")
        else:
            names.add(md.name)
        regex = md.regex
        if not isinstance(regex, str) or not regex:
            add(f"{path}.regex", f"must be a non-empty regular expression, got {_show(regex)}")
            continue
        if len(regex) > MAX_REGEX_LENGTH:
            add(f"{path}.regex", f"is {len(regex)} characters; SageMaker allows at most {MAX_REGEX_LENGTH}")
        try:
            groups = re.compile(regex).groups
        except re.error as err:
            add(f"{path}.regex", f"does not compile ({err}); fix the regular expression")
            continue
        if groups != 1:
            add(f"{path}.regex", f"has {groups} capture groups; it needs exactly one, around the number, "
                "e.g. 'Validation-accuracy=([0-9\\.]+)' (use (?:...) for other groups)")
    return names


def _validate_objective(spec: TuningSpec, metric_names: set[str], add: Callable[[str, str], None]) -> None:
    obj = spec.objective
    if not isinstance(obj, Objective):
        add("objective", "must be a table with name and type")
        return
    if obj.type not in OBJECTIVE_TYPES:
        add("objective.type", f"{_show(obj.type)} is not an objective type; use {_choices(OBJECTIVE_TYPES)}")
    if not isinstance(obj.name, str) or not obj.name.strip():
        add("objective.name", f"must name a metric, got {_show(obj.name)}")
    elif isinstance(spec.metric_definitions, list) and obj.name not in metric_names:
        known = ", ".join(sorted(metric_names)) or "none"
        add("objective.name", f"{_show(obj.name)} is not among the metric definitions ({known}); "
            "add a [[metric_definitions]] entry with that name or pick one of them")
    bounds = {}
    for key in ("lowest", "highest"):
        value = getattr(obj, key, None)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            add(f"objective.{key}", f"{_show(value)} is not a number; give the {key} value the metric can "
                "take (e.g. 0 and 1 for an accuracy), or leave it out")
        else:
            bounds[key] = value
    if len(bounds) == 2 and bounds["lowest"] >= bounds["highest"]:
        add("objective.highest", f"{_show(bounds['highest'])} must be above objective.lowest "
            f"({_show(bounds['lowest'])})")


def _validate_strategy_and_limits(spec: TuningSpec, add: Callable[[str, str], None]) -> None:
    if spec.strategy not in STRATEGIES:
        add("strategy", f"{_show(spec.strategy)} is not a strategy; use one of {_choices(STRATEGIES)}")
    if spec.early_stopping not in EARLY_STOPPING:
        add("early_stopping", f"{_show(spec.early_stopping)} is not valid; use {_choices(EARLY_STOPPING)}")
    elif spec.strategy == "Hyperband" and spec.early_stopping != "Off":
        add("early_stopping", "Hyperband stops jobs itself; set early_stopping = \"Off\"")

    grid = spec.strategy == "Grid"
    combos = grid_size(spec) if grid else None
    if grid and isinstance(spec.ranges, dict):
        for name, p in spec.ranges.items():
            if not isinstance(p, CategoricalParameter):
                add(f"ranges.{name}", f"the Grid strategy takes categorical ranges only; list the values "
                    f"of {name} to try (type = \"categorical\", values = [...]) or pick another strategy")

    max_jobs = spec.max_jobs
    if max_jobs is None:
        if not grid:
            add("max_jobs", "set the number of training jobs (e.g. max_jobs = 9); only the Grid "
                "strategy computes it")
    elif not _is_int(max_jobs) or max_jobs < 1:
        add("max_jobs", f"must be a whole number >= 1, got {_show(max_jobs)}")
    elif combos is not None and max_jobs != combos:
        add("max_jobs", f"the Grid strategy runs all {combos} combinations, not {max_jobs}; set "
            f"max_jobs = {combos} or remove max_jobs")

    mpj = spec.max_parallel_jobs
    if not _is_int(mpj) or mpj < 1:
        add("max_parallel_jobs", f"must be a whole number >= 1, got {_show(mpj)}")
    else:
        limit = combos if (grid and max_jobs is None) else max_jobs
        if _is_int(limit) and limit >= 1 and mpj > limit:
            add("max_parallel_jobs", f"{mpj} parallel jobs is more than the {limit} jobs in total; "
                f"set max_parallel_jobs <= {limit}")

    rt = spec.max_runtime_seconds
    if rt is not None and (not _is_int(rt) or not MIN_RUNTIME_SECONDS <= rt <= MAX_RUNTIME_SECONDS):
        add("max_runtime_seconds", f"must be a whole number of seconds between {MIN_RUNTIME_SECONDS} and "
            f"{MAX_RUNTIME_SECONDS:,} (182.5 days), got {_show(rt)}; or remove it for no limit")
    seed = spec.random_seed
    if seed is not None and (not _is_int(seed) or not 0 <= seed <= MAX_RANDOM_SEED):
        add("random_seed", f"must be a whole number between 0 and {MAX_RANDOM_SEED}, got {_show(seed)}")

    comp = spec.completion
    if not isinstance(comp, CompletionCriteria):
        add("completion", "must be a table (target_objective_value, max_jobs_not_improving)")
    else:
        t = comp.target_objective_value
        if t is not None and (not _is_number(t) or not math.isfinite(t)):
            add("completion.target_objective_value", f"must be a finite number, got {_show(t)}")
        n = comp.max_jobs_not_improving
        if n is not None and (not _is_int(n) or n < MIN_JOBS_NOT_IMPROVING):
            add("completion.max_jobs_not_improving", f"must be a whole number >= {MIN_JOBS_NOT_IMPROVING} "
                f"(SageMaker's minimum), got {_show(n)}")

    hb = spec.hyperband
    if not isinstance(hb, HyperbandSettings):
        add("hyperband", "must be a table (min_resource, max_resource)")
        return
    ok = True
    for key in ("min_resource", "max_resource"):
        v = getattr(hb, key)
        if v is None:
            continue
        if not _is_int(v) or v < 1:
            add(f"hyperband.{key}", f"must be a whole number of epochs >= 1, got {_show(v)}")
            ok = False
        elif spec.strategy != "Hyperband":
            add(f"hyperband.{key}", "only the Hyperband strategy uses it; remove it or set strategy = \"Hyperband\"")
            ok = False
    if ok and hb.min_resource is not None and hb.max_resource is not None and hb.min_resource > hb.max_resource:
        add("hyperband.min_resource", f"min_resource ({hb.min_resource}) must not exceed max_resource "
            f"({hb.max_resource})")
    if ok and spec.strategy == "Hyperband" and hb.max_resource is None and max_epochs(spec) is None:
        add("hyperband.max_resource", "Hyperband needs the most epochs a job can run: set "
            "hyperband.max_resource, or a num_epoch range or static hyperparameter")


def _validate_local(spec: TuningSpec, add: Callable[[str, str], None]) -> None:
    local = spec.local
    if not isinstance(local, LocalSettings):
        add("local", "must be a table (concurrency, stall_seconds, stall_timeout_seconds, log_max_bytes)")
        return
    n = local.concurrency
    if n is not None and (not _is_int(n) or not 1 <= n <= MAX_LOCAL_CONCURRENCY):
        add("local.concurrency", f"must be a whole number of training jobs from 1 to {MAX_LOCAL_CONCURRENCY}, "
            f"got {_show(n)}; leave it out for one job per core")
    for field_name in ("stall_seconds", "stall_timeout_seconds"):
        v = getattr(local, field_name, None)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0):
            add(f"local.{field_name}", f"must be a number of seconds > 0, got {_show(v)}; leave it out for "
                + ("300" if field_name == "stall_seconds" else "no timeout"))
    cap = getattr(local, "log_max_bytes", None)
    if cap is not None and (not _is_int(cap) or cap < 4096):
        add("local.log_max_bytes", f"must be a whole number of bytes >= 4096, got {_show(cap)}; leave it out "
            "for 100 MB per job log")


def _validate_channels(spec: TuningSpec, add: Callable[[str, str], None],
                       base_dir: str | os.PathLike[str] | None) -> None:
    ch = spec.channels
    if not isinstance(ch, Channels):
        add("channels", "must be a table with train and test")
        return
    for name in ("train", "test"):
        value = getattr(ch, name)
        path = f"channels.{name}"
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            add(path, f"must be a local directory or an s3:// URI, got {_show(value)}")
        elif "://" in value or value.startswith("s3:"):
            if not S3_URI_PATTERN.fullmatch(value) or len(value) > 1024:
                add(path, f"{_show(value)} is not a well-formed S3 URI; use s3://bucket/prefix with a valid "
                    "bucket name (3-63 lowercase letters, digits, '.' or '-')")
        else:
            p = Path(value).expanduser()
            if base_dir is not None and not p.is_absolute() and (Path(base_dir) / p).exists():
                p = Path(base_dir) / p
            if not p.exists():
                add(path, f"local directory {value} does not exist; create it (hpo-tui data prepare) or "
                    "remove the entry to use the default channel")
            elif not p.is_dir():
                add(path, f"{value} is a file; a channel is a directory holding the data files")


def _validate_backend(spec: TuningSpec, add: Callable[[str, str], None]) -> None:
    if spec.backend not in BACKENDS:
        add("backend", f"{_show(spec.backend)} is not a backend; use {_choices(BACKENDS)}")
    sm = spec.sagemaker
    if not isinstance(sm, SageMakerSettings):
        add("sagemaker", "must be a table (role_arn, region, profile)")
        return
    role = sm.role_arn
    if role is not None:
        if not isinstance(role, str) or not ROLE_ARN_PATTERN.fullmatch(role):
            add("sagemaker.role_arn", f"{_show(role)} is not an IAM role ARN; it looks like "
                "arn:aws:iam::123456789012:role/SageMakerRole")
    elif spec.backend == "sagemaker" and not os.environ.get(ROLE_ARN_ENV):
        add("sagemaker.role_arn", f"the sagemaker backend needs an execution role; set role_arn = "
            f"\"arn:aws:iam::<account>:role/<name>\" or the {ROLE_ARN_ENV} environment variable")
    if sm.region is not None and (not isinstance(sm.region, str) or not REGION_PATTERN.fullmatch(sm.region)):
        add("sagemaker.region", f"{_show(sm.region)} is not an AWS region name; use one like \"us-west-2\"")
    price = sm.price_per_hour
    if price is not None and (not _is_number(price) or not math.isfinite(price) or price <= 0):
        add("sagemaker.price_per_hour", f"must be the dollars one instance-hour of the instance type costs "
            f"(a number > 0, e.g. 0.23), got {_show(price)}")
    if sm.profile is not None and (not isinstance(sm.profile, str) or not sm.profile.strip()):
        add("sagemaker.profile", f"must be the name of an AWS profile, got {_show(sm.profile)}")
