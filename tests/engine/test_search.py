"""Search strategies driven directly (no processes): sampling, pruning, early stopping,
completion criteria and resume, as the runner will use them."""

from __future__ import annotations

import itertools
import math
import random
import re

import pytest

from hpo_tui.engine.search import (
    MEDIAN_RULE_MIN_JOBS,
    FinishedTrial,
    SearchSpaceError,
    SearchStrategy,
    completion_reason,
    max_epochs,
)
from hpo_tui.errors import UserError
from hpo_tui.spec import (
    CategoricalParameter,
    CompletionCriteria,
    ContinuousParameter,
    IntegerParameter,
    Objective,
    TuningSpec,
)

# One pytest-xdist worker runs this module (make test: --dist loadgroup): its module fixture's
# draws (200 per strategy) are then made once, not once on every worker.
pytestmark = pytest.mark.xdist_group("search-draws")

INT_TEXT = re.compile(r"-?\d+")


def _spec(strategy: str, ranges: dict, **kwargs) -> TuningSpec:
    spec = TuningSpec(strategy=strategy, ranges=ranges, **kwargs)
    spec.estimator.hyperparameters = {"batch_size": 100, "num_epoch": 9}
    return spec


def _draw(strategy: SearchStrategy, n: int, score=None) -> list[dict[str, str]]:
    """Ask n trials, telling each a synthetic objective so model-based samplers learn."""
    rng = random.Random(0)
    drawn = []
    for _ in range(n):
        trial = strategy.ask()
        assert trial is not None
        drawn.append(trial.hyperparameters)
        value = score(trial.hyperparameters) if score else rng.random()
        strategy.tell(trial.number, value, "complete")
    return drawn


SAMPLING_RANGES = {
    "learning_rate": ContinuousParameter(1e-4, 1e-1, "Logarithmic"),
    "hidden": IntegerParameter(1, 1000, "Logarithmic"),
    "batch_size": IntegerParameter(16, 256, "Linear"),
    "momentum": ContinuousParameter(0.0, 0.999, "ReverseLogarithmic"),
    "optimizer": CategoricalParameter(["sgd", "Adam"]),
}


def _peaked_at_log_midpoints(hp: dict[str, str]) -> float:
    """Best at the geometric midpoints: a sampler searching in log space then draws about
    as often below each midpoint as above it; one searching linearly draws far fewer below
    (about 20% with TPE and these ranges)."""
    return -(
        abs(math.log10(float(hp["learning_rate"])) + 2.5)
        + abs(math.log10(int(hp["hidden"])) - 1.5)
        + abs(math.log10(1 - float(hp["momentum"])) + 1.5)
    )


@pytest.fixture(scope="module", params=["Random", "Bayesian"])
def draws(request) -> tuple[str, list[dict[str, str]]]:
    spec = _spec(request.param, SAMPLING_RANGES, random_seed=11)
    return request.param, _draw(SearchStrategy(spec), 200, score=_peaked_at_log_midpoints)


def test_values_respect_bounds_and_types(draws) -> None:
    _, drawn = draws
    for hp in drawn:
        assert set(hp) == set(SAMPLING_RANGES)
        assert all(isinstance(v, str) for v in hp.values())
        for name in ("hidden", "batch_size"):
            assert INT_TEXT.fullmatch(hp[name]), hp[name]
        assert 1 <= int(hp["hidden"]) <= 1000
        assert 16 <= int(hp["batch_size"]) <= 256
        assert 1e-4 <= float(hp["learning_rate"]) <= 1e-1
        # Floats travel at full precision: the string reads back to the same float.
        assert repr(float(hp["learning_rate"])) == hp["learning_rate"]
        assert 0.0 <= float(hp["momentum"]) <= 0.999
        assert hp["optimizer"] in ("sgd", "Adam")
    assert {hp["optimizer"] for hp in drawn} == {"sgd", "Adam"}


def test_logarithmic_scaling_spreads_evenly_over_decades(draws) -> None:
    _, drawn = draws
    # About half the draws fall below the geometric midpoint. Linear random sampling would
    # put only ~3% of learning rates below 10**-2.5 and ~3% of ints below 31.6.
    lr_low = sum(float(hp["learning_rate"]) < 10**-2.5 for hp in drawn) / len(drawn)
    hidden_low = sum(int(hp["hidden"]) < math.sqrt(1000) for hp in drawn) / len(drawn)
    assert 0.3 < lr_low < 0.7
    assert 0.3 < hidden_low < 0.7


