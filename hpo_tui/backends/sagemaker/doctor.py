"""Pre-flight checks of an AWS account for a SageMaker launch, all read-only: credentials and
their expiry, the region, the partitions of role and region, the execution role and its trust
policy, the quotas, the training image for the instance type, the data channels and the
default bucket. Each says what it found and what to do; one the identity may not run says
"could not check (missing permission X)" and blocks nothing.

`hpo-tui doctor`, `launch` (before anything is uploaded) and the TUI's launch confirmation
run the same checks. Headless; the SageMaker SDK is not imported.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Callable

from hpo_tui.backends.base import BackendError
from hpo_tui.backends.sagemaker.checks import (
    FAIL,
    OK,
    WARN,
    Check,
    CheckUnavailable,
    ask,
    could_not_check,
    make_client,
)
from hpo_tui.backends.sagemaker.errors import error_code, error_message, translate_error
from hpo_tui.backends.sagemaker.launch import SAMPLE_DATA
from hpo_tui.backends.sagemaker.quotas import quota_checks
from hpo_tui.backends.sagemaker.regions import arn_partition, partition_of, region_problem

if TYPE_CHECKING:
    import boto3

    from hpo_tui.spec import TuningSpec

SAGEMAKER_PRINCIPAL = "sagemaker.amazonaws.com"
EXPIRY_WARNING = dt.timedelta(minutes=15)


def run_checks(session_of: Callable[[], boto3.Session], spec: TuningSpec) -> list[Check]:
    """Every check, in the order a first launch meets the problems. Never raises for an AWS
    answer: what cannot be checked says so."""
    try:
        session = session_of()
    except BackendError as exc:
        text = str(exc)
        name = "region" if "region" in text.split(":")[0].lower() or "--region" in text else "credentials"
        return [Check(name, FAIL, text)]
    region = session.region_name
    problem = region_problem(region)
    if problem is not None:
        return [Check("region", FAIL, problem)]
    partition = partition_of(region)
    checks = [Check("region", OK, f"{region} (partition {partition})")]
    account, identity = _credentials(session, checks)
    if account is None:
        return checks
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = make_client(session, service)
        return clients[service]

    from hpo_tui.spec.model import role_arn_for

    role = role_arn_for(spec)
    checks.append(_partitions(role, region, partition, account))
    checks.append(_guarded("role", lambda: _role(client("iam"), role)))
    checks.append(_image(spec, region))
    quotas = _guarded("quotas", lambda: quota_checks(client("service-quotas"), client("sagemaker"), spec,
                                                     region, partition))  # type: ignore[arg-type,return-value]
    checks.extend(quotas if isinstance(quotas, list) else [quotas])
    for channel in ("train", "test"):
        checks.append(_guarded(f"channel {channel}",
                               lambda c=channel: _channel(client("s3"), spec, c, region, account)))
    checks.append(_guarded("default bucket", lambda: _default_bucket(client("s3"), region, account)))
    return checks


def _guarded(name: str, check: Callable[[], Check]) -> Check:
    """A check whose unexpected AWS answer says what it was, instead of ending the doctor."""
    import botocore.exceptions as bexc

    try:
        return check()
    except CheckUnavailable as exc:
        return could_not_check(name, exc.reason)
    except BackendError as exc:
        return could_not_check(name, str(exc))
    except bexc.ClientError as exc:
        return could_not_check(name, f"AWS answered {error_code(exc)}: {error_message(exc)}")


# ------------------------------------------------------------------ credentials


def _credentials(session: Any, checks: list[Check]) -> tuple[str | None, str]:
    import botocore.exceptions as bexc

    name = "credentials"
    try:
        creds = session.get_credentials()
    except (bexc.BotoCoreError, BackendError) as exc:
        checks.append(Check(name, FAIL, str(translate_error(exc, "sts", "GetCallerIdentity"))))
        return None, ""
    if creds is None:
        checks.append(Check(name, FAIL, "no AWS credentials found",
                            "run `aws configure` (or `aws sso login`), set AWS_ACCESS_KEY_ID and "
                            "AWS_SECRET_ACCESS_KEY, or pick a profile with --profile / AWS_PROFILE"))
        return None, ""
    try:
        who = ask(make_client(session, "sts"), "get_caller_identity")
    except CheckUnavailable as exc:
        checks.append(could_not_check(name, exc.reason))
        return None, ""
    except Exception as exc:  # noqa: BLE001 -- expired, rejected or unreadable credentials
        checks.append(Check(name, FAIL, str(translate_error(exc, "sts", "GetCallerIdentity"))))
        return None, ""
    account, arn = str(who.get("Account", "")), str(who.get("Arn", ""))
    found = f"{arn} (account {account}), from {getattr(creds, 'method', 'the AWS chain')}"
    # botocore keeps a refreshable credential's expiry only in this private attribute
    # (RefreshableCredentials._expiry_time, botocore 1.x); static keys have none.
    expiry = getattr(creds, "_expiry_time", None)
    if isinstance(expiry, dt.datetime):
        left = expiry - dt.datetime.now(dt.timezone.utc)
        when = expiry.astimezone(dt.timezone.utc).strftime("%H:%M UTC")
        if left <= EXPIRY_WARNING:
            checks.append(Check(name, WARN, f"{found}; they expire in {_minutes(left)} (at {when})",
                                "refresh them before launching (e.g. `aws sso login`): the dashboard "
                                "needs them to watch the tuning job"))
            return account, arn
        found += f"; they expire at {when}, in {_minutes(left)}"
    else:
        found += "; no expiry"
    checks.append(Check(name, OK, found))
    return account, arn


def _minutes(left: dt.timedelta) -> str:
    minutes = max(0, int(left.total_seconds() // 60))
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h"


# ------------------------------------------------------------------ partitions and role


def _partitions(role: str | None, region: str, partition: str | None, account: str) -> Check:
    name = "partition"
    if not role:
        return Check(name, FAIL, "no execution role is set",
                     "set role_arn in the spec's [sagemaker] section or export SAGEMAKER_ROLE_ARN "
                     "(a role SageMaker may assume; the README's 'Before your first SageMaker launch')")
    role_partition = arn_partition(role)
    if role_partition != partition:
        return Check(name, FAIL, f"the role is in partition {role_partition!r} ({role}) but region {region} is "
                     f"in {partition!r}",
                     f"use a role of the {partition} partition (arn:{partition}:iam::...), or a region of "
                     f"the {role_partition} partition")
    role_account = role.split(":")[4] if role.count(":") >= 5 else ""
    if role_account and role_account != account:
        return Check(name, FAIL, f"the role belongs to account {role_account}, you are in account {account}",
                     "SageMaker can only be passed a role of the account that launches: use a role of "
                     f"account {account}, or credentials of account {role_account}")
    return Check(name, OK, f"role, region and default bucket are all in partition {partition} "
                 f"(account {account})")


def _role(iam: Any, role: str | None) -> Check:
    name = "role"
    if not role:
        return Check(name, FAIL, "no execution role is set", "see the partition check above")
    role_name = role.rsplit("/", 1)[-1]
    try:
        desc = ask(iam, "get_role", RoleName=role_name)
    except CheckUnavailable as exc:
        return could_not_check(name, exc.reason, "add iam:GetRole (the README's optional doctor block) "
                               "to check the role before a launch")
    except Exception as exc:  # noqa: BLE001 -- read below
        if error_code(exc) == "NoSuchEntity":
            return Check(name, FAIL, f"no role named {role_name!r} in this account ({role})",
                         "create it (IAM console: Roles > Create role > AWS service > SageMaker, with "
                         "AmazonSageMakerFullAccess) or fix role_arn")
        raise
    policy = desc.get("Role", {}).get("AssumeRolePolicyDocument") or {}
    if isinstance(policy, str):
        import json
        import urllib.parse

        policy = json.loads(urllib.parse.unquote(policy))
    if trusts_sagemaker(policy):
        return Check(name, OK, f"{role_name} exists and its trust policy lets {SAGEMAKER_PRINCIPAL} assume it")
    return Check(name, FAIL, f"{role_name}'s trust policy does not let {SAGEMAKER_PRINCIPAL} assume it "
                 "(training jobs would fail at create)",
                 f"add a statement Effect Allow, Principal {{\"Service\": \"{SAGEMAKER_PRINCIPAL}\"}}, Action "
                 "sts:AssumeRole (IAM console: the role > Trust relationships > Edit)")


def trusts_sagemaker(policy: dict[str, Any]) -> bool:
    statements = policy.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    for st in statements:
        if st.get("Effect") != "Allow":
            continue
        actions = st.get("Action") or []
        actions = [actions] if isinstance(actions, str) else actions
        if not any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions):
            continue
        principal = st.get("Principal") or {}
        if principal == "*":
            return True
        services = principal.get("Service", []) if isinstance(principal, dict) else []
        services = [services] if isinstance(services, str) else services
        if SAGEMAKER_PRINCIPAL in services:
            return True
    return False


# ------------------------------------------------------------------ image, channels, bucket


def _image(spec: TuningSpec, region: str) -> Check:
    from hpo_tui.spec.limits import is_gpu_instance, mxnet_image_problem
    from hpo_tui.spec.request import training_image_uri

    instance_type = spec.estimator.instance_type
    problem = mxnet_image_problem(instance_type)
    if problem is not None:
        return Check("image", FAIL, problem.split("; pick")[0], "pick" + problem.split("; pick", 1)[1])
    kind = "GPU" if is_gpu_instance(instance_type) else "CPU"
    return Check("image", OK, f"MXNet {spec.estimator.framework_version} {kind} image for {instance_type}: "
                 f"{training_image_uri(spec, region)}")


def _channel(s3: Any, spec: TuningSpec, channel: str, region: str, account: str) -> Check:
    name = f"channel {channel}"
    value = getattr(spec.channels, channel) or SAMPLE_DATA.format(region=region, channel=channel)
    if not value.startswith("s3://"):
        from pathlib import Path

        if Path(value).expanduser().is_dir():
            return Check(name, OK, f"local folder {value}, uploaded to the default bucket at launch")
        return Check(name, FAIL, f"{value} is not a folder", f"fix channels.{channel} (a folder or an s3:// URI)")
    bucket, _, prefix = value[len("s3://"):].partition("/")
    params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": 1}
    if bucket == default_bucket_name(region, account):
        params["ExpectedBucketOwner"] = account  # ours by name: refuse another account's
    try:
        page = ask(s3, "list_objects_v2", **params)
    except CheckUnavailable as exc:
        return could_not_check(name, exc.reason + f" on {bucket}",
                               "the execution role needs s3:GetObject and s3:ListBucket on it too")
    except Exception as exc:  # noqa: BLE001 -- read below
        if error_code(exc) == "NoSuchBucket":
            return Check(name, FAIL, f"{value}: no bucket named {bucket!r}", f"fix channels.{channel}")
        raise
    where = page.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("x-amz-bucket-region")
    if where and where != region:
        return Check(name, FAIL, f"{value} is in {where}, the tuning job runs in {region}",
                     f"copy the data to a bucket in {region}, or launch in {where}")
    if not page.get("KeyCount") and not page.get("Contents"):
        return Check(name, FAIL, f"nothing under {value}", f"upload the {channel} data there or fix channels.{channel}")
    return Check(name, OK, f"{value} is readable (by you; the execution role reads it at training time)")


def default_bucket_name(region: str, account: str) -> str:
    return f"sagemaker-{region}-{account}"


def _default_bucket(s3: Any, region: str, account: str) -> Check:
    name = "default bucket"
    bucket = default_bucket_name(region, account)
    try:
        head = ask(s3, "head_bucket", Bucket=bucket, ExpectedBucketOwner=account)
    except CheckUnavailable as exc:
        if "s3:ListBucket" in exc.reason:
            return could_not_check(name, f"S3 answered 403 to HeadBucket on {bucket}: either your identity "
                                   "lacks s3:ListBucket on it, or another account owns a bucket of that name",
                                   "add s3:ListBucket on arn:PARTITION:s3:::sagemaker-* (README); if another "
                                   "account owns it, launch stops before uploading")
        return could_not_check(name, exc.reason)
    except Exception as exc:  # noqa: BLE001 -- read below
        if error_code(exc) in ("404", "NoSuchBucket", "NotFound"):
            return Check(name, OK, f"{bucket} does not exist yet; launch creates it in {region} (s3:CreateBucket)")
        raise
    where = head.get("BucketRegion") or head.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get(
        "x-amz-bucket-region")
    if where and where != region:
        return Check(name, FAIL, f"{bucket} is in {where}, not {region}",
                     f"launch in {where}, or delete that bucket so launch can create it in {region}")
    found = f"{bucket} is yours (account {account}), in {region}"
    try:
        enc = ask(s3, "get_bucket_encryption", Bucket=bucket, ExpectedBucketOwner=account)
    except CheckUnavailable as exc:
        return Check(name, OK, found + f"; its encryption could not be checked ({exc.reason})")
    except Exception as exc:  # noqa: BLE001 -- no configuration: S3's default encryption
        if error_code(exc) == "ServerSideEncryptionConfigurationNotFoundError":
            return Check(name, OK, found)
        raise
    for rule in enc.get("ServerSideEncryptionConfiguration", {}).get("Rules", []):
        default = rule.get("ApplyServerSideEncryptionByDefault") or {}
        if default.get("SSEAlgorithm", "").startswith("aws:kms"):
            key = default.get("KMSMasterKeyID") or "the AWS managed key aws/s3"
            return Check(name, WARN, found + f"; encrypted with SSE-KMS ({key})",
                         "uploading needs kms:GenerateDataKey on that key for you, and the execution role "
                         "needs kms:Decrypt (README, the KMS block)")
    return Check(name, OK, found)
