"""`hpo-tui doctor --backend sagemaker` against a simulated account (moto on 127.0.0.1, and
validated Service Quotas answers): every check says what it found and what to do."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from hpo_tui.cli import main
from tests.sagemaker.account import ROLE, healthy, make_role, quota_pages
from tests.sagemaker.conftest import answer_on_session


@pytest.fixture()
def account(moto_endpoint: str, cli_session: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("SAGEMAKER_ROLE_ARN", ROLE)
    return cli_session


def doctor(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["doctor", "--backend", "sagemaker", *args])
    out = capsys.readouterr()
    return code, out.out + out.err


def line_of(text: str, name: str) -> str:
    """The line of check `name` (the second column)."""
    return next(line for line in text.splitlines() if line[16:].split("  ")[0].strip() == name)


def test_a_healthy_account_passes_every_check(account: Any, capsys: pytest.CaptureFixture[str]) -> None:
    asked = healthy(account)
    code, text = doctor(capsys)
    assert code == 0, text
    for name in ("region", "credentials", "partition", "role", "image", "quota: instance type",
                 "quota: all instances", "quota: tuning jobs", "channel train", "channel test", "default bucket"):
        assert line_of(text, name).startswith("ok "), (name, text)
    assert "arn:aws:sts::123456789012" in line_of(text, "credentials")
    assert "'ml.m5.xlarge for training job usage' is 4" in text
    assert "all 11 checks passed" in text
    assert [a.get("NextToken") for a in asked] == [None, "page-2"]


def test_quota_zero_fails_naming_the_quota_and_how_to_raise_it(account: Any, capsys: pytest.CaptureFixture[str]) -> None:
    healthy(account, instance=0)
    code, text = doctor(capsys)
    assert code == 1
    line = line_of(text, "quota: instance type")
    assert line.startswith("FAIL") and "'ml.m5.xlarge for training job usage' is 0" in line
    assert "servicequotas/home/services/sagemaker/quotas/L-2F737F8D" in text
    assert "--quota-code L-2F737F8D --desired-value 3" in text


def test_a_quota_below_the_parallel_jobs_asked(account: Any, capsys: pytest.CaptureFixture[str]) -> None:
    healthy(account, instance=2)  # the reference spec runs 3 in parallel
    code, text = doctor(capsys)
    assert code == 1
    assert "only 2 of the 3 parallel training jobs can run" in text
    assert "set max_parallel_jobs = 2" in text


def running_job(name: str, count: int, instance_type: str = "ml.m5.xlarge") -> dict[str, Any]:
    import datetime as dt

    return {
        "TrainingJobName": name, "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}",
        "ModelArtifacts": {"S3ModelArtifacts": ""}, "TrainingJobStatus": "InProgress", "SecondaryStatus": "Training",
        "AlgorithmSpecification": {"TrainingInputMode": "File", "TrainingImage": "img"},
        "ResourceConfig": {"InstanceType": instance_type, "InstanceCount": count, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600}, "CreationTime": dt.datetime(2026, 12, 1),
    }


def test_a_quota_used_up_by_jobs_already_running(account: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """moto ends every training job at once: the running ones (2 x 2 instances of ml.m5.xlarge,
    all 4 of the quota) are answered from validated pages."""
    healthy(account, instance=4)
    jobs = [running_job("running-0", 2), running_job("running-1", 2)]
    summaries = [{k: j[k] for k in ("TrainingJobName", "TrainingJobArn", "CreationTime", "TrainingJobStatus")}
                 for j in jobs]
    listed = answer_on_session(account, "sagemaker", "ListTrainingJobs", [{"TrainingJobSummaries": summaries}])
    answer_on_session(account, "sagemaker", "DescribeTrainingJob", jobs)
    code, text = doctor(capsys)
    assert code == 1
    assert listed[0]["StatusEquals"] == "InProgress"
    line = line_of(text, "quota: instance type")
    assert "4 in use by running training jobs" in line and "not one training job can start now" in line
    assert line_of(text, "quota: all instances").startswith("ok")  # 20, 4 in use, 3 asked


def test_spot_checks_the_spot_quota(account: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    healthy(account, spot=0)
    spec = tmp_path / "spot.toml"
    main(["spec", "init", str(spec)])
    text = spec.read_text().replace("[estimator]", "[estimator]\nuse_spot_instances = true\nmax_wait_seconds = 7200\n"
                                    "max_run_seconds = 3600", 1)
    spec.write_text(text)
    capsys.readouterr()
    code, out = doctor(capsys, str(spec))
    assert code == 1, out
    assert "'ml.m5.xlarge for spot training job usage' is 0" in line_of(out, "quota: spot instances")


def test_a_role_sagemaker_may_not_assume(account: Any, capsys: pytest.CaptureFixture[str]) -> None:
    boto3.client("iam").delete_role(RoleName="SageMakerTuning")
    make_role({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    answer_on_session(account, "service-quotas", "ListServiceQuotas", quota_pages())
    code, text = doctor(capsys)
    assert code == 1
    line = line_of(text, "role")
    assert line.startswith("FAIL") and "does not let sagemaker.amazonaws.com assume it" in line
    assert "Trust relationships" in text


def test_a_role_that_does_not_exist(account: Any, capsys: pytest.CaptureFixture[str]) -> None:
    boto3.client("iam").delete_role(RoleName="SageMakerTuning")
    answer_on_session(account, "service-quotas", "ListServiceQuotas", quota_pages())
    code, text = doctor(capsys)
    assert code == 1 and "no role named 'SageMakerTuning'" in line_of(text, "role")


def test_a_role_of_another_partition(account: Any, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    healthy(account)
    monkeypatch.setenv("SAGEMAKER_ROLE_ARN", "arn:aws-cn:iam::123456789012:role/SageMakerTuning")
    code, text = doctor(capsys)
    assert code == 1
    line = line_of(text, "partition")
    assert line.startswith("FAIL") and "'aws-cn'" in line and "us-east-1" in line


def test_a_trainium_instance(account: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    healthy(account, instance_type="ml.trn1.2xlarge")
    spec = tmp_path / "trn.toml"
    main(["spec", "init", str(spec)])
    spec.write_text(spec.read_text().replace('"ml.m5.xlarge"', '"ml.trn1.2xlarge"'))
    capsys.readouterr()
    code, text = doctor(capsys, str(spec))
    assert code == 1
    assert line_of(text, "image").startswith("FAIL") and "Trainium" in text


def test_an_empty_channel_and_a_missing_bucket(account: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    healthy(account)
    boto3.client("s3").create_bucket(Bucket="my-empty")
    spec = tmp_path / "s3.toml"
    main(["spec", "init", str(spec)])
    text = spec.read_text()
    text = text.replace("[channels]", '[channels]\ntrain = "s3://my-empty/train"\ntest = "s3://nobody-has-this/test"', 1) \
        if "[channels]" in text else text + '\n[channels]\ntrain = "s3://my-empty/train"\ntest = "s3://nobody-has-this/test"\n'
    spec.write_text(text)
    capsys.readouterr()
    code, out = doctor(capsys, str(spec))
    assert code == 1, out
    assert "nothing under s3://my-empty/train" in line_of(out, "channel train")
    assert "no bucket named 'nobody-has-this'" in line_of(out, "channel test")


DENIED = {"Error": {"Code": "AccessDenied", "Message": "not authorized"}}


def test_access_denied_on_every_check_degrades_and_does_not_block(account: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """An identity that may call nothing but sts:GetCallerIdentity: every other check says it
    could not check and names the permission; doctor exits 0, and nothing blocks."""
    from botocore.exceptions import ClientError

    def deny(model: Any, **_: Any) -> None:
        if model.service_model.service_name != "sts":
            raise ClientError(DENIED, model.name)

    account.events.register("before-call", deny)
    code, text = doctor(capsys)
    assert code == 0, text
    for name, permission in (("role", "iam:GetRole"), ("quota: instance type", "servicequotas:ListServiceQuotas"),
                             ("quota: tuning jobs", "sagemaker:ListHyperParameterTuningJobs"),
                             ("channel train", "s3:ListBucket"), ("default bucket", "s3:ListBucket")):
        line = line_of(text, name)
        assert line.startswith("could not check") and permission in line, (name, text)
    assert "no check failed; 7 of 11 could not be checked (they do not block a launch" in text


def test_launch_with_quota_zero_stops_before_uploading(account: Any, capsys: pytest.CaptureFixture[str],
                                                       tmp_path: Path, source_dir: Path) -> None:
    from hpo_tui.spec import Estimator, TuningSpec
    from hpo_tui.spec.toml import dumps_toml

    healthy(account, instance=0)
    spec = tmp_path / "t.toml"
    spec.write_text(dumps_toml(TuningSpec(backend="sagemaker", tuning_job_name="hpo-noquota",
                                          estimator=Estimator(source_dir=str(source_dir)))))
    code = main(["launch", str(spec), "--backend", "sagemaker"])
    err = capsys.readouterr().err
    assert code == 1
    assert "'ml.m5.xlarge for training job usage' is 0" in err and "Nothing was created or uploaded" in err
    assert [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]] == ["sagemaker-sample-data-us-east-1"]
    assert boto3.client("sagemaker").list_hyper_parameter_tuning_jobs()["HyperParameterTuningJobSummaries"] == []


@pytest.fixture()
def expiring_credentials(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Temporary credentials served as a container credential endpoint does (on 127.0.0.1),
    expiring in 10 minutes: botocore refreshes them from there, as on ECS or with SSO."""
    import datetime as dt
    import http.server
    import threading

    expiry = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = json.dumps({"AccessKeyId": "ASIATESTING", "SecretAccessKey": "secret", "Token": "token",
                       "Expiration": expiry}).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 -- http.server's name
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", f"http://127.0.0.1:{server.server_address[1]}/creds")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("SAGEMAKER_ROLE_ARN", ROLE)
    yield expiry
    server.shutdown()
    thread.join()


def test_credentials_that_expire_soon_are_a_warning_with_the_time(
    expiring_credentials: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = doctor(capsys)
    line = line_of(text, "credentials")
    assert line.startswith("warn"), text
    assert "from container-role" in line
    assert "they expire in 9 min" in line or "they expire in 10 min" in line, line
    assert "aws sso login" in text
    assert code == 0  # a warning does not block