def test_linear_integer_range_is_sampled_evenly() -> None:
    spec = _spec("Random", {"batch_size": IntegerParameter(16, 256, "Linear")}, random_seed=4)
    sizes = [int(hp["batch_size"]) for hp in _draw(SearchStrategy(spec), 200)]
    assert 0.35 < sum(s < 136 for s in sizes) / len(sizes) < 0.65
    assert min(sizes) < 40 and max(sizes) > 230


def test_reverse_logarithmic_concentrates_near_one(draws) -> None:
    _, drawn = draws
    momenta = [float(hp["momentum"]) for hp in drawn]
    assert all(0.0 <= m <= 0.999 for m in momenta)
    # log(1 - x) is uniform on [log 0.001, 0]: about 2/3 of draws land above 0.9 (1/10
    # for linear), and about half have 1 - x below the geometric midpoint sqrt(0.001).
    assert sum(m > 0.9 for m in momenta) / len(momenta) > 0.5
    below = sum((1 - m) < math.sqrt(0.001) for m in momenta) / len(momenta)
    assert 0.3 < below < 0.7


@pytest.mark.parametrize("strategy", ["Random", "Bayesian", "Hyperband"])
def test_same_seed_same_hyperparameters(strategy: str) -> None:
    def run(seed: int) -> list[dict[str, str]]:
        spec = _spec(strategy, SAMPLING_RANGES, random_seed=seed)
        return _draw(SearchStrategy(spec), 15, score=lambda hp: float(hp["learning_rate"]))

    first = run(5)
    assert run(5) == first
    assert run(6) != first


def test_grid_covers_every_combination_once_then_stops() -> None:
    ranges = {
        "optimizer": CategoricalParameter(["sgd", "Adam", "rmsprop"]),
        "learning_rate": CategoricalParameter(["0.01", "0.1"]),
        "num_epoch": CategoricalParameter(["1", "2"]),
    }
    strategy = SearchStrategy(_spec("Grid", ranges))
    seen = []
    running = []
    # Ask two at a time, as a runner with 2 parallel slots would.
    while True:
        batch = [t for t in (strategy.ask(), strategy.ask()) if t is not None]
        if not batch:
            break
        for trial in batch:
            seen.append(tuple(trial.hyperparameters[n] for n in ranges))
            running.append(trial.number)
        for number in running:
            strategy.tell(number, 0.5, "complete")
        running.clear()
    expected = set(itertools.product(*(p.values for p in ranges.values())))
    assert len(seen) == len(expected) == 12
    assert set(seen) == expected
    assert strategy.ask() is None


def test_grid_restore_skips_finished_combinations() -> None:
    ranges = {
        "optimizer": CategoricalParameter(["sgd", "Adam"]),
        "learning_rate": CategoricalParameter(["0.01", "0.05", "0.1"]),
    }
    first = SearchStrategy(_spec("Grid", ranges))
    history = []
    for state in ("complete", "failed", "pruned"):
        trial = first.ask()
        assert trial is not None
        curve = [(0, 0.4), (1, 0.6)]
        value = 0.6 if state != "failed" else None
        first.tell(trial.number, value, state)
        history.append(FinishedTrial(trial.hyperparameters, value, state, curve))

    resumed = SearchStrategy(_spec("Grid", ranges))
    resumed.restore(history)
    rest = []
    while (trial := resumed.ask()) is not None:
        rest.append(trial.hyperparameters)
        resumed.tell(trial.number, 0.7, "complete")
    done = [h.hyperparameters for h in history]
    assert len(rest) == 3
    assert not any(hp in done for hp in rest)
    assert len({tuple(sorted(hp.items())) for hp in done + rest}) == 6


def test_restore_rebuilds_the_optuna_history() -> None:
    spec = _spec("Bayesian", SAMPLING_RANGES, random_seed=2)
    first = SearchStrategy(spec)
    history = []
    for i, state in enumerate(["complete", "pruned", "failed", "complete"]):
        trial = first.ask()
        assert trial is not None
        curve = [(0, 0.2 + i / 10), (1, 0.3 + i / 10)]
        for epoch, value in curve:
            first.report(trial.number, epoch, value)
        value = curve[-1][1] if state == "complete" else None
        first.tell(trial.number, value, state)
        history.append(FinishedTrial(trial.hyperparameters, value, state, curve))

    resumed = SearchStrategy(spec)
    resumed.restore(history)
    trials = resumed.study.trials
    assert [t.state.name for t in trials] == ["COMPLETE", "PRUNED", "FAIL", "COMPLETE"]
    assert trials[0].value == pytest.approx(0.3)
    assert trials[1].value == pytest.approx(0.4)  # a pruned trial keeps its last value
    assert resumed.study.best_value == pytest.approx(0.6)
    for frozen, done in zip(trials, history):
        assert resumed._strings(frozen.params) == done.hyperparameters
    nxt = resumed.ask()
    assert nxt is not None and nxt.number == 4


