"""Which regions SageMaker runs in, and which partition each belongs to, from the endpoint data
that ships with botocore: no network call, so a mistyped --region is answered at once (with a
did-you-mean) by every command, instead of after minutes of retries against a host that does
not exist.
"""

from __future__ import annotations

import functools

from hpo_tui.backends.base import BackendError


ENDPOINT_PREFIX = "api.sagemaker"  # SageMaker's service key in botocore's endpoint data


@functools.lru_cache(maxsize=1)
def sagemaker_regions() -> dict[str, str]:
    """region -> partition ("aws", "aws-cn", "aws-us-gov", ...) for every region botocore
    knows SageMaker in: what botocore's get_available_regions("sagemaker") answers, read from
    its endpoints.json without importing botocore (a second under load), so a typo is answered
    before boto3 is even loaded."""
    import importlib.util
    import json
    from pathlib import Path

    found = importlib.util.find_spec("botocore")
    if found is None or found.origin is None:
        return {}
    data = json.loads((Path(found.origin).parent / "data" / "endpoints.json").read_text(encoding="utf-8"))
    out: dict[str, str] = {}
    for partition in data.get("partitions", []):
        endpoints = partition.get("services", {}).get(ENDPOINT_PREFIX, {}).get("endpoints", {})
        for region in endpoints:
            if region in partition.get("regions", {}):
                out[region] = partition["partition"]
    return out


def partition_of(region: str) -> str | None:
    """The partition of a region SageMaker runs in; None for a region botocore does not know."""
    return sagemaker_regions().get(region)


def _distance(a: str, b: str) -> int:
    """Edits (insert, delete, replace, swap two neighbours) from a to b: "us-esat-1" is one
    swap from "us-east-1", closer than "us-west-1"."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            cost = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, prev2[j - 2] + 1)
            row.append(cost)
        prev2, prev = prev, row
    return prev[-1]


def suggest_region(region: str) -> str | None:
    """The known region fewest edits away (at most 3), if any."""
    value = region.strip().lower()
    best = min(sorted(sagemaker_regions()), key=lambda known: _distance(value, known))
    return best if _distance(value, best) <= 3 else None


def region_problem(region: str) -> str | None:
    """Why `region` cannot be used with SageMaker (naming --region and the closest known
    region), or None when SageMaker runs there."""
    if partition_of(region) is not None or not sagemaker_regions():
        return None  # known, or no region list to tell (then AWS itself answers)
    from importlib.metadata import version

    close = suggest_region(region)
    hint = f"; did you mean --region {close}?" if close else ""
    return (
        f"SageMaker does not run in region {region!r} (not in the region list of botocore "
        f"{version('botocore')}){hint} Pass --region with a region SageMaker runs in (e.g. --region "
        "us-east-1), or fix AWS_REGION / the profile's region. A region newer than this botocore "
        "needs `pip install -U botocore`."
    )


def check_region_name(region: str) -> str:
    """The region's partition; raises BackendError with a did-you-mean for an unknown region."""
    problem = region_problem(region)
    if problem is not None:
        raise BackendError(problem)
    return sagemaker_regions()[region]


def arn_partition(arn: str) -> str | None:
    """The partition of an ARN ("arn:aws-cn:iam::..." -> "aws-cn")."""
    parts = arn.split(":")
    return parts[1] if len(parts) > 2 and parts[0] == "arn" else None


def console_domain(partition: str | None) -> str:
    return {"aws-cn": "console.amazonaws.cn", "aws-us-gov": "console.amazonaws-us-gov.com"}.get(
        partition or "aws", "console.aws.amazon.com")
