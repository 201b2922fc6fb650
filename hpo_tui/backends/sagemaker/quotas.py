"""SageMaker quotas from Service Quotas, set against what a spec asks for at once
(max_parallel_jobs x instance_count) less what already runs in the account.

The quotas, by the names Service Quotas gives them:
- "<instance type> for training job usage" (and "... for spot training job usage" with spot),
- "Number of instances across all training jobs",
- the concurrent hyperparameter tuning jobs of the account.
Applied values come from ListServiceQuotas; a quota with no applied value has its default from
ListAWSDefaultServiceQuotas. Running training jobs come from ListTrainingJobs (InProgress) and
one DescribeTrainingJob each (their instance type and count), up to DESCRIBE_LIMIT of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hpo_tui.backends.sagemaker.checks import FAIL, OK, WARN, Check, CheckUnavailable, ask, could_not_check
from hpo_tui.backends.sagemaker.regions import console_domain

if TYPE_CHECKING:
    from hpo_tui.spec import TuningSpec

ALL_INSTANCES = "Number of instances across all training jobs"
_TUNING = re.compile(r"(concurrent|parallel)\b.*hyperparameter tuning jobs?$|hyperparameter tuning jobs?.*concurrent",
                     re.IGNORECASE)
DESCRIBE_LIMIT = 50  # running training jobs described for their instances; beyond, counted as partial


def type_quota(instance_type: str, spot: bool) -> str:
    return f"{instance_type} for {'spot ' if spot else ''}training job usage"


@dataclass(frozen=True)
class Quota:
    name: str
    code: str
    value: float
    applied: bool  # False: the AWS default (no applied value listed)


@dataclass
class Usage:
    """Instances of running training jobs: all of them, per (instance type, spot)."""

    instances: int = 0
    by_type: dict[tuple[str, bool], int] | None = None
    jobs: int = 0
    partial: str = ""  # why the count may be low


def _find_quotas(sq: Any, wanted: list[str]) -> tuple[dict[str, Quota], str]:
    """Quotas by wanted name (the tuning one under "tuning"), applied values first, then
    defaults. Returns what was found and, if a list could not be read, why."""
    found: dict[str, Quota] = {}
    why = ""

    def key_of(name: str) -> str | None:
        for w in wanted:
            if name.lower() == w.lower():
                return w
        return "tuning" if _TUNING.search(name) and "per hyperparameter" not in name.lower() else None

    for method, applied in (("list_service_quotas", True), ("list_aws_default_service_quotas", False)):
        token = None
        try:
            while True:
                params: dict[str, Any] = {"ServiceCode": "sagemaker", "MaxResults": 100}
                if token:
                    params["NextToken"] = token
                page = ask(sq, method, **params)
                for q in page.get("Quotas", []):
                    key = key_of(str(q.get("QuotaName", "")))
                    if key and key not in found and q.get("Value") is not None:
                        found[key] = Quota(str(q["QuotaName"]), str(q.get("QuotaCode", "")), float(q["Value"]), applied)
                token = page.get("NextToken")
                if not token or len(found) == len(wanted) + 1:
                    break
        except CheckUnavailable as exc:
            why = why or exc.reason
        if len(found) == len(wanted) + 1:
            break
    return found, why


def _running_usage(sm: Any) -> Usage:
    usage = Usage(by_type={})
    names: list[str] = []
    token = None
    while True:
        params: dict[str, Any] = {"StatusEquals": "InProgress", "MaxResults": 100}
        if token:
            params["NextToken"] = token
        page = ask(sm, "list_training_jobs", **params)
        names.extend(s["TrainingJobName"] for s in page.get("TrainingJobSummaries", []))
        token = page.get("NextToken")
        if not token:
            break
    usage.jobs = len(names)
    if len(names) > DESCRIBE_LIMIT:
        usage.partial = f"only the first {DESCRIBE_LIMIT} of {len(names)} running training jobs were counted"
    for job in names[:DESCRIBE_LIMIT]:
        desc = ask(sm, "describe_training_job", TrainingJobName=job)
        resources = desc.get("ResourceConfig") or {}
        count = int(resources.get("InstanceCount") or 0) or sum(
            int(g.get("InstanceCount", 0)) for g in resources.get("InstanceGroups") or [])
        key = (str(resources.get("InstanceType", "")), bool(desc.get("EnableManagedSpotTraining")))
        usage.instances += count
        assert usage.by_type is not None
        usage.by_type[key] = usage.by_type.get(key, 0) + count
    return usage


def increase_hint(quota: Quota, need: int, region: str, partition: str | None) -> str:
    url = (f"https://{region}.{console_domain(partition)}/servicequotas/home/services/sagemaker/quotas/"
           f"{quota.code}")
    return (f"request an increase of '{quota.name}' to {need} in {region}: {url} , or `aws service-quotas "
            f"request-service-quota-increase --service-code sagemaker --quota-code {quota.code} "
            f"--desired-value {need} --region {region}`")


def _instances_check(label: str, quota: Quota, used: int, per_job: int, parallel: int, region: str,
                     partition: str | None, usage_note: str) -> Check:
    value = int(quota.value)
    asked = per_job * parallel
    kind = "" if quota.applied else " (the AWS default)"
    free = max(0, value - used)
    running = f", {used} in use by running training jobs" if used else ""
    found = f"'{quota.name}' is {value}{kind}{running}; the spec runs up to {asked} at once"
    if usage_note:
        found += f" ({usage_note})"
    fits = free // per_job if per_job else 0
    if value == 0:
        return Check(label, FAIL, f"'{quota.name}' is 0 in {region}{kind}: no training job can start",
                     increase_hint(quota, asked, region, partition))
    if fits == 0:
        return Check(label, FAIL, found + ": not one training job can start now",
                     f"wait for the running jobs, or {increase_hint(quota, used + asked, region, partition)}")
    if fits < parallel:
        return Check(label, FAIL, found + f": only {fits} of the {parallel} parallel training jobs can run",
                     f"set max_parallel_jobs = {fits}, or {increase_hint(quota, used + asked, region, partition)}")
    status = WARN if usage_note else OK
    return Check(label, status, found, "")


def quota_checks(sq: Any, sm: Any, spec: TuningSpec, region: str, partition: str | None) -> list[Check]:
    """The quota checks for a spec, each degrading to "could not check" on its own."""
    from hpo_tui.spec import resolved_max_jobs

    est = spec.estimator
    spot = bool(est.use_spot_instances)
    parallel = max(1, min(int(spec.max_parallel_jobs), int(resolved_max_jobs(spec) or 1)))
    per_job = max(1, int(est.instance_count))
    wanted = [type_quota(est.instance_type, spot), ALL_INSTANCES]
    found, why = _find_quotas(sq, wanted)
    try:
        usage = _running_usage(sm)
        usage_note = usage.partial
    except CheckUnavailable as exc:
        usage, usage_note = Usage(by_type={}), f"running jobs not counted: {exc.reason}"
    checks: list[Check] = []
    for name in wanted:
        label = "quota: " + ("spot instances" if spot and name == wanted[0] else
                             "instance type" if name == wanted[0] else "all instances")
        quota = found.get(name)
        if quota is None:
            if why:
                checks.append(could_not_check(label, f"{why}; '{name}'",
                                              "add servicequotas:ListServiceQuotas to your IAM policy (README, "
                                              "the optional doctor block)"))
            else:
                checks.append(Check(label, WARN, f"Service Quotas lists no quota '{name}' in {region}",
                                    f"check that SageMaker offers {est.instance_type} for training in {region}"))
            continue
        assert usage.by_type is not None
        used = usage.by_type.get((est.instance_type, spot), 0) if name == wanted[0] else usage.instances
        checks.append(_instances_check(label, quota, used, per_job, parallel, region, partition, usage_note))
    checks.append(_tuning_check(sm, found.get("tuning"), why, region, partition))
    return checks


def _tuning_check(sm: Any, quota: Quota | None, why: str, region: str, partition: str | None) -> Check:
    label = "quota: tuning jobs"
    try:
        running = 0
        token = None
        while True:
            params: dict[str, Any] = {"StatusEquals": "InProgress", "MaxResults": 100}
            if token:
                params["NextToken"] = token
            page = ask(sm, "list_hyper_parameter_tuning_jobs", **params)
            running += len(page.get("HyperParameterTuningJobSummaries", []))
            token = page.get("NextToken")
            if not token:
                break
    except CheckUnavailable as exc:
        return could_not_check(label, exc.reason)
    if quota is None:
        if why:
            return could_not_check(label, f"{why}; {running} tuning jobs running")
        return Check(label, OK, f"{running} tuning jobs running (Service Quotas lists no such quota in {region})")
    value = int(quota.value)
    found = f"'{quota.name}' is {value}, {running} running"
    if running >= value:
        return Check(label, FAIL, found + ": no new tuning job can start",
                     f"stop one (`hpo-tui stop NAME --backend sagemaker`), or "
                     f"{increase_hint(quota, running + 1, region, partition)}")
    return Check(label, OK, found)