def test_resumed_random_search_continues_the_seeded_sequence() -> None:
    spec = _spec("Random", SAMPLING_RANGES, random_seed=9)
    straight = _draw(SearchStrategy(spec), 6)
    part = _draw(SearchStrategy(spec), 3)
    resumed = SearchStrategy(spec)
    resumed.restore([FinishedTrial(hp, 0.5, "complete", []) for hp in part])
    assert part + _draw(resumed, 3) == straight


def test_resumed_bayesian_search_draws_new_trials_repeatably() -> None:
    spec = _spec("Bayesian", SAMPLING_RANGES, random_seed=9)
    part = _draw(SearchStrategy(spec), 3)
    history = [FinishedTrial(hp, 0.5, "complete", []) for hp in part]

    def resume() -> list[dict[str, str]]:
        resumed = SearchStrategy(spec)
        resumed.restore(history)
        return _draw(resumed, 3)

    rest = resume()
    assert not any(hp in part for hp in rest)
    assert resume() == rest


def _run_curve(strategy: SearchStrategy, curve: list[float]) -> int | None:
    """Report a per-epoch curve until the strategy says stop; returns the stop epoch."""
    trial = strategy.ask()
    assert trial is not None
    for epoch, value in enumerate(curve):
        if strategy.report(trial.number, epoch, value):
            strategy.tell(trial.number, None, "pruned")
            return epoch
    strategy.tell(trial.number, curve[-1], "complete")
    return None


def _curve(level: float, epochs: int = 9) -> list[float]:
    return [level * (1 - 0.5 ** (e + 1)) for e in range(epochs)]


def test_hyperband_prunes_poor_curves_never_good_ones() -> None:
    spec = _spec(
        "Hyperband", {"learning_rate": ContinuousParameter(0.01, 0.2)}, random_seed=3
    )
    assert max_epochs(spec) == 9
    strategy = SearchStrategy(spec)
    good_stops, bad_stops = [], []
    for i in range(24):
        good = i % 4 == 0
        # Good curves improve on each other, so each is the best so far when it runs.
        stop = _run_curve(strategy, _curve(0.8 + i / 1000 if good else 0.4))
        (good_stops if good else bad_stops).append(stop)
    assert good_stops == [None] * 6
    pruned = [s for s in bad_stops if s is not None]
    # Hyperband spreads trials over brackets; the brackets with a good curve prune the bad.
    assert len(pruned) >= len(bad_stops) // 3
    assert all(s < 8 for s in pruned)  # stopped before their last epoch


def test_hyperband_min_resource_delays_the_first_prune() -> None:
    spec = _spec(
        "Hyperband", {"learning_rate": ContinuousParameter(0.01, 0.2)}, random_seed=3
    )
    spec.hyperband.min_resource = 3
    strategy = SearchStrategy(spec)
    stops = [_run_curve(strategy, _curve(0.8 if i % 4 == 0 else 0.4)) for i in range(24)]
    pruned = [s for s in stops if s is not None]
    assert pruned and min(pruned) >= 2  # epoch index 2 = 3 epochs done


def test_hyperband_never_prunes_without_the_strategy() -> None:
    strategy = SearchStrategy(_spec("Bayesian", {"x": ContinuousParameter(0, 1)}))
    stops = [_run_curve(strategy, _curve(0.9 if i == 0 else 0.1)) for i in range(10)]
    assert stops == [None] * 10


def test_median_rule_stops_a_curve_below_the_median() -> None:
    spec = _spec(
        "Random", {"x": ContinuousParameter(0, 1)}, early_stopping="Auto", random_seed=1
    )
    strategy = SearchStrategy(spec)
    for level in (0.7, 0.8, 0.9):
        assert _run_curve(strategy, _curve(level)) is None
    # Running averages of the three at epoch 0 are 0.35/0.4/0.45: median 0.4.
    assert _run_curve(strategy, _curve(0.3)) == 0
    assert _run_curve(strategy, _curve(0.95)) is None
    # A curve that starts just above and then flattens far below is stopped later on.
    late = [0.45, 0.46, 0.46, 0.46, 0.46, 0.46, 0.46, 0.46, 0.46]
    stop = _run_curve(strategy, late)
    assert stop is not None and stop > 0


