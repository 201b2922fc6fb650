"""The spec a local tuning job was launched with, as the store keeps it: JSON of its
dataclasses (rebuilt field by field, so fields added to the dataclasses later round-trip
too). One typed reader for everyone: the runner (spec_from_json), the backend's views
(stored_spec, cached) and a clone (spec_as_written).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import typing
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hpo_tui.spec import TuningSpec

# The keys are sorted (the runner has always read the ranges in that order, and its draws
# depend on it); the ranges' order as the user wrote them is kept beside them.
RANGES_ORDER = "ranges_order"


def spec_to_json(spec: Any) -> str:
    data = dataclasses.asdict(spec)
    data[RANGES_ORDER] = list(spec.ranges)
    return json.dumps(data, sort_keys=True)


def spec_from_json(text: str) -> TuningSpec:
    return _spec_from_data(json.loads(text))


def _spec_from_data(data: dict[str, Any]) -> TuningSpec:
    from hpo_tui.spec import model as spec_module

    return _build(spec_module.TuningSpec, data, spec_module)


def spec_as_written(text: str) -> TuningSpec:
    """The spec with its ranges in the order they were written (a clone shows them so)."""
    data = json.loads(text)
    spec = _spec_from_data(data)
    order = data.get(RANGES_ORDER) or []
    ranked = {name: i for i, name in enumerate(order)}
    spec.ranges = dict(sorted(spec.ranges.items(), key=lambda item: ranked.get(item[0], len(ranked))))
    return spec


@functools.lru_cache(maxsize=256)
def stored_spec(text: str | None) -> TuningSpec | None:
    """spec_from_json for readers that poll: the same text gives the same (shared, never
    changed) spec, parsed once; None when the text holds no readable spec. Callers must not
    change what it returns (spec_as_written gives a spec of one's own)."""
    try:
        data = json.loads(text or "")
    except (TypeError, ValueError):
        return None
    if not isinstance(data, dict) or not data:
        return None
    try:
        return _spec_from_data(data)  # parsed once, above
    except (TypeError, ValueError, KeyError, AttributeError):
        return None


@functools.lru_cache(maxsize=None)
def _hints(cls: type, spec_module: Any) -> dict[str, Any]:
    """A spec dataclass's field types, evaluated once (they are strings in the source)."""
    return typing.get_type_hints(cls, vars(spec_module))


def _build(cls: type, data: dict[str, Any], spec_module: Any) -> Any:
    hints = _hints(cls, spec_module)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if not f.init or f.name not in data:
            continue
        value = data[f.name]
        if f.name == "ranges" and isinstance(value, dict):
            value = {k: _parameter(v, spec_module) for k, v in value.items()}
        elif f.name == "metric_definitions" and isinstance(value, list):
            value = [_build(spec_module.MetricDefinition, v, spec_module) for v in value]
        else:
            hint = hints.get(f.name)
            if dataclasses.is_dataclass(hint) and isinstance(value, dict):
                value = _build(hint, value, spec_module)
        kwargs[f.name] = value
    return cls(**kwargs)


def _parameter(data: dict[str, Any], spec_module: Any) -> Any:
    kinds = {
        "integer": spec_module.IntegerParameter,
        "continuous": spec_module.ContinuousParameter,
        "categorical": spec_module.CategoricalParameter,
    }
    return _build(kinds[data["kind"]], data, spec_module)
