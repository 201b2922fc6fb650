"""Properties: valid specs survive TOML unchanged; accepted specs render requests AWS accepts."""

from __future__ import annotations

import copy
import math
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hpo_tui.spec import (
    SCALINGS,
    CategoricalParameter,
    ContinuousParameter,
    Estimator,
    IntegerParameter,
    MetricDefinition,
    Objective,
    TuningSpec,
    dumps_toml,
    loads_toml,
    max_epochs,
    SpecError,
    render_request,
    spec_from_dict,
    validate,
)

from .aws_shapes import botocore_report, strict_problems

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

hp_names = st.from_regex(r"[a-zA-Z][a-zA-Z0-9_.-]{0,10}", fullmatch=True).filter(lambda n: not n.startswith("sagemaker_"))
job_names = st.from_regex(r"[a-zA-Z0-9](-?[a-zA-Z0-9]){0,15}", fullmatch=True)
value_text = st.text(alphabet=string.ascii_letters + string.digits + "._-", min_size=1, max_size=8)
ROLES = ["arn:aws:iam::123456789012:role/SageMakerRole",
         "arn:aws-cn:iam::000011112222:role/service-role/AmazonSageMaker-ExecutionRole-1"]
REGIONS = ["us-east-1", "us-west-2", "eu-central-1", "af-south-1", "cn-north-1", "us-gov-west-1"]
S3_URIS = ["s3://my-bucket/mnist/train", "s3://data.example-1", "s3://abc/x/y/z/"]
INSTANCE_TYPES = ["ml.m5.xlarge", "ml.c5.2xlarge", "ml.p3.2xlarge", "ml.g4dn.xlarge", "ml.m5.large"]
GOOD_REGEXES = [r"Validation-accuracy=([0-9\.]+)", r"loss: (\S+)", r"(?:train|val)-acc=([-+0-9.e]+)",
                r"^Epoch\[\d+\] Validation-loss=(.*)$"]


@st.composite
def numeric_range(draw: st.DrawFn) -> IntegerParameter | ContinuousParameter:
    if draw(st.booleans()):
        scaling = draw(st.sampled_from(["Auto", "Linear", "Logarithmic"]))
        low = 1 if scaling == "Logarithmic" else -10_000
        lo = draw(st.integers(low, 10_000))
        hi = draw(st.integers(lo + 1, 10_001))
        return IntegerParameter(lo, hi, scaling)
    scaling = draw(st.sampled_from(SCALINGS))
    if scaling == "ReverseLogarithmic":
        a, b = draw(st.floats(0, 1, exclude_max=True)), draw(st.floats(0, 1, exclude_max=True))
    elif scaling == "Logarithmic":
        a, b = draw(st.floats(1e-12, 1e12)), draw(st.floats(1e-12, 1e12))
    else:
        a, b = draw(st.floats(-1e12, 1e12)), draw(st.floats(-1e12, 1e12))
    if a == b:
        b = math.nextafter(b, 1.0 if scaling == "ReverseLogarithmic" else math.inf)
        if not b < 1 and scaling == "ReverseLogarithmic":
            a = math.nextafter(a, 0.0)
    lo, hi = sorted((a, b))
    return ContinuousParameter(lo, hi, scaling)


categorical = st.lists(value_text, min_size=1, max_size=5, unique=True).map(CategoricalParameter)


