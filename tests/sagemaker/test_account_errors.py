"""Account errors, worded plainly: a mistyped region on every command (answered before any AWS
call, naming --region), a missing profile, `logs` of a missing job, a failed upload, and no
SDK log line that tells an hpo-tui user to do what they cannot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hpo_tui.cli import main

COMMANDS = [
    ["status", "hpo-x"], ["jobs"], ["stop", "hpo-x"], ["logs", "hpo-x-001-abc"], ["export", "hpo-x"],
    ["attach", "hpo-x"], ["doctor"], ["launch", "SPEC"],
]


@pytest.fixture()
def no_aws_call(fake_aws: None, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every AWS call a command makes (none is answered: the endpoint is a closed port)."""
    import botocore.client

    calls: list[str] = []
    real = botocore.client.BaseClient._make_api_call

    def record(self: Any, operation: str, params: dict[str, Any]) -> Any:
        calls.append(operation)
        return real(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", record)
    return calls


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_mistyped_region_is_answered_before_any_aws_call_naming_region(
    command: list[str], no_aws_call: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SAGEMAKER_ROLE_ARN", "arn:aws:iam::123456789012:role/SageMakerTuning")
    if command == ["launch", "SPEC"]:
        main(["spec", "init", str(tmp_path / "t.toml")])
        command = ["launch", str(tmp_path / "t.toml")]
    capsys.readouterr()
    code = main([*command, "--backend", "sagemaker", "--region", "us-esat-1"])
    out = capsys.readouterr()
    err = out.err + out.out  # doctor reports on stdout, as a check that failed
    assert code == 1
    assert "'us-esat-1'" in err and "did you mean --region us-east-1?" in err, err
    assert "unreachable" not in err and "retrying" not in err
    assert no_aws_call == []


def test_a_missing_profile_is_named(fake_aws: None, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "config").write_text("[profile real]\nregion = us-east-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_PROFILE", "nope")
    assert main(["status", "hpo-x", "--backend", "sagemaker"]) == 1
    err = capsys.readouterr().err
    assert "AWS profile 'nope' (from AWS_PROFILE) is not in your AWS config" in err
    assert "aws configure --profile nope" in err and "None" not in err


def test_logs_of_a_missing_training_job_exits_1(moto_endpoint: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["logs", "hpo-nobody-001-abcdef12", "--backend", "sagemaker"])
    err = capsys.readouterr().err
    assert code == 1
    assert "no training job named 'hpo-nobody-001-abcdef12' on the sagemaker backend in region us-east-1" in err


def test_an_upload_that_keeps_slowing_down_does_not_claim_a_check(
    boto_session: Any, moto_endpoint: str, source_dir: Path
) -> None:
    """S3 SlowDown on every upload: the create was never sent, and the message says so
    (it used to say the job was "checked by name", when no check was made)."""
    from botocore.exceptions import ClientError

    from hpo_tui.backends.base import BackendError
    from hpo_tui.backends.sagemaker import SageMakerBackend
    from tests.sagemaker.account import quota_pages
    from tests.sagemaker.conftest import answer_on_session, make_spec

    answer_on_session(boto_session, "service-quotas", "ListServiceQuotas", quota_pages() * 1)

    def slow_down(model: Any, **_: Any) -> None:
        if model.name in ("PutObject", "CreateMultipartUpload"):
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."},
                               "ResponseMetadata": {"HTTPStatusCode": 503}}, model.name)

    boto_session.events.register("before-call.s3", slow_down)
    spec = make_spec(source_dir, "hpo-slow")
    backend = SageMakerBackend(boto_session=boto_session)
    backend.launch_retry_delay = 0.0
    with pytest.raises(BackendError) as caught:
        backend.launch(spec)
    text = str(caught.value)
    assert "checked by name" not in text
    assert "the create request was never sent" in text and "nothing was launched" in text


def test_a_foreign_default_bucket_prints_no_sdk_error_line(
    boto_session: Any, moto_endpoint: str, source_dir: Path, capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """S3 refuses the default bucket (another account owns it): one hpo-tui message, and none
    of the SDK's lines about a default_bucket parameter an hpo-tui user cannot pass."""
    from botocore.exceptions import ClientError

    from hpo_tui.backends.base import BackendError
    from hpo_tui.backends.sagemaker import SageMakerBackend
    from tests.sagemaker.account import quota_pages
    from tests.sagemaker.conftest import answer_on_session, make_spec

    answer_on_session(boto_session, "service-quotas", "ListServiceQuotas", quota_pages())

    def forbidden(params: dict[str, Any], **_: Any) -> None:
        if params.get("Bucket", "").startswith("sagemaker-us-east-1-"):
            raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"},
                               "ResponseMetadata": {"HTTPStatusCode": 403}}, "HeadBucket")

    boto_session.events.register("before-parameter-build.s3.HeadBucket", forbidden)
    spec = make_spec(source_dir, "hpo-foreign")
    capfd.readouterr()
    with pytest.raises(BackendError, match="belongs to another AWS account"):
        SageMakerBackend(boto_session=boto_session).launch(spec)
    out = capfd.readouterr()
    assert "default_bucket" not in out.out + out.err
    # Without a logging set-up, Python prints such a record on stderr (logging.lastResort);
    # under pytest it is captured instead, so look for the record itself.
    sdk = [r.getMessage() for r in caplog.records if r.name.startswith("sagemaker")]
    assert not [m for m in sdk if "default_bucket" in m], sdk


def test_the_region_list_is_botocores() -> None:
    """Read from botocore's endpoint data without importing botocore: the same regions and
    partitions as botocore's own get_available_regions("sagemaker")."""
    import botocore.session

    from hpo_tui.backends.sagemaker.regions import sagemaker_regions

    core = botocore.session.get_session()
    theirs = {r: p for p in core.get_available_partitions()
              for r in core.get_available_regions("sagemaker", partition_name=p)}
    assert sagemaker_regions() == theirs
    assert theirs["us-east-1"] == "aws" and theirs["cn-north-1"] == "aws-cn"


def test_a_command_that_cannot_reach_aws_does_not_claim_to_retry(stubbed: Any) -> None:
    """`status` runs once: its message says what to check (the region it used, doctor), not
    "retrying in 30 s", which only the dashboard does."""
    from hpo_tui.backends.sagemaker import AwsUnavailable

    backend, sm, _ = stubbed
    sm.add_client_error("describe_hyper_parameter_tuning_job", "ServiceUnavailable", "unavailable", 503)
    with pytest.raises(AwsUnavailable) as caught:
        backend.poll("hpo-x")
    text = str(caught.value)
    assert "retrying in" not in text and "service health" not in text
    assert "region us-east-1" in text and "--region" in text and "hpo-tui doctor" in text
