"""The Bayesian sampler's space-filling start (hpo_tui.engine.samplers): its start-up trials
form a Latin hypercube, so each range is covered evenly and every categorical value is tried."""

from __future__ import annotations

import math

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from hpo_tui.engine.samplers import LatinHypercubeStart, TPESetup, make_sampler

SPACE = {
    "optimizer": CategoricalDistribution(["sgd", "Adam"]),
    "learning_rate": FloatDistribution(0.01, 0.2),
    "num_epoch": IntDistribution(10, 50),
}


def _asked(setup: TPESetup, seed: int, n: int) -> list[dict]:
    study = optuna.create_study(direction="maximize", sampler=make_sampler(setup, seed))
    return [study.ask(SPACE).params for _ in range(n)]  # none finished: all start-up trials


@pytest.mark.parametrize("seed", range(20))
def test_three_startup_trials_try_both_optimizers_and_each_third_of_the_ranges(seed: int) -> None:
    params = _asked(TPESetup(startup=3), seed, 3)
    assert {p["optimizer"] for p in params} == {"sgd", "Adam"}
    assert sorted(int((p["learning_rate"] - 0.01) / (0.19 / 3)) for p in params) == [0, 1, 2]
    # 41 whole numbers in 3 strata: the nearest two can be neighbours, never the same.
    epochs = sorted(p["num_epoch"] for p in params)
    assert len(set(epochs)) == 3 and epochs[0] <= 10 + 41 // 3 and epochs[2] >= 50 - 41 // 3


def test_random_startup_trials_often_miss_an_optimizer() -> None:
    # What the space-filling start is for: Optuna's own random start-up draws one optimizer
    # for all three jobs in about a quarter of the seeds.
    missed = sum(len({p["optimizer"] for p in _asked(TPESetup(startup=3, space_filling=False), s, 3)}) == 1
                 for s in range(40))
    assert missed >= 4


def test_the_start_is_repeatable_per_seed_and_differs_between_seeds() -> None:
    assert _asked(TPESetup(startup=4), 7, 4) == _asked(TPESetup(startup=4), 7, 4)
    assert _asked(TPESetup(startup=4), 7, 4) != _asked(TPESetup(startup=4), 8, 4)


def test_log_ranges_are_filled_in_log_space_and_values_stay_in_range() -> None:
    start = LatinHypercubeStart(4, seed=3)
    dist = FloatDistribution(1e-4, 1.0, log=True)
    values = sorted(start.value(i, "lr", dist) for i in range(4))
    assert [int(math.log10(v) + 4) for v in values] == [0, 1, 2, 3]
    ints = IntDistribution(1, 1000, log=True)
    assert all(1 <= start.value(i, "n", ints) <= 1000 for i in range(4))