@st.composite
def valid_specs(draw: st.DrawFn) -> TuningSpec:
    strategy = draw(st.sampled_from(["Bayesian", "Random", "Hyperband", "Grid"]))
    grid = strategy == "Grid"
    names = draw(st.lists(hp_names, min_size=1, max_size=4 if grid else 6, unique=True))
    ranges = {}
    for name in names:
        if grid:
            ranges[name] = draw(st.lists(value_text, min_size=1, max_size=3, unique=True).map(CategoricalParameter))
        else:
            ranges[name] = draw(st.one_of(numeric_range(), categorical))
    static_names = draw(st.lists(hp_names.filter(lambda n: n not in ranges), max_size=3, unique=True))
    static_values = st.one_of(st.integers(-2**40, 2**40), st.floats(allow_nan=False, allow_infinity=False),
                              # No NUL: no command line can pass it, so validate refuses it (issue 13).
                              st.text(st.characters(blacklist_characters="\x00"), max_size=20))
    static = {n: draw(static_values) for n in static_names}

    objective = draw(st.from_regex(r"[A-Za-z][A-Za-z:_-]{0,20}", fullmatch=True))
    others = draw(st.lists(st.from_regex(r"[a-z][a-z-]{0,12}", fullmatch=True).filter(lambda n: n != objective),
                           max_size=2, unique=True))
    metric_defs = [MetricDefinition(n, draw(st.sampled_from(GOOD_REGEXES))) for n in [objective, *others]]
    metric_defs = draw(st.permutations(metric_defs))

    if grid:
        combos = math.prod(len(p.values) for p in ranges.values())
        max_jobs = draw(st.sampled_from([None, combos]))
        total = combos
    else:
        max_jobs = total = draw(st.integers(1, 500))
    spec = TuningSpec(
        estimator=Estimator(
            entry_point=draw(st.sampled_from(["mnist.py", "train.py", "src/main.py"])),
            source_dir=draw(st.sampled_from(["training", "s3://code-bucket/src.tar.gz"])),
            instance_type=draw(st.sampled_from(INSTANCE_TYPES)),
            instance_count=draw(st.integers(1, 4)),
            hyperparameters=static,
            base_job_name=draw(job_names),
        ),
        ranges=ranges,
        objective=Objective(objective, draw(st.sampled_from(["Maximize", "Minimize"]))),
        metric_definitions=list(metric_defs),
        strategy=strategy,
        early_stopping="Off" if strategy == "Hyperband" else draw(st.sampled_from(["Off", "Auto"])),
        max_jobs=max_jobs,
        max_parallel_jobs=draw(st.integers(1, min(total, 20))),
        max_runtime_seconds=draw(st.none() | st.integers(120, 15_768_000)),
        random_seed=draw(st.none() | st.integers(0, 2**31 - 1)),
        backend=draw(st.sampled_from(["local", "sagemaker"])),
        tuning_job_name=draw(st.none() | job_names),
    )
    spec.completion.target_objective_value = draw(st.none() | st.floats(allow_nan=False, allow_infinity=False))
    spec.completion.max_jobs_not_improving = draw(st.none() | st.integers(3, 1000))
    if strategy == "Hyperband":
        lo = draw(st.none() | st.integers(1, 10))
        spec.hyperband.min_resource = lo
        spec.hyperband.max_resource = draw(st.none() | st.integers(lo or 1, 100))
        if spec.hyperband.max_resource is None and max_epochs(spec) is None:
            # Without a num_epoch to infer it from, Hyperband needs its epoch budget spelled out.
            spec.hyperband.max_resource = draw(st.integers(lo or 1, 100))
    spec.channels.train = draw(st.none() | st.sampled_from(S3_URIS))
    spec.channels.test = draw(st.none() | st.sampled_from(S3_URIS))
    if spec.backend == "sagemaker" or draw(st.booleans()):
        spec.sagemaker.role_arn = draw(st.sampled_from(ROLES))
    spec.sagemaker.region = draw(st.none() | st.sampled_from(REGIONS))
    spec.sagemaker.profile = draw(st.none() | st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True))
    if spec.backend == "local":
        # The local backend runs a local script on local data (validate checks that it can).
        spec.estimator.source_dir, spec.estimator.entry_point = "training", "mnist.py"
        spec.channels.train = spec.channels.test = None
    return spec


@pytest.fixture(autouse=True)
def _no_role_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAGEMAKER_ROLE_ARN", raising=False)


@SETTINGS
@given(valid_specs())
def test_valid_specs_round_trip_and_render_requests_botocore_accepts(spec: TuningSpec) -> None:
    assert validate(spec) == []
    assert loads_toml(dumps_toml(spec)) == spec
    request = render_request(spec)
    assert botocore_report(request) == ""
    assert strict_problems(request) == []


