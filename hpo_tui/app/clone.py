"""A tuning job's settings, reused: its spec for a new tuning job ("clone"), and its best
training job's hyperparameters as TOML or command-line arguments (to copy)."""

from __future__ import annotations

import copy
import shlex
from typing import Any

import tomli_w

from hpo_tui.app.widgets.keyvalue import coerce_value
from hpo_tui.views import Snapshot
from hpo_tui.spec import TuningSpec


def clone_spec(spec: TuningSpec, *, warm_from: str | None = None) -> TuningSpec:
    """A copy to launch again: same settings, a new generated tuning job name; warm_from: a
    tuning job the copy warm-starts from (added to its parents)."""
    spec = copy.deepcopy(spec)
    spec.tuning_job_name = None
    if warm_from is not None:
        parents = [p for p in (spec.warm_start.parents or []) if p != warm_from]
        spec.warm_start.parents = (parents + [warm_from])[-5:]  # SageMaker takes 5 parents at most
    return spec


def best_hyperparameters(snapshot: Snapshot, spec: TuningSpec | None) -> tuple[str | None, dict[str, str]]:
    """(best training job, its hyperparameters: the static ones when the spec is known, then
    the tuned ones), or (None, {}) while no training job has an objective."""
    view = snapshot.tuning_job
    best = next((j for j in snapshot.training_jobs if j.name == view.best_training_job), None)
    if best is None:
        return None, {}
    values: dict[str, str] = {}
    if spec is not None:
        values.update({k: str(v) for k, v in spec.estimator.hyperparameters.items()})
    values.update(best.hyperparameters)
    return best.name, values


def as_toml(hyperparameters: dict[str, str]) -> str:
    """The [estimator.hyperparameters] table of a spec file, numbers typed as numbers."""
    typed: dict[str, Any] = {k: coerce_value(v) for k, v in hyperparameters.items()}
    return tomli_w.dumps({"estimator": {"hyperparameters": typed}})


def as_cli_args(hyperparameters: dict[str, str]) -> str:
    """`--name value` pairs, as SageMaker passes them to the training script."""
    return " ".join(f"--{shlex.quote(k)} {shlex.quote(str(v))}" for k, v in hyperparameters.items())