def test_median_rule_waits_for_enough_finished_jobs() -> None:
    spec = _spec("Bayesian", {"x": ContinuousParameter(0, 1)}, early_stopping="Auto")
    strategy = SearchStrategy(spec)
    for _ in range(MEDIAN_RULE_MIN_JOBS - 1):
        assert _run_curve(strategy, _curve(0.9)) is None
    assert _run_curve(strategy, _curve(0.1)) is None  # too few to judge


def test_median_rule_minimize() -> None:
    spec = _spec(
        "Random",
        {"x": ContinuousParameter(0, 1)},
        early_stopping="Auto",
        objective=Objective("Validation-loss", "Minimize"),
    )
    strategy = SearchStrategy(spec)
    for level in (0.2, 0.3, 0.4):
        _run_curve(strategy, [level] * 9)
    assert _run_curve(strategy, [0.9] * 9) == 0
    assert _run_curve(strategy, [0.1] * 9) is None


def test_report_ignores_non_finite_values() -> None:
    spec = _spec("Random", {"x": ContinuousParameter(0, 1)}, early_stopping="Auto")
    strategy = SearchStrategy(spec)
    for level in (0.7, 0.8, 0.9):
        _run_curve(strategy, _curve(level))
    trial = strategy.ask()
    assert trial is not None
    assert strategy.report(trial.number, 0, float("nan")) is False
    assert strategy.report(trial.number, 0, float("-inf")) is False
    assert strategy.report(trial.number, 0, 0.1) is True


def test_completion_target_value() -> None:
    spec = TuningSpec(completion=CompletionCriteria(target_objective_value=0.95))
    assert completion_reason(spec, [0.5, None, 0.9]) is None
    assert completion_reason(spec, [0.5, 0.96, 0.9]) == "target objective value reached"
    spec.objective = Objective("Validation-loss", "Minimize")
    spec.completion.target_objective_value = 0.1
    assert completion_reason(spec, [0.5, 0.2]) is None
    assert completion_reason(spec, [0.5, 0.08]) == "target objective value reached"


def test_completion_jobs_not_improving() -> None:
    spec = TuningSpec(completion=CompletionCriteria(max_jobs_not_improving=3))
    reason = "3 jobs did not improve the best by 1%"
    assert completion_reason(spec, [0.5, 0.9]) is None
    # 0.905 beats 0.9 by less than 1%; None and worse values do not improve either.
    assert completion_reason(spec, [0.5, 0.9, 0.905, None, 0.8]) == reason
    assert completion_reason(spec, [0.5, 0.9, 0.905, None, 0.95]) is None
    assert completion_reason(spec, [None, None, None, None]) is None
    spec.objective = Objective("Validation-loss", "Minimize")
    assert completion_reason(spec, [1.0, 0.5, 0.499, 0.6, 0.5]) == reason
    assert completion_reason(spec, [1.0, 0.5, 0.499, 0.6, 0.4]) is None


def test_max_epochs_from_range_or_static() -> None:
    assert max_epochs(TuningSpec()) == 50  # the default num_epoch range is 10..50
    spec = _spec("Random", {"x": ContinuousParameter(0, 1)})
    assert max_epochs(spec) == 9
    spec.ranges["num_epoch"] = CategoricalParameter(["2", "5", "3"])
    assert max_epochs(spec) == 5
    spec = TuningSpec(ranges={"x": ContinuousParameter(0, 1)})
    spec.estimator.hyperparameters = {}
    assert max_epochs(spec) is None


def test_grid_of_a_continuous_range_names_the_field() -> None:
    spec = _spec("Grid", {"lr": ContinuousParameter(0.01, 0.1)})
    with pytest.raises(UserError, match=re.escape("ranges.lr")):
        SearchStrategy(spec)


@pytest.mark.parametrize(
    ("parameter", "field"),
    [
        (ContinuousParameter(0.0, 1.0, "Logarithmic"), "ranges.p.min"),
        (IntegerParameter(0, 10, "Logarithmic"), "ranges.p.min"),
        (ContinuousParameter(0.5, 1.5, "ReverseLogarithmic"), "ranges.p"),
        (IntegerParameter(1, 10, "ReverseLogarithmic"), "ranges.p.scaling"),
    ],
)
def test_unsampleable_ranges_name_the_field(parameter, field: str) -> None:
    with pytest.raises(SearchSpaceError, match=re.escape(field)):
        SearchStrategy(_spec("Random", {"p": parameter}))