# Mutations that move a valid spec towards (and past) SageMaker's limits.  Whatever
# validation still accepts afterwards must render to a request AWS accepts.
def _mutations() -> st.SearchStrategy:
    def set_top(field: str, values: st.SearchStrategy) -> st.SearchStrategy:
        return values.map(lambda v: lambda s: setattr(s, field, v))

    def set_range(values: st.SearchStrategy, attr: str) -> st.SearchStrategy:
        def apply(v):
            def change(s: TuningSpec) -> None:
                for p in s.ranges.values():
                    if not isinstance(p, CategoricalParameter):
                        setattr(p, attr, v)
                        return
            return change
        return values.map(apply)

    def near(*edges: int) -> st.SearchStrategy:
        return st.sampled_from([e + d for e in edges for d in (-1, 0, 1)])

    return st.one_of(
        set_top("max_runtime_seconds", near(0, 120, 15_768_000) | st.integers(-5, 16_000_000)),
        set_top("random_seed", near(0, 2**31 - 1) | st.integers(-3, 2**32)),
        set_top("max_jobs", st.none() | near(0, 1) | st.integers(-2, 600)),
        set_top("max_parallel_jobs", near(0, 1) | st.integers(-2, 600)),
        set_top("tuning_job_name", st.text(alphabet=string.ascii_letters + "-_.", max_size=40)),
        set_top("early_stopping", st.sampled_from(["Off", "Auto"])),
        set_top("strategy", st.sampled_from(["Bayesian", "Random", "Hyperband", "Grid"])),
        set_range(st.sampled_from(SCALINGS), "scaling"),
        set_range(st.floats(-2, 2), "min"),
        set_range(st.floats(-2, 2), "max"),
        near(3).map(lambda n: lambda s: setattr(s.completion, "max_jobs_not_improving", n)),
        st.integers(-1, 3).map(lambda n: lambda s: setattr(s.estimator, "instance_count", n)),
        st.integers(-1, 3).map(lambda n: lambda s: setattr(s.hyperband, "min_resource", n)),
        st.text(max_size=40).map(lambda t: lambda s: setattr(s.estimator, "base_job_name", t)),
        st.sampled_from(["(x", "x", "(a)(b)", "", "a" * 497 + "(b)", "a" * 498 + "(b)", r"acc=(\d+)"]).map(
            lambda r: lambda s: setattr(s.metric_definitions[0], "regex", r)),
        st.sampled_from(["ml.m5.xlarge", "m5.xlarge", "ml.p3.2xlarge"]).map(
            lambda t: lambda s: setattr(s.estimator, "instance_type", t)),
        st.sampled_from(["s3://ok-bucket/x", "s3://NO/x", "s3:/x", "https://a/b"]).map(
            lambda u: lambda s: setattr(s.channels, "train", u)),
        st.sampled_from([None, "arn:aws:iam::1:role/x", ROLES[0]]).map(
            lambda r: lambda s: setattr(s.sagemaker, "role_arn", r)),
    )


@SETTINGS
@given(valid_specs(), st.lists(_mutations(), min_size=1, max_size=3))
def test_whatever_validation_accepts_renders_a_valid_request(spec: TuningSpec, changes: list) -> None:
    spec = copy.deepcopy(spec)
    for change in changes:
        change(spec)
    if validate(spec):
        return
    request = render_request(spec)
    assert botocore_report(request) == ""
    assert strict_problems(request) == []
    assert loads_toml(dumps_toml(spec)) == spec


# Each of SageMaker's limits, at the limit and one step past it: validation accepts the
# first, refuses the second, and what it accepts renders a request AWS accepts.
def _at(change):
    def build(n: int) -> TuningSpec:
        spec = TuningSpec(backend="sagemaker")
        spec.sagemaker.role_arn = ROLES[0]
        change(spec, n)
        return spec
    return build


LIMITS = {
    "max_runtime_seconds": (15_768_000, _at(lambda s, n: setattr(s, "max_runtime_seconds", n))),
    "max_runtime_seconds_low": (-120, _at(lambda s, n: setattr(s, "max_runtime_seconds", -n))),
    "max_jobs_not_improving": (-3, _at(lambda s, n: setattr(s.completion, "max_jobs_not_improving", -n))),
    "random_seed": (0, _at(lambda s, n: setattr(s, "random_seed", -n))),
    "max_parallel_jobs": (9, _at(lambda s, n: setattr(s, "max_parallel_jobs", n))),
    "max_jobs": (-1, _at(lambda s, n: (setattr(s, "max_jobs", -n), setattr(s, "max_parallel_jobs", 1)))),
    "regex_length": (500, _at(lambda s, n: setattr(s.metric_definitions[0], "regex", "a" * (n - 3) + "(b)"))),
    "metric_definitions": (20, _at(lambda s, n: s.metric_definitions.extend(
        MetricDefinition(f"m{i}", "m=(.*)") for i in range(n - 1)))),
    "metric_name": (255, _at(lambda s, n: (setattr(s.metric_definitions[0], "name", "m" * n),
                                            setattr(s.objective, "name", "m" * n)))),
    "categorical_values": (30, _at(lambda s, n: s.ranges.update(
        optimizer=CategoricalParameter([f"v{i}" for i in range(n)])))),
    "categorical_value_length": (254, _at(lambda s, n: s.ranges.update(
        optimizer=CategoricalParameter(["v" * n])))),
    # 30 ranges in total, whatever their types (the spec has 3 already).
    "ranges_in_total": (30, _at(lambda s, n: s.ranges.update(
        {f"c{i}": ContinuousParameter(0.0, 1.0) for i in range(n - 3)}))),
    "max_parallel_jobs_aws": (100, _at(lambda s, n: (setattr(s, "max_jobs", 750), setattr(s, "max_parallel_jobs", n)))),
    "max_jobs_aws": (750, _at(lambda s, n: setattr(s, "max_jobs", n))),
    "hyperparameter_name": (256, _at(lambda s, n: s.ranges.update({"h" * n: CategoricalParameter(["a"])}))),
    "static_value": (2500, _at(lambda s, n: s.estimator.hyperparameters.update(note="x" * (n - 2)))),
    "base_job_name": (32, _at(lambda s, n: setattr(s.estimator, "base_job_name", "b" * n))),
    "tuning_job_name": (32, _at(lambda s, n: setattr(s, "tuning_job_name", "t" * n))),
    "instance_count": (-1, _at(lambda s, n: setattr(s.estimator, "instance_count", -n))),
    # 100 in all: 3 tuned + static + the SDK's 7 + _tuning_objective_metric.
    "static_hyperparameters": (89, _at(lambda s, n: s.estimator.hyperparameters.update(
        {f"s{i}": i for i in range(n - 1)}))),
}


