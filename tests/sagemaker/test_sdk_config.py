"""Issue 24: the request `spec render` and the configure screen's `p` show is the request a
launch sends, with or without a SageMaker SDK config file, and both say what the file adds
and where it came from. The launch runs for real (SDK, moto server); a botocore hook records
the CreateHyperParameterTuningJob parameters it sent.

Before the fix, an SDK config file added VpcConfig, network isolation, KMS keys, the
environment and Tags to the launched request, and moved code and output to its bucket,
while the render showed none of it.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from hpo_tui.backends.sagemaker import SageMakerBackend
from hpo_tui.spec import TuningSpec
from hpo_tui.spec.sdk_config import config_paths, render_request_as_sent
from tests.sagemaker.conftest import make_spec

ADMIN_YAML = """\
SchemaVersion: '1.0'
SageMaker:
  TrainingJob:
    VpcConfig:
      Subnets: [subnet-0a1b2c3d]
    Tags:
      - Key: cost-center
        Value: ml-research
"""

USER_YAML = """\
SchemaVersion: '1.0'
SageMaker:
  PythonSDK:
    Modules:
      Session:
        DefaultS3Bucket: team-ml-bucket
        DefaultS3ObjectKeyPrefix: hpo
  TrainingJob:
    VpcConfig:
      SecurityGroupIds: [sg-0123abcd]
    EnableNetworkIsolation: true
    EnableInterContainerTrafficEncryption: true
    OutputDataConfig:
      KmsKeyId: arn:aws:kms:us-east-1:123456789012:key/out-key
    ResourceConfig:
      VolumeKmsKeyId: arn:aws:kms:us-east-1:123456789012:key/volume-key
    Environment:
      TEAM: vision
    Tags:
      - Key: owner
        Value: alice
