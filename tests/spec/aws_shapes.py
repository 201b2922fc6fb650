"""Check a request against botocore's model of CreateHyperParameterTuningJob.

botocore's ParamValidator checks structure, types, required members and minimums; AWS
also enforces maximums, enums and patterns server-side, so `strict_problems` checks those
from the same model.
"""

from __future__ import annotations

import functools
import re
from typing import Any


@functools.lru_cache(maxsize=1)
def input_shape() -> Any:
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    return model.operation_model("CreateHyperParameterTuningJob").input_shape


def botocore_report(params: dict[str, Any]) -> str:
    """botocore's own validation: '' when it accepts the request."""
    from botocore.validate import ParamValidator

    report = ParamValidator().validate(params, input_shape())
    return report.generate_report() if report.has_errors() else ""


def strict_problems(value: Any, shape: Any = None, path: str = "") -> list[str]:
    """Maximum lengths/values, enums and patterns the service enforces."""
    shape = shape or input_shape()
    meta = shape.metadata
    out: list[str] = []
    kind = shape.type_name
    if kind == "structure":
        for name, sub in value.items():
            out += strict_problems(sub, shape.members[name], f"{path}.{name}")
    elif kind == "list":
        if "max" in meta and len(value) > meta["max"]:
            out.append(f"{path}: {len(value)} items > {meta['max']}")
        for i, item in enumerate(value):
            out += strict_problems(item, shape.member, f"{path}[{i}]")
    elif kind == "map":
        if "max" in meta and len(value) > meta["max"]:
            out.append(f"{path}: {len(value)} entries > {meta['max']}")
        for k, v in value.items():
            out += strict_problems(k, shape.key, f"{path}<key {k}>")
            out += strict_problems(v, shape.value, f"{path}.{k}")
    elif kind == "string":
        if "max" in meta and len(value) > meta["max"]:
            out.append(f"{path}: length {len(value)} > {meta['max']}")
        if "enum" in meta and meta["enum"] and value not in meta["enum"]:
            out.append(f"{path}: {value!r} not in enum")
        if "pattern" in meta and not re.fullmatch(meta["pattern"], value, flags=re.DOTALL):
            out.append(f"{path}: {value!r} does not match {meta['pattern']}")
    elif kind in ("integer", "long"):
        if "max" in meta and value > meta["max"]:
            out.append(f"{path}: {value} > {meta['max']}")
    return out
