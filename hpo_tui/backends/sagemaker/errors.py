"""AWS failures as clear messages: every botocore/boto3 error becomes a BackendError that
names the cause and the fix, or a Transient (throttling, 5xx, network) worth waiting out.

Imports only `hpo_tui.backends.base` and (lazily) botocore and boto3.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from hpo_tui.backends.base import BackendError, TuningJobNotFound

# call(service, operation, **params): one AWS call whose failures arrive already translated
# (BackendError with the cause and the fix, or Transient). The backend owns the clients.
AwsCall = Callable[..., dict[str, Any]]

_THROTTLE_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
        "ProvisionedThroughputExceededException",
    }
)
_SERVER_CODES = frozenset(
    {"InternalFailure", "InternalError", "InternalServerError", "InternalServerException", "ServiceUnavailable"}
)
_EXPIRED_CODES = frozenset({"ExpiredToken", "ExpiredTokenException", "TokenRefreshRequired", "RequestExpired"})
_BAD_CREDENTIAL_CODES = frozenset(
    {"InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch", "InvalidAccessKeyId"}
)
_DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"})
# S3 operations whose IAM action has another name.
_S3_ACTIONS = {
    "ListObjectsV2": "ListBucket",
    "ListObjects": "ListBucket",
    "HeadBucket": "ListBucket",
    "HeadObject": "GetObject",
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "ListBuckets": "ListAllMyBuckets",
    "GetBucketEncryption": "GetEncryptionConfiguration",
}
# Operations the SDK makes on other services during a launch (ClientError has no service name).
_OTHER_SERVICE_OPS = {
    **{op: "s3" for op in (*_S3_ACTIONS, "CreateBucket", "PutObject", "GetObject", "GetBucketLocation")},
    "GetCallerIdentity": "sts",
}
_MONEY_HINT = "No training instance was started by this failed call."


class AwsUnavailable(BackendError):
    """AWS throttled us or could not be reached, beyond botocore's retries, with no data to keep."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Transient(Exception):
    """Internal: a failure worth waiting out (throttling, 5xx, network)."""

    def __init__(self, message: str, throttled: bool) -> None:
        super().__init__(message)
        self.throttled = throttled


def error_code(exc: BaseException | None) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def error_message(exc: BaseException | None) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Message", ""))
    return str(exc or "")


def as_user_error(exc: Exception) -> Exception:
    if isinstance(exc, Transient):
        return BackendError(f"{exc}. Nothing was launched; try again in a minute.")
    return exc


def iam_action(service: str, operation: str) -> str:
    if service == "s3":
        operation = _S3_ACTIONS.get(operation, operation)
    return f"{service}:{operation}"