"""


@pytest.fixture()
def config_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    admin, user = tmp_path / "admin.yaml", tmp_path / "user"
    admin.write_text(ADMIN_YAML)
    user.mkdir()  # a folder: the SDK reads its config.yaml
    (user / "config.yaml").write_text(USER_YAML)
    monkeypatch.setenv("SAGEMAKER_ADMIN_CONFIG_OVERRIDE", str(admin))
    monkeypatch.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", str(user))
    return admin, user / "config.yaml"


@pytest.fixture()
def no_config_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    monkeypatch.setenv("SAGEMAKER_ADMIN_CONFIG_OVERRIDE", str(empty))
    monkeypatch.setenv("SAGEMAKER_USER_CONFIG_OVERRIDE", str(empty))


def launch_and_record(boto_session: Any, spec: TuningSpec) -> dict[str, Any]:
    sent: list[dict[str, Any]] = []
    boto_session.events.register("provide-client-params.sagemaker.CreateHyperParameterTuningJob",
                                 lambda params, **_: sent.append(copy.deepcopy(params)))
    SageMakerBackend(boto_session=boto_session).launch(spec)
    assert len(sent) == 1
    return sent[0]


def test_with_an_sdk_config_file_the_render_is_the_request_sent_and_says_what_the_file_adds(
        boto_session: Any, moto_endpoint: str, source_dir: Path, config_files: tuple[Path, Path]) -> None:
    import boto3

    boto3.client("s3").create_bucket(Bucket="team-ml-bucket")
    spec = make_spec(source_dir, "hpo-sdk-config")
    rendered, added = render_request_as_sent(spec)
    sent = launch_and_record(boto_session, spec)
    assert json.loads(json.dumps(rendered, default=str)) == json.loads(json.dumps(sent, default=str))
    definition = sent["TrainingJobDefinition"]
    assert definition["VpcConfig"] == {"Subnets": ["subnet-0a1b2c3d"], "SecurityGroupIds": ["sg-0123abcd"]}
    assert definition["EnableNetworkIsolation"] is True
    # A list in the user's file replaces the admin's (the SDK merges dicts, not lists).
    assert sent["Tags"] == [{"Key": "owner", "Value": "alice"}]
    admin, user = config_files
    for field in ("TrainingJobDefinition.VpcConfig", "TrainingJobDefinition.EnableNetworkIsolation",
                  "TrainingJobDefinition.OutputDataConfig.KmsKeyId", "TrainingJobDefinition.Environment",
                  "TrainingJobDefinition.HyperParameterTuningResourceConfig.VolumeKmsKeyId", "Tags",
                  "s3://team-ml-bucket/hpo/"):
        assert field in added, field
    vpc_line = next(line for line in added.splitlines() if "VpcConfig" in line)
    assert str(admin) in vpc_line and str(user) in vpc_line  # merged from both files
    assert str(user) in next(line for line in added.splitlines() if "NetworkIsolation" in line)
    tags_line = next(line for line in added.splitlines() if line.strip().startswith("Tags"))
    assert str(user) in tags_line and str(admin) not in tags_line


def test_without_an_sdk_config_file_the_render_is_the_request_sent_and_adds_nothing(
        boto_session: Any, moto_endpoint: str, source_dir: Path, no_config_files: None) -> None:
    spec = make_spec(source_dir, "hpo-no-config")
    rendered, added = render_request_as_sent(spec)
    sent = launch_and_record(boto_session, spec)
    assert json.loads(json.dumps(rendered, default=str)) == json.loads(json.dumps(sent, default=str))
    assert added == "" and "Tags" not in sent


def test_the_files_looked_for_are_the_sdks_own(monkeypatch: pytest.MonkeyPatch) -> None:
    from sagemaker.config import config as sdk

    monkeypatch.delenv("SAGEMAKER_ADMIN_CONFIG_OVERRIDE", raising=False)
    monkeypatch.delenv("SAGEMAKER_USER_CONFIG_OVERRIDE", raising=False)
    assert [p for p, _ in config_paths()] == [sdk._DEFAULT_ADMIN_CONFIG_FILE_PATH, sdk._DEFAULT_USER_CONFIG_FILE_PATH]


def test_spec_render_prints_the_request_sent_and_names_the_file(
        tmp_path: Path, config_files: tuple[Path, Path], capsys: pytest.CaptureFixture, fake_aws: None) -> None:
    from hpo_tui.cli import main
    from hpo_tui.spec import save_spec

    path = tmp_path / "spot.toml"
    spec = make_spec(tmp_path, "hpo-render")
    spec.estimator.source_dir = "training"
    save_spec(spec, path)
    assert main(["spec", "render", str(path)]) == 0
    out, err = capsys.readouterr()
    request = json.loads(out)
    assert request["TrainingJobDefinition"]["EnableNetworkIsolation"] is True
    assert request["TrainingJobDefinition"]["OutputDataConfig"]["S3OutputPath"] == "s3://team-ml-bucket/hpo/"
    assert "SageMaker SDK config" in err and str(config_files[1]) in err


async def test_the_p_preview_shows_the_request_sent_and_what_the_file_adds(
        config_files: tuple[Path, Path], fake_aws: None) -> None:
    from textual.widgets import Static, TextArea

    from hpo_tui.app.app import make_app
    from hpo_tui.app.screens.spec_dialogs import RequestPreview

    app = make_app(start="configure")
    async with app.run_test(size=(160, 50)) as pilot:
        for _ in range(200):
            await pilot.pause(0.05)
            if type(app.screen).__name__ == "ConfigureScreen":
                break
        app.screen.action_preview_request()
        for _ in range(200):
            await pilot.pause(0.05)
            if isinstance(app.screen, RequestPreview):
                break
        assert isinstance(app.screen, RequestPreview)
        request = json.loads(app.screen.query_one("#request-json", TextArea).text)
        note = str(app.screen.query_one("#request-sdk-config", Static).render())
    assert request["TrainingJobDefinition"]["VpcConfig"]["SecurityGroupIds"] == ["sg-0123abcd"]
    assert "Tags" in request and "EnableNetworkIsolation" in note and str(config_files[1]) in note


def test_launch_says_what_the_sdk_config_file_added(
        tmp_path: Path, cli_session: Any, moto_endpoint: str, source_dir: Path, config_files: tuple[Path, Path],
        capsys: pytest.CaptureFixture) -> None:
    """The SDK's "Applied value" lines are silenced; `launch` says what the file added instead."""
    import boto3

    from hpo_tui.cli import main
    from hpo_tui.spec import save_spec

    boto3.client("s3").create_bucket(Bucket="team-ml-bucket")
    path = tmp_path / "launch.toml"
    save_spec(make_spec(source_dir, "hpo-launch-note"), path)
    assert main(["launch", str(path)]) == 0
    err = capsys.readouterr().err
    assert "TrainingJobDefinition.VpcConfig" in err and "Tags" in err and str(config_files[1]) in err
