"""What a SageMaker Python SDK config file adds to the launched request, for `spec render` and
the configure screen's request preview.

The SDK reads defaults from an admin file (/etc/xdg/sagemaker/config.yaml, or the file or
folder SAGEMAKER_ADMIN_CONFIG_OVERRIDE names) and a user file (~/.config/sagemaker/config.yaml,
or SAGEMAKER_USER_CONFIG_OVERRIDE), the user's values winning, and applies them when
hpo-tui launches: VPC, network isolation, KMS keys, environment, tags, the default bucket.
It logs them as "Applied value" lines, which hpo-tui silences (they would land on the
full-screen UI): this module tells the same, where each value came from, without importing
the SDK (2 s). tests/spec/test_sdk_config.py checks it against what the SDK sends.

Imports nothing of hpo_tui; PyYAML and platformdirs lazily (both come with the SDK).
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field
from typing import Any

ADMIN_OVERRIDE = "SAGEMAKER_ADMIN_CONFIG_OVERRIDE"
USER_OVERRIDE = "SAGEMAKER_USER_CONFIG_OVERRIDE"
_FILE = "config.yaml"
CONTAINER_CODE_PATH = "/opt/ml/input/data/code/sourcedir.tar.gz"  # the SDK's, with network isolation


@dataclass(frozen=True)
class Addition:
    """One value of the request that an SDK config file supplies."""

    field: str  # where in the request, e.g. TrainingJobDefinition.VpcConfig
    key: str  # the config file's key, e.g. SageMaker.TrainingJob.VpcConfig
    source: str  # the file it came from
    value: Any


@dataclass
class SdkConfig:
    """The SDK config files that were read, admin first: a later file's value wins, dicts
    are merged key by key (as the SDK merges them)."""

    files: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (file, its content)
    problems: list[str] = field(default_factory=list)  # files that could not be read (S3, bad YAML)

    def get(self, key: str) -> tuple[Any, str] | None:
        """(value, the file(s) it came from) of a dotted key, e.g. SageMaker.TrainingJob.Tags."""
        found: Any = None
        sources: list[str] = []
        for file, data in self.files:
            node: Any = data
            for part in key.split("."):
                node = node.get(part) if isinstance(node, dict) else None
            if node is None:
                continue
            if isinstance(node, dict) and isinstance(found, dict):
                found = _merged(found, node)
            else:
                found = copy.deepcopy(node)
                sources.clear()
            sources.append(file)
        return None if found is None else (found, " and ".join(sources))


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) \
            else copy.deepcopy(value)
    return out


def config_paths() -> list[tuple[str, bool]]:
    """(path, given by an environment variable) of the admin and the user file, as the SDK
    looks for them."""
    from platformdirs import site_config_dir, user_config_dir

    admin = os.environ.get(ADMIN_OVERRIDE)
    user = os.environ.get(USER_OVERRIDE)
    return [
        (admin or os.path.join(site_config_dir("sagemaker"), _FILE), admin is not None),
        (user or os.path.join(user_config_dir("sagemaker"), _FILE), user is not None),
    ]


def load_sdk_config() -> SdkConfig:
    """The SDK config files that exist, merged as the SDK merges them (the user's wins)."""
    import yaml

    config = SdkConfig()
    for path, given in config_paths():
        if path.startswith("s3://"):
            config.problems.append(f"{path}: a config file in S3 is not read by the preview; "
                                   "the SDK applies it at launch")
            continue
        file = os.path.join(path, _FILE) if os.path.isdir(path) else path
        if not os.path.isfile(file):
            if given:
                variable = ADMIN_OVERRIDE if path == os.environ.get(ADMIN_OVERRIDE) else USER_OVERRIDE
                config.problems.append(f"{path} (from ${variable}) does not exist: the SDK refuses "
                                       "to launch until it does")
            continue
        try:
            with open(file, encoding="utf-8") as f:
                data = yaml.safe_load(f) or {}
        except (OSError, yaml.YAMLError) as exc:
            config.problems.append(f"{file}: cannot be read ({exc}); the SDK refuses it at launch")
            continue
        if isinstance(data, dict):
            config.files.append((file, data))
    return config


def _supports_volume_kms(instance_type: str) -> bool:
    """The SDK attaches a volume KMS key only to instance types with an EBS volume (no "d"
    family, no g5/g6/p5/trn1)."""
    parts = instance_type.split(".")
    if len(parts) == 3 and parts[0] == "ml":
        parts = parts[1:]
    if len(parts) != 2:
        return False
    family = parts[0]
    return "d" not in family and not any(family.startswith(p) for p in ("g5", "g6", "p5", "trn1"))


def apply_sdk_config(request: dict[str, Any], config: SdkConfig) -> tuple[dict[str, Any], list[Addition]]:
    """The request as the SDK sends it with these config files: a copy of `request` with
    what they add, and the additions (in request order), each with its source."""
    out = copy.deepcopy(request)
    definition = out["TrainingJobDefinition"]
    added: list[Addition] = []

    def add(where: str, key: str, value: Any) -> None:
        found = config.get(key)
        added.append(Addition(where, key, found[1] if found else "?", value))

    def value(key: str) -> Any:
        found = config.get(key)
        return None if found is None else found[0]

    env = value("SageMaker.TrainingJob.Environment")
    if env:
        definition["Environment"] = {str(k): str(v) for k, v in env.items()}
        add("TrainingJobDefinition.Environment", "SageMaker.TrainingJob.Environment", definition["Environment"])
    subnets = value("SageMaker.TrainingJob.VpcConfig")
    vpc = subnets if isinstance(subnets, dict) else {}
    if vpc.get("Subnets") and vpc.get("SecurityGroupIds"):
        definition["VpcConfig"] = {"Subnets": list(vpc["Subnets"]), "SecurityGroupIds": list(vpc["SecurityGroupIds"])}
        add("TrainingJobDefinition.VpcConfig", "SageMaker.TrainingJob.VpcConfig", definition["VpcConfig"])
    kms = value("SageMaker.TrainingJob.OutputDataConfig")
    if isinstance(kms, dict) and kms.get("KmsKeyId"):
        definition["OutputDataConfig"]["KmsKeyId"] = kms["KmsKeyId"]
        add("TrainingJobDefinition.OutputDataConfig.KmsKeyId", "SageMaker.TrainingJob.OutputDataConfig", kms["KmsKeyId"])
    resources = value("SageMaker.TrainingJob.ResourceConfig")
    hpo_resources = definition.get("HyperParameterTuningResourceConfig") or {}
    if (isinstance(resources, dict) and resources.get("VolumeKmsKeyId") and hpo_resources
            and _supports_volume_kms(str(hpo_resources.get("InstanceType", "")))):
        hpo_resources["VolumeKmsKeyId"] = resources["VolumeKmsKeyId"]
        add("TrainingJobDefinition.HyperParameterTuningResourceConfig.VolumeKmsKeyId",
            "SageMaker.TrainingJob.ResourceConfig", resources["VolumeKmsKeyId"])
    if value("SageMaker.TrainingJob.EnableNetworkIsolation"):
        definition["EnableNetworkIsolation"] = True
        add("TrainingJobDefinition.EnableNetworkIsolation", "SageMaker.TrainingJob.EnableNetworkIsolation", True)
        # An isolated container cannot read S3 itself: the SDK passes the code as a "code"
        # channel and points the toolkit at its copy inside the container.
        static = definition["StaticHyperParameters"]
        code = json.loads(static["sagemaker_submit_directory"])
        definition["InputDataConfig"].append({"ChannelName": "code", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": code, "S3DataDistributionType": "FullyReplicated"}}})
        static["sagemaker_submit_directory"] = json.dumps(CONTAINER_CODE_PATH)
        add("TrainingJobDefinition.InputDataConfig[code]", "SageMaker.TrainingJob.EnableNetworkIsolation", code)
    if value("SageMaker.TrainingJob.EnableInterContainerTrafficEncryption"):
        definition["EnableInterContainerTrafficEncryption"] = True
        add("TrainingJobDefinition.EnableInterContainerTrafficEncryption",
            "SageMaker.TrainingJob.EnableInterContainerTrafficEncryption", True)
    tags = value("SageMaker.TrainingJob.Tags")
    if tags:
        have = out.setdefault("Tags", [])
        new = [{"Key": str(t["Key"]), "Value": str(t["Value"])} for t in tags
               if isinstance(t, dict) and "Key" in t and not any(h.get("Key") == t["Key"] for h in have)]
        have.extend(new)
        if not have:
            del out["Tags"]
        if new:
            add("Tags", "SageMaker.TrainingJob.Tags", new)
    return out, added


def default_bucket(config: SdkConfig) -> tuple[str | None, str | None]:
    """(bucket, key prefix) the config sets for the SDK's default bucket (None: not set)."""
    bucket = config.get("SageMaker.PythonSDK.Modules.Session.DefaultS3Bucket")
    prefix = config.get("SageMaker.PythonSDK.Modules.Session.DefaultS3ObjectKeyPrefix")
    return (bucket[0] if bucket else None), (str(prefix[0]).strip("/") if prefix and prefix[0] else None)


def additions_text(added: list[Addition], config: SdkConfig) -> str:
    """What the config files add, for the preview and `spec render` (empty: nothing)."""
    lines: list[str] = []
    if added:
        lines.append("The SageMaker SDK config adds to the request sent:")
        for a in added:
            lines.append(f"  {a.field}  (from {a.key} in {a.source})")
    bucket, prefix = default_bucket(config)
    if bucket or prefix:
        source = (config.get("SageMaker.PythonSDK.Modules.Session.DefaultS3Bucket")
                  or config.get("SageMaker.PythonSDK.Modules.Session.DefaultS3ObjectKeyPrefix"))
        where = f"s3://{bucket or '<default bucket>'}/{prefix + '/' if prefix else ''}"
        lines.append(f"  default bucket {where} for code, uploaded data and output (from {source[1] if source else '?'})")
    for problem in config.problems:
        lines.append(f"  note: {problem}")
    return "\n".join(lines)


def render_request_as_sent(spec: Any, config: SdkConfig | None = None) -> tuple[dict[str, Any], str]:
    """The request a launch of `spec` sends, SDK config files applied, and the text saying
    what they add and where from (empty when there is no config file)."""
    from hpo_tui.spec.request import render_request

    config = load_sdk_config() if config is None else config
    bucket, prefix = default_bucket(config)
    request = render_request(spec, default_bucket=bucket, bucket_prefix=prefix)
    request, added = apply_sdk_config(request, config)
    return request, additions_text(added, config)
