"""The README's IAM policy against what hpo-tui really calls: every AWS action each command
makes (recorded against moto, and validated answers where moto lacks the operation) must be
in the README's policy, and every action the policy grants must be used, or be listed here
with the reason it is there. A failed multipart upload is aborted (no parts left billed)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from hpo_tui.backends.sagemaker import LOG_GROUP
from hpo_tui.backends.sagemaker.errors import iam_action
from hpo_tui.cli import main
from hpo_tui.spec import Channels, Estimator, TuningSpec
from hpo_tui.spec.toml import dumps_toml
from tests.sagemaker.account import ROLE, quota_pages
from tests.sagemaker.conftest import answer_on_session, make_spec
from tests.sagemaker.stubs import training_summary

README = Path(__file__).resolve().parents[2] / "README.md"

# Calls that need no statement in the policy, and why.
NEEDS_NO_POLICY = {
    "sts:GetCallerIdentity": "allowed to every identity",
    "s3:ListAllMyBuckets": "boto3 falls back to HeadBucket (s3:ListBucket) when it is denied",
}
# Actions the README grants that this recording does not exercise, and when they are needed.
GRANTED_FOR_CASES_NOT_RECORDED = {
    "sagemaker:AddTags": "when tags are set (the SDK's config file adds Tags to the create request)",
    "s3:AbortMultipartUpload": "a failed multipart upload (test_a_failed_multipart_upload_is_aborted)",
    "kms:GenerateDataKey": "uploading to a default bucket encrypted with SSE-KMS",
    "kms:Decrypt": "multipart uploads to a default bucket encrypted with SSE-KMS",
    "servicequotas:ListAWSDefaultServiceQuotas": "doctor: quotas with no applied value have their default",
}


def readme_policy_actions() -> set[str]:
    """Every action of every policy block in the README's SageMaker section."""
    section = README.read_text(encoding="utf-8").split("## Running on SageMaker", 1)[1].split("\n## ", 1)[0]
    actions: set[str] = set()
    for block in re.findall(r"```json\n(.*?)\n```", section, re.DOTALL):
        policy = json.loads(block)
        for st in policy.get("Statement", []):
            listed = st["Action"]
            actions.update([listed] if isinstance(listed, str) else listed)
    return actions


def record_actions(session: Any) -> set[str]:
    actions: set[str] = set()

    def record(model: Any, **_: Any) -> None:
        service = model.service_model.signing_name or model.service_model.endpoint_prefix
        service = {"servicequotas": "servicequotas", "logs": "logs"}.get(service, service)
        actions.add(iam_action(service, model.name))
        if model.name == "CreateHyperParameterTuningJob":
            actions.add("iam:PassRole")  # the request passes the execution role to SageMaker

    session.events.register("provide-client-params", record)
    return actions  # filled as calls are made


def test_every_action_of_every_command_is_in_the_readme_policy(
    cli_session: Any, moto_endpoint: str, source_dir: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SAGEMAKER_ROLE_ARN", ROLE)
    name = "hpo-iam"
    data = tmp_path / "train"
    data.mkdir()
    (data / "images.gz").write_bytes(b"pixels")
    spec = tmp_path / "tuning.toml"
    spec.write_text(dumps_toml(TuningSpec(
        backend="sagemaker", tuning_job_name=name,
        estimator=Estimator(source_dir=str(source_dir)), channels=Channels(train=str(data)))))
    answer_on_session(cli_session, "service-quotas", "ListServiceQuotas", quota_pages() * 3)  # 2 doctors, 1 launch
    job = f"{name}-001-00000000"
    answer_on_session(cli_session, "sagemaker", "ListTrainingJobsForHyperParameterTuningJob",
                      [{"TrainingJobSummaries": [training_summary(name, 0, status="Completed", objective=0.9)]}] * 4)
    answer_on_session(cli_session, "sagemaker", "StopHyperParameterTuningJob", [{}])
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName=LOG_GROUP)
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=f"{job}/algo-1-1764331200")
    logs.put_log_events(logGroupName=LOG_GROUP, logStreamName=f"{job}/algo-1-1764331200",
                        logEvents=[{"timestamp": int(time.time() * 1000), "message": "Epoch[0] Validation-accuracy=0.9"}])
    actions = record_actions(cli_session)

    commands = [["doctor", str(spec)], ["launch", str(spec)], ["doctor", str(spec)], ["status", name], ["jobs"],
                ["export", name], ["export", name, "--format", "optuna", "-o", str(tmp_path / "study.log")],
                ["logs", job], ["logs", job, "--follow"], ["stop", name]]
    for command in commands:
        code = main([*command, "--backend", "sagemaker"])
        out = capsys.readouterr()
        assert code == 0, (command, out.out, out.err)

    granted = readme_policy_actions()
    used = actions - set(NEEDS_NO_POLICY)
    assert used - granted == set(), "called but not in the README's policy"
    assert granted - used - set(GRANTED_FOR_CASES_NOT_RECORDED) == set(), "granted but never called"
    # The recording covered every part: launch, watch, stop, and the doctor's checks.
    assert {"sagemaker:CreateHyperParameterTuningJob", "iam:PassRole", "s3:PutObject", "iam:GetRole",
            "servicequotas:ListServiceQuotas", "sagemaker:ListTrainingJobs", "logs:FilterLogEvents",
            "s3:GetEncryptionConfiguration"} <= used


def test_a_failed_multipart_upload_is_aborted(
    boto_session: Any, moto_endpoint: str, source_dir: Path, tmp_path: Path
) -> None:
    """A channel big enough for a multipart upload whose second part is refused: the launch
    fails with a message, and no upload is left open in the bucket to keep its parts billed."""
    from botocore.exceptions import ClientError

    from hpo_tui.backends.sagemaker import SageMakerBackend
    from hpo_tui.errors import UserError

    answer_on_session(boto_session, "service-quotas", "ListServiceQuotas", quota_pages())
    data = tmp_path / "train"
    data.mkdir()
    (data / "images.bin").write_bytes(b"\0" * (20 * 1024 * 1024))  # above boto3's 8 MB threshold
    parts: list[int] = []
    aborted: list[str] = []

    def refuse_second_part(params: dict[str, Any], **_: Any) -> None:
        parts.append(params["PartNumber"])
        if params["PartNumber"] == 2:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"},
                               "ResponseMetadata": {"HTTPStatusCode": 403}}, "UploadPart")

    boto_session.events.register("before-parameter-build.s3.UploadPart", refuse_second_part)
    boto_session.events.register("before-parameter-build.s3.AbortMultipartUpload",
                                 lambda params, **_: aborted.append(params["UploadId"]))
    spec = make_spec(source_dir, "hpo-multipart")
    spec.channels.train = str(data)
    with pytest.raises(UserError, match="s3:PutObject"):
        SageMakerBackend(boto_session=boto_session).launch(spec)
    assert 2 in parts and len(aborted) == 1
    bucket = "sagemaker-us-east-1-123456789012"
    assert boto3.client("s3").list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