def translate_error(exc: BaseException, service: str, operation: str) -> Exception:
    """An AWS failure as a BackendError naming cause and fix, or Transient (worth waiting out).

    `operation` may be a method name (describe_...) or an API name; ClientError's own wins.
    """
    import botocore.exceptions as bexc

    if isinstance(exc, (BackendError, Transient)):
        return exc
    api = getattr(exc, "operation_name", None) or _api_name(operation)
    service = _OTHER_SERVICE_OPS.get(api, service)
    if isinstance(exc, (bexc.NoCredentialsError, bexc.PartialCredentialsError)):
        return BackendError(
            "No AWS credentials found. Configure them with `aws configure` (or `aws sso login`), "
            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pick a profile with --profile / "
            "AWS_PROFILE. To tune on this machine without AWS, use --backend local."
        )
    if isinstance(exc, (bexc.TokenRetrievalError, bexc.SSOTokenLoadError, bexc.UnauthorizedSSOTokenError)):
        return BackendError(
            f"Your AWS login has expired ({exc}). Log in again (e.g. `aws sso login`) and retry."
        )
    if isinstance(exc, bexc.NoRegionError):
        return BackendError("No AWS region is set: pass --region, or set AWS_REGION.")
    if isinstance(exc, (bexc.ConnectionError, bexc.HTTPClientError)):
        return Transient(f"network error talking to AWS ({type(exc).__name__})", throttled=False)
    upload_failed = _s3_upload_failure(exc)
    if upload_failed is not None:
        return upload_failed
    if not isinstance(exc, bexc.ClientError):
        return exc if isinstance(exc, Exception) else RuntimeError(str(exc))

    code = error_code(exc)
    message = error_message(exc)
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if code in _THROTTLE_CODES or "rate exceeded" in message.lower():
        return Transient(f"throttled on {api} ({code}: {message})", throttled=True)
    if code in _SERVER_CODES or (isinstance(status, int) and status >= 500):
        return Transient(f"AWS error on {api} ({code}: {message})", throttled=False)
    if code in _EXPIRED_CODES:
        return BackendError(
            f"Your AWS session token has expired ({api}). Refresh the credentials (e.g. `aws sso "
            "login`, or a new `aws sts assume-role` session) and try again."
        )
    if code in _BAD_CREDENTIAL_CODES:
        return BackendError(
            f"AWS rejected the credentials ({code}: {message}). Check the access key, secret and "
            "profile in use (`aws sts get-caller-identity` shows who you are)."
        )
    if api == "HeadBucket" and (code in _DENIED_CODES or code in {"403", "Forbidden"}):
        # HEAD has no body: S3 says only 403. Either the identity lacks s3:ListBucket, or the
        # bucket is someone else's: ExpectedBucketOwner (the SDK sends it for its default bucket)
        # makes S3 refuse a bucket that another account created under that name.
        return BackendError(
            "S3 refused HeadBucket (403 Forbidden) on the SageMaker default bucket "
            "(sagemaker-<region>-<account>): your AWS identity may not call s3:ListBucket on it, or the "
            "bucket belongs to another AWS account, so hpo-tui will not upload your code there. Add "
            "s3:ListBucket for that bucket to your IAM policy (see 'Running on SageMaker' in the README); "
            "if it is not your account's bucket, delete it from the account that owns it or ask AWS "
            f"support. Nothing was uploaded. {_MONEY_HINT}"
        )
    if code in _DENIED_CODES:
        found = re.search(r"perform: ([A-Za-z0-9-]+:[A-Za-z0-9]+)", message)
        action = found.group(1) if found else iam_action(service, api)
        return BackendError(
            f"Access denied: your AWS identity may not call {action}. Add {action} to its IAM "
            "policy (the smallest policy is in the README, 'Running on SageMaker')."
        )
    if code in {"ResourceNotFound", "ResourceNotFoundException", "NoSuchBucket"}:
        if service == "sagemaker":
            return TuningJobNotFound(f"SageMaker could not find it ({api}): {message}")
        return BackendError(f"{api} failed, not found: {message}")
    if code == "ValidationException":
        return BackendError(f"SageMaker rejected {api}: {message} Fix the field it names and try again.")
    if code == "ResourceLimitExceeded":
        quota = re.search(r"limit '([^']+)'", message)
        which = f"the quota '{quota.group(1)}'" if quota else "a SageMaker quota"
        return BackendError(
            f"SageMaker refused {api}: {which} is exhausted ({message}). Request an increase in the "
            "Service Quotas console (Amazon SageMaker), or lower max_parallel_jobs / instance_count, "
            f"or choose another instance type. {_MONEY_HINT}"
        )
    if code == "ResourceInUse":
        return BackendError(f"{message} Pick another tuning job name and launch again.")
    return BackendError(f"AWS error on {api} ({code}): {message}")


def _s3_upload_failure(exc: BaseException) -> Exception | None:
    try:
        from boto3.exceptions import S3UploadFailedError
    except ImportError:  # pragma: no cover -- boto3 is a dependency
        return None
    if not isinstance(exc, S3UploadFailedError):
        return None
    text = str(exc)
    if "AccessDenied" in text:
        return BackendError(
            "Access denied: your AWS identity may not call s3:PutObject on the SageMaker default "
            "bucket. Add s3:PutObject to its IAM policy (see 'Running on SageMaker' in the README)."
        )
    if "SlowDown" in text or "Throttl" in text:
        return Transient(f"throttled while uploading to S3 ({text})", throttled=True)
    return BackendError(f"Uploading to S3 failed: {text}")


def _api_name(operation: str) -> str:
    if "_" in operation or operation.islower():
        return "".join(part.capitalize() for part in operation.split("_"))
    return operation
