"""[objective] lowest / highest: the values the metric can take (issue 26: axes never pass
them). Checked like every rule, read from TOML, written back, and carried to the view."""

from __future__ import annotations

from hpo_tui.spec import TuningSpec, dumps_toml, loads_toml
from tests.spec.conftest import only_issue


def test_the_bounds_are_read_and_written_back() -> None:
    spec = TuningSpec()
    spec.objective.lowest, spec.objective.highest = 0.0, 1.0
    again = loads_toml(dumps_toml(spec))
    assert (again.objective.lowest, again.objective.highest) == (0.0, 1.0)
    assert "lowest" not in dumps_toml(TuningSpec())  # left out when not given


def test_integers_read_as_floats() -> None:
    text = dumps_toml(TuningSpec()).replace('type = "Maximize"', 'type = "Maximize"\nlowest = 0\nhighest = 100')
    spec = loads_toml(text)
    assert (spec.objective.lowest, spec.objective.highest) == (0.0, 100.0)


def test_highest_must_be_above_lowest() -> None:
    spec = TuningSpec()
    spec.objective.lowest, spec.objective.highest = 1.0, 0.5
    only_issue(spec, "objective.highest", "must be above objective.lowest")


def test_a_bound_must_be_a_number() -> None:
    spec = TuningSpec()
    spec.objective.lowest = "zero"  # type: ignore[assignment]
    only_issue(spec, "objective.lowest", "not a number")
