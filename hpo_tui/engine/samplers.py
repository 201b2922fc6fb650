"""The local Bayesian sampler: Optuna's TPE set up for small budgets, with a space-filling start.

Optuna's TPE draws its start-up trials at random. With 3 start-up jobs of 9, that often leaves
a categorical value out (all three Adam), and TPE then models only what it saw. Here the
start-up trials form a Latin hypercube instead: each hyperparameter's range is cut into as
many equal strata as there are start-up trials, and every stratum is used once, in an order
drawn per hyperparameter from the seed. A categorical range takes its values in turn (in an
order drawn from the seed), so any k start-up trials in a row try all k values.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.samplers import TPESampler
from optuna.trial import FrozenTrial, TrialState


@dataclass(frozen=True)
class TPESetup:
    """What the local Bayesian sampler is: see make_sampler."""

    startup: int
    multivariate: bool = True
    constant_liar: bool = True
    space_filling: bool = True
    prior_weight: float = 1.0
    consider_endpoints: bool = False
    n_ei_candidates: int = 24
    gamma: float | None = None  # fraction of trials TPE calls good; None = Optuna's default
    # Points of the space-filling design (None: startup). Parallel jobs asked before `startup`
    # jobs have finished are start-up trials too: startup + parallel - 1 of them at most.
    design: int | None = None


class LatinHypercubeStart:
    """Start-up values: point i of an n-point Latin hypercube, one permutation per
    hyperparameter (from the seed and its name), jittered within its stratum."""

    def __init__(self, size: int, seed: int | None) -> None:
        self.size = max(1, int(size))
        self.seed = seed
        self._fresh = np.random.default_rng(seed)  # seed None: a different design each run

    def _rng(self, name: str) -> np.random.Generator:
        if self.seed is None:
            return self._fresh
        digest = hashlib.blake2b(f"{self.seed}:{name}".encode(), digest_size=8).digest()
        return np.random.default_rng(int.from_bytes(digest, "big"))

    def unit(self, index: int, name: str) -> float:
        rng = self._rng(name)
        order = rng.permutation(self.size)
        jitter = rng.random(self.size)
        return float((order[index % self.size] + jitter[index % self.size]) / self.size)

    def value(self, index: int, name: str, dist: BaseDistribution) -> Any:
        if isinstance(dist, CategoricalDistribution):
            # Values in turn, in an order drawn from the seed: any k consecutive start-up
            # trials try all k values, whatever the size of the design.
            order = self._rng(name).permutation(len(dist.choices))
            return dist.choices[int(order[index % len(dist.choices)])]
        u = min(max(self.unit(index, name), 0.0), math.nextafter(1.0, 0.0))
        if isinstance(dist, IntDistribution):
            steps = (dist.high - dist.low) // dist.step + 1
            if dist.log:
                lo, hi = math.log(dist.low - 0.5), math.log(dist.high + 0.5)
                return int(min(max(round(math.exp(lo + u * (hi - lo))), dist.low), dist.high))
            return int(dist.low + dist.step * int(u * steps))
        if isinstance(dist, FloatDistribution):
            if dist.log:
                lo, hi = math.log(dist.low), math.log(dist.high)
                value = math.exp(lo + u * (hi - lo))
            else:
                value = dist.low + u * (dist.high - dist.low)
            if dist.step is not None:
                value = dist.low + round((value - dist.low) / dist.step) * dist.step
            return float(min(max(value, dist.low), dist.high))
        raise TypeError(f"no space-filling start for {type(dist).__name__}")


class SmallBudgetTPE(TPESampler):
    """TPE whose start-up trials (while fewer than `startup` have finished, as TPE counts) come
    from a Latin hypercube of `startup` points instead of independent random draws; start-up
    trials beyond those (parallel jobs asked before enough finished) stay random."""

    def __init__(self, *, space_filling_seed: int | None, design: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._start = LatinHypercubeStart(design or self._n_startup_trials, space_filling_seed)

    def sample_independent(self, study: optuna.Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        finished = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
        if len(finished) < self._n_startup_trials and trial.number < self._start.size:
            return self._start.value(trial.number, param_name, param_distribution)
        return super().sample_independent(study, trial, param_name, param_distribution)


def make_sampler(setup: TPESetup, seed: int | None) -> TPESampler:
    gamma = None
    if setup.gamma is not None:
        fraction = setup.gamma

        def gamma(n: int) -> int:
            return min(max(1, math.ceil(fraction * n)), 25)

    kwargs: dict[str, Any] = dict(
        seed=seed, n_startup_trials=setup.startup, multivariate=setup.multivariate,
        constant_liar=setup.constant_liar, n_ei_candidates=setup.n_ei_candidates,
    )
    # Optuna 4.9 deprecated these as constructor arguments: passed only when not the default.
    if setup.prior_weight != 1.0:
        kwargs["prior_weight"] = setup.prior_weight
    if setup.consider_endpoints:
        kwargs["consider_endpoints"] = True
    if gamma is not None:
        kwargs["gamma"] = gamma
    with warnings.catch_warnings():
        # multivariate and constant_liar are flagged experimental by Optuna; prior_weight,
        # consider_endpoints and gamma are "deprecated" only as constructor arguments.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.simplefilter("ignore", FutureWarning)
        if setup.space_filling:
            return SmallBudgetTPE(space_filling_seed=seed, design=setup.design, **kwargs)
        return TPESampler(**kwargs)
