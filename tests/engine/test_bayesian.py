"""The local Bayesian strategy on small budgets: TPE's startup rule, joint (multivariate)
modelling, and the constant liar for parallel jobs, also after a resume."""

from __future__ import annotations

import math
import statistics

import pytest

from hpo_tui.engine.search import FinishedTrial, SearchStrategy, tpe_startup_trials
from hpo_tui.spec import CategoricalParameter, ContinuousParameter, TuningSpec

RANGES = {
    "learning_rate": ContinuousParameter(1e-4, 1.0, "Logarithmic"),
    "x1": ContinuousParameter(0.0, 2.0),
    "optimizer": CategoricalParameter(["sgd", "Adam"]),
}


def _spec(strategy: str = "Bayesian", *, max_jobs: int = 9, parallel: int = 3,
          seed: int | None = 5) -> TuningSpec:
    spec = TuningSpec(strategy=strategy, ranges=RANGES, max_jobs=max_jobs,
                      max_parallel_jobs=parallel, random_seed=seed)
    spec.estimator.hyperparameters = {"batch_size": 100, "num_epoch": 3}
    return spec


def _score(hp: dict[str, str]) -> float:
    """A toy objective, best at learning_rate 0.1, x1 = 1, Adam."""
    return (-abs(math.log10(float(hp["learning_rate"])) + 1) - abs(float(hp["x1"]) - 1)
            - (0.5 if hp["optimizer"] == "sgd" else 0.0))


@pytest.mark.parametrize("max_jobs, startup", [
    (1, 2), (3, 2), (8, 2), (9, 3), (12, 4), (20, 6), (30, 10), (31, 10), (500, 10),
])
def test_startup_trials_scale_with_the_budget(max_jobs: int, startup: int) -> None:
    assert tpe_startup_trials(max_jobs) == startup
    sampler = SearchStrategy(_spec(max_jobs=max_jobs, parallel=1)).study.sampler
    assert sampler._n_startup_trials == startup


def test_a_spec_without_max_jobs_counts_as_one_job() -> None:
    # SageMaker starts 1 training job when MaxNumberOfTrainingJobs is missing.
    spec = _spec()
    spec.max_jobs = None
    assert SearchStrategy(spec).study.sampler._n_startup_trials == 2


@pytest.mark.parametrize("strategy", ["Bayesian", "Hyperband"])
@pytest.mark.parametrize("parallel, liar", [(1, False), (2, True), (3, True)])
def test_constant_liar_is_on_when_jobs_run_in_parallel(strategy: str, parallel: int,
                                                       liar: bool) -> None:
    sampler = SearchStrategy(_spec(strategy, parallel=parallel)).study.sampler
    assert sampler._constant_liar is liar
    assert sampler._multivariate is True


def _tell_all(strategy: SearchStrategy, n: int) -> list[dict[str, str]]:
    drawn = []
    for _ in range(n):
        trial = strategy.ask()
        assert trial is not None
        drawn.append(trial.hyperparameters)
        strategy.tell(trial.number, _score(trial.hyperparameters), "complete")
    return drawn


def _modelled(strategy: SearchStrategy, number: int) -> bool:
    """True when TPE chose this running trial's values from its model of the finished
    trials (its relative, multivariate sample), not at random."""
    return bool(strategy._running[number].relative_params)


def test_after_the_startup_trials_of_9_jobs_proposals_4_to_9_are_modelled() -> None:
    strategy = SearchStrategy(_spec(max_jobs=9, parallel=1))
    kinds = []
    for _ in range(9):
        trial = strategy.ask()
        assert trial is not None
        kinds.append(_modelled(strategy, trial.number))
        strategy.tell(trial.number, _score(trial.hyperparameters), "complete")
    assert kinds == [False] * 3 + [True] * 6


def test_parallel_proposals_are_modelled_while_others_run() -> None:
    # 3 in parallel: once 3 jobs have finished, the next proposals are modelled even
    # though other trials are still running (the liar gives them the worst value).
    strategy = SearchStrategy(_spec(max_jobs=9, parallel=3))
    _tell_all(strategy, 3)
    running = [strategy.ask() for _ in range(3)]
    assert all(t is not None and _modelled(strategy, t.number) for t in running)
    assert len({tuple(sorted(t.hyperparameters.items())) for t in running}) == 3


def test_the_same_rule_holds_after_a_resume() -> None:
    spec = _spec(max_jobs=9, parallel=3)
    done = _tell_all(SearchStrategy(spec), 2)
    resumed = SearchStrategy(spec)
    resumed.restore([FinishedTrial(hp, _score(hp), "complete", []) for hp in done])
    sampler = resumed.study.sampler
    assert (sampler._n_startup_trials, sampler._multivariate, sampler._constant_liar) == (3, True, True)
    first = resumed.ask()  # third trial: still a startup trial
    assert first is not None and not _modelled(resumed, first.number)
    resumed.tell(first.number, _score(first.hyperparameters), "complete")
    second = resumed.ask()  # fourth: the two restored jobs and one new one are modelled
    assert second is not None and _modelled(resumed, second.number)


def test_tpe_finds_better_values_than_random_on_a_seeded_toy_objective() -> None:
    # 20 jobs, 6 of them random startup trials: the modelled proposals 7-20 average
    # closer to the optimum than Random's, over 15 seeds.
    def late_mean(strategy: str, seed: int) -> float:
        drawn = _tell_all(SearchStrategy(_spec(strategy, max_jobs=20, parallel=1, seed=seed)), 20)
        return statistics.mean(_score(hp) for hp in drawn[6:])

    seeds = range(15)
    bayes = statistics.mean(late_mean("Bayesian", s) for s in seeds)
    rand = statistics.mean(late_mean("Random", s) for s in seeds)
    assert bayes > rand + 0.3, (bayes, rand)


def test_the_startup_jobs_try_every_optimizer_and_spread_over_the_range() -> None:
    # Space-filling start (issue 28): with random start-up draws, seed after seed gave three
    # jobs of one optimizer (the reference run at seed 1 drew three Adam jobs, then modelled
    # only Adam). The 3 start-up jobs of 9 (3 parallel) now cover both, and 5 jobs asked
    # before 3 finish sit in 5 different fifths of the learning-rate range (in log scale here).
    for seed in range(30):
        strategy = SearchStrategy(_spec(max_jobs=9, parallel=3, seed=seed))
        asked = [strategy.ask() for _ in range(5)]
        assert {t.hyperparameters["optimizer"] for t in asked[:3]} == {"sgd", "Adam"}
        fifths = {int((math.log10(float(t.hyperparameters["learning_rate"])) + 4) / 4 * 5) for t in asked}
        assert fifths == {0, 1, 2, 3, 4}
