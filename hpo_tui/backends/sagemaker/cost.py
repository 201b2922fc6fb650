"""Dollars for a tuning job from the prices the user gave per instance type: each training
job's instance-hours at the price of its own definition's instance type."""

from __future__ import annotations

from typing import Any, Callable

PriceOf = Callable[[list[Any], tuple[Any, ...]], "float | None"]


def price_from_table(prices: dict[str, float]) -> PriceOf:
    """The price per instance-hour a snapshot shows: the tuning job's instance type's, or for
    several definitions of different types, their instance-hours' average (so that hours x
    price is the sum of each job's dollars). None when a type in use has no price."""

    def price_of(definitions: list[Any], jobs: tuple[Any, ...]) -> float | None:
        types = {d.name: d.instance_type for d in definitions}
        used = {t for t in types.values()}
        if not used or "" in used or any(t not in prices for t in used):
            return None
        if len(used) == 1:
            return prices[used.pop()]
        default = definitions[0].instance_type
        hours = dollars = 0.0
        for job in jobs:
            if job.instance_hours is None:
                continue
            kind = types.get(job.definition_name, default)
            hours += job.instance_hours
            dollars += job.instance_hours * prices[kind]
        return dollars / hours if hours else None

    return price_of
