"""What validate accepts, launch runs (issue 13): every local spec hypothesis builds that
validate() passes is launched (fake trainer); launch must not refuse it and its runner must
not crash on it. Values range far beyond the sane (huge integers, any text) so validate
has to refuse what the engine cannot run."""

from __future__ import annotations

import math
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hpo_tui.backends.local import LocalBackend
from hpo_tui.spec import (
    CategoricalParameter,
    Channels,
    ContinuousParameter,
    Estimator,
    IntegerParameter,
    TuningSpec,
    validate,
)

from .conftest import FAKE_TRAIN, wait_for

# fake_train.py options that would make a job hang, fail or print on purpose.
FAKE_OPTIONS = {"sleep", "fail_exit", "fail_at", "failure_message", "print_nan", "no_metric", "fork_hang",
                "ignore_term", "fork_exit", "hang", "noise", "dump_env", "say", "big_line", "num_epoch"}
names = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True).filter(lambda n: n not in FAKE_OPTIONS)
# The values that broke launch before (issue 13), and everything around them.
huge_ints = st.sampled_from([10**26, 2**63, -(2**63) - 1, 10**30]) | st.integers(-(10**32), 10**32)
any_text = st.sampled_from(["ad\x00am", "\x1b]52;c;eA==\x07"]) | st.text(max_size=12)


@st.composite
def ranges(draw: st.DrawFn, grid: bool) -> object:
    kind = "categorical" if grid else draw(st.sampled_from(["integer", "continuous", "categorical"]))
    if kind == "integer":
        lo = draw(st.integers(-100, 100) | huge_ints)
        hi = lo + draw(st.integers(1, 100) | huge_ints.filter(lambda n: n > 0))
        return IntegerParameter(lo, hi, draw(st.sampled_from(["Auto", "Linear", "Logarithmic"])))
    if kind == "continuous":
        # Any finite lower end but the largest float: nothing finite lies above that one, and
        # Hypothesis refuses to draw from an empty range (seen once in a full run).
        lo = draw(st.floats(-1e6, 1e6)
                  | st.floats(allow_nan=False, allow_infinity=False, max_value=math.nextafter(sys.float_info.max, 0)))
        hi = draw(st.floats(lo, math.inf, exclude_min=True, allow_infinity=False)
                  .filter(lambda h: h > lo))
        return ContinuousParameter(lo, hi, draw(st.sampled_from(["Auto", "Linear", "Logarithmic"])))
    return CategoricalParameter(draw(st.lists(st.sampled_from(["sgd", "Adam"]) | any_text,
                                              min_size=1, max_size=3, unique=True)))


@st.composite
def local_specs(draw: st.DrawFn, channels: Channels) -> TuningSpec:
    strategy = draw(st.sampled_from(["Random", "Bayesian", "Grid"]))
    grid = strategy == "Grid"
    tuned = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    static_names = draw(st.lists(names.filter(lambda n: n not in tuned), max_size=2, unique=True))
    static = {n: draw(st.integers(-5, 5) | huge_ints | st.floats(allow_nan=False) | any_text)
              for n in static_names}
    static["num_epoch"] = 1
    spec_ranges = {n: draw(ranges(grid)) for n in tuned}
    combos = math.prod(len(p.values) for p in spec_ranges.values()) if grid else None
    max_jobs = combos if grid else draw(st.integers(1, 2) | huge_ints)
    return TuningSpec(
        estimator=Estimator(entry_point=FAKE_TRAIN.name, source_dir=str(FAKE_TRAIN.parent),
                            hyperparameters=static, base_job_name="prop"),
        ranges=spec_ranges,
        strategy=strategy,
        max_jobs=max_jobs,
        max_parallel_jobs=draw(st.integers(1, 2)),
        random_seed=draw(st.none() | st.integers(0, 2**31 - 1)),
        channels=channels,
        backend="local",
    )


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
@given(data=st.data())
def test_every_spec_validate_accepts_launches(data: st.DataObject, channels: Channels) -> None:
    spec = data.draw(local_specs(channels))
    if validate(spec):
        return  # refused, with its field and fix: nothing to launch
    backend = LocalBackend()
    try:
        name = backend.launch(spec)  # must not refuse what validate accepted
        snap = wait_for(backend, name, lambda s: s.tuning_job.is_terminal or bool(s.training_jobs), timeout=180)
        backend.stop(name)
        snap = wait_for(backend, name, timeout=180)
        reason = snap.tuning_job.failure_reason or ""
        assert "runner error" not in reason, reason
        for job in snap.training_jobs:
            assert "could not start" not in (job.failure_reason or ""), job.failure_reason
    finally:
        backend.close()