@pytest.mark.parametrize("limit", sorted(LIMITS))
def test_validation_limits_are_sagemakers(limit: str) -> None:
    edge, build = LIMITS[limit]
    at_limit, past_limit = build(edge), build(edge + 1)
    assert validate(at_limit) == []
    assert validate(past_limit) != []
    request = render_request(at_limit)
    assert botocore_report(request) == ""
    assert strict_problems(request) == []


# Anything a caller or a file can put in any field: validation answers with issues,
# never an exception, and loading plain data raises SpecError only.
_ANY = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5),
                 st.lists(st.one_of(st.integers(), st.text(max_size=3), st.none()), max_size=3),
                 st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
_FIELDS = [
    "strategy", "early_stopping", "max_jobs", "max_parallel_jobs", "max_runtime_seconds", "random_seed",
    "backend", "tuning_job_name", "ranges", "metric_definitions", "estimator", "objective", "completion",
    "channels", "sagemaker", "hyperband", "estimator.entry_point", "estimator.instance_type",
    "estimator.instance_count", "estimator.hyperparameters", "estimator.base_job_name", "objective.name",
    "objective.type", "completion.target_objective_value", "completion.max_jobs_not_improving",
    "channels.train", "sagemaker.role_arn", "sagemaker.region", "hyperband.min_resource",
    "ranges.optimizer.values", "ranges.learning_rate.min", "ranges.learning_rate.scaling",
    "ranges.num_epoch.max", "metric_definitions.0.name", "metric_definitions.0.regex",
]


def _set_path(spec: TuningSpec, path: str, value: object) -> None:
    obj: object = spec
    *parents, last = path.split(".")
    try:
        for part in parents:
            obj = obj[int(part)] if part.isdigit() else obj[part] if isinstance(obj, dict) else getattr(obj, part)
        setattr(obj, last, value)
    except (AttributeError, KeyError, IndexError, TypeError):
        pass  # an earlier change replaced the parent with a plain value; nothing to set


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(_FIELDS), _ANY), min_size=1, max_size=3))
def test_validate_reports_any_wrong_value_without_raising(changes: list) -> None:
    spec = TuningSpec()
    for path, value in changes:
        _set_path(spec, path, value)
    issues = validate(spec)
    assert all(i.path and i.message for i in issues)
    if not issues:
        assert botocore_report(render_request(spec)) == ""


_TOML_VALUES = st.recursive(
    st.one_of(st.booleans(), st.integers(), st.floats(), st.text(max_size=4)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(
        st.sampled_from(["type", "min", "max", "values", "name", "regex", "scaling", "ranges", "estimator",
                         "lr", "hyperparameters", "metric_definitions", "max_jobs", "objective", "channels"]),
        inner, max_size=4)),
    max_leaves=12)


@SETTINGS
@given(st.dictionaries(st.sampled_from(["ranges", "estimator", "metric_definitions", "max_jobs", "objective",
                                        "channels", "strategy", "completion", "unknown"]), _TOML_VALUES))
def test_loading_any_data_raises_only_spec_errors(data: dict) -> None:
    try:
        spec_from_dict(data)
    except SpecError as err:
        assert err.issues and all(str(i).startswith(i.path + ": ") for i in err.issues)
