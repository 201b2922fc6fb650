"""The SageMaker rendering of a spec: ParameterRanges, the tuning job config, the
training image URI, the full CreateHyperParameterTuningJob request, and the summary text.

Imports only the rest of `hpo_tui.spec` and `hpo_tui.errors` (never the SDK or boto3).
"""

from __future__ import annotations

import json
import os
from typing import Any

from hpo_tui.spec.model import (
    _MXNET_IMAGE_ACCOUNT_DEFAULT,
    _MXNET_IMAGE_ACCOUNTS,
    DEFAULT_RENDER_REGION,
    PLACEHOLDER_ROLE_ARN,
    ROLE_ARN_ENV,
    ROLE_ARN_PATTERN,
    SDK_MAX_RUN_SECONDS,
    CategoricalParameter,
    IntegerParameter,
    Parameter,
    TuningSpec,
    hyperband_resources,
    make_tuning_job_name,
    resolved_max_jobs,
    role_arn_for,
)
from hpo_tui.spec.limits import is_gpu_instance, warm_start_type

# ---------------------------------------------------------------------------------------
# SageMaker request rendering (CreateHyperParameterTuningJob)


def _number_str(v: int | float) -> str:
    return str(v)  # as the SDK's ContinuousParameter/IntegerParameter.as_tuning_range


def to_parameter_ranges(spec: TuningSpec, *, framework: bool = True) -> dict[str, list[dict[str, Any]]]:
    """The ParameterRanges structure, values as strings.

    framework=True mirrors the SDK for a framework estimator (MXNet): categorical values
    are JSON-encoded ('"sgd"'), which the training toolkit decodes back before calling
    the script.  framework=False gives the plain values.
    """
    out: dict[str, list[dict[str, Any]]] = {
        "IntegerParameterRanges": [], "ContinuousParameterRanges": [], "CategoricalParameterRanges": [],
    }
    for name, p in spec.ranges.items():
        if isinstance(p, CategoricalParameter):
            values = [json.dumps(v) if framework else v for v in p.values]
            out["CategoricalParameterRanges"].append({"Name": name, "Values": values})
        else:
            key = "IntegerParameterRanges" if isinstance(p, IntegerParameter) else "ContinuousParameterRanges"
            out[key].append({"Name": name, "MinValue": _number_str(p.min), "MaxValue": _number_str(p.max),
                             "ScalingType": p.scaling})
    return out


def to_tuning_job_config(spec: TuningSpec, *, framework: bool = True) -> dict[str, Any]:
    """HyperParameterTuningJobConfig: strategy, objective, limits, ranges, early stopping,
    completion criteria and seed, as CreateHyperParameterTuningJob takes them."""
    limits: dict[str, Any] = {
        "MaxNumberOfTrainingJobs": resolved_max_jobs(spec),
        "MaxParallelTrainingJobs": spec.max_parallel_jobs,
    }
    if spec.max_runtime_seconds is not None:
        limits["MaxRuntimeInSeconds"] = spec.max_runtime_seconds
    config: dict[str, Any] = {
        "Strategy": spec.strategy,
        "HyperParameterTuningJobObjective": {"Type": spec.objective.type, "MetricName": spec.objective.name},
        "ResourceLimits": limits,
        "ParameterRanges": to_parameter_ranges(spec, framework=framework),
        "TrainingJobEarlyStoppingType": spec.early_stopping,
    }
    resources = hyperband_resources(spec) if spec.strategy == "Hyperband" else None
    if resources is not None:
        config["StrategyConfig"] = {
            "HyperbandStrategyConfig": {"MinResource": resources[0], "MaxResource": resources[1]}}
    criteria: dict[str, Any] = {}
    if spec.completion.target_objective_value is not None:
        criteria["TargetObjectiveMetricValue"] = float(spec.completion.target_objective_value)
    if spec.completion.max_jobs_not_improving is not None:
        criteria["BestObjectiveNotImproving"] = {
            "MaxNumberOfTrainingJobsNotImproving": spec.completion.max_jobs_not_improving}
    if criteria:
        config["TuningJobCompletionCriteria"] = criteria
    if spec.random_seed is not None:
        config["RandomSeed"] = spec.random_seed
    return config


def training_image_uri(spec: TuningSpec, region: str) -> str:
    """The AWS Deep Learning Container for MXNet training in this region: the GPU image for
    GPU instance types (ml.g*/ml.p*), as the SDK picks it, else the CPU one."""
    account = _MXNET_IMAGE_ACCOUNTS.get(region, _MXNET_IMAGE_ACCOUNT_DEFAULT)
    if region.startswith("cn-"):
        domain = "amazonaws.com.cn"
    elif region.startswith("us-isob-"):
        domain = "sc2s.sgov.gov"
    elif region.startswith("us-iso-"):
        domain = "c2s.ic.gov"
    else:
        domain = "amazonaws.com"
    processor = "gpu" if is_gpu_instance(spec.estimator.instance_type) else "cpu"
    tag = f"{spec.estimator.framework_version}-{processor}-{spec.estimator.py_version}"
    return f"{account}.dkr.ecr.{region}.{domain}/mxnet-training:{tag}"


def render_region(spec: TuningSpec) -> str:
    """The region a render uses: the spec's, else AWS_REGION / AWS_DEFAULT_REGION, else us-west-2."""
    return (spec.sagemaker.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
            or DEFAULT_RENDER_REGION)


def render_request(
    spec: TuningSpec,
    *,
    job_name: str | None = None,
    region: str | None = None,
    role_arn: str | None = None,
    output_path: str | None = None,
    code_uri: str | None = None,
    channel_uris: dict[str, str] | None = None,
    default_bucket: str | None = None,
    bucket_prefix: str | None = None,
) -> dict[str, Any]:
    """The full CreateHyperParameterTuningJob request the SDK would send for this spec.

    What only AWS knows is filled in from the spec and environment, else with stand-ins:
    the role (spec, SAGEMAKER_ROLE_ARN, else PLACEHOLDER_ROLE_ARN), the default bucket
    sagemaker-<region>-<account of the role>, the code upload
    s3://<bucket>/<job>/source/sourcedir.tar.gz (unless source_dir is an s3:// URI) and,
    for local channel directories, the upload prefix s3://<bucket>/<job>/data/<channel>.  Default channels are SageMaker's
    public MNIST sample data.  Pass the real values to override them. `default_bucket` and
    `bucket_prefix` are an SDK config file's DefaultS3Bucket and DefaultS3ObjectKeyPrefix
    (hpo_tui.spec.sdk_config): the SDK's default bucket and the prefix of every key in it.
    """
    name = job_name or make_tuning_job_name(spec)
    region = region or render_region(spec)
    role = role_arn or role_arn_for(spec) or PLACEHOLDER_ROLE_ARN
    m = ROLE_ARN_PATTERN.fullmatch(role)
    account = m.group(1) if m else "000000000000"
    bucket = default_bucket or f"sagemaker-{region}-{account}"
    base = f"s3://{bucket}/" + (f"{bucket_prefix.strip('/')}/" if bucket_prefix and bucket_prefix.strip("/") else "")
    output = output_path or base
    source_dir = spec.estimator.source_dir
    # The SDK uses an s3:// source_dir as is; a local one is uploaded as sourcedir.tar.gz.
    code = code_uri or (source_dir if source_dir.startswith("s3://")
                        else f"{base}{name}/source/sourcedir.tar.gz")

    # Framework estimators JSON-encode every hyperparameter; the SDK then adds its own.
    static = {str(k): json.dumps(v) for k, v in spec.estimator.hyperparameters.items() if k not in spec.ranges}
    static.update({
        "sagemaker_submit_directory": json.dumps(code),
        "sagemaker_program": json.dumps(spec.estimator.entry_point),
        "sagemaker_container_log_level": json.dumps(20),
        "sagemaker_job_name": json.dumps(name),
        "sagemaker_region": json.dumps(region),
        "sagemaker_estimator_class_name": json.dumps("MXNet"),
        "sagemaker_estimator_module": json.dumps("sagemaker.mxnet.estimator"),
    })

    channels = []
    for channel in ("train", "test"):
        uri = (channel_uris or {}).get(channel) or getattr(spec.channels, channel)
        if uri is None:
            uri = f"s3://sagemaker-sample-data-{region}/mxnet/mnist/{channel}"
        elif not uri.startswith("s3://"):
            uri = f"{base}{name}/data/{channel}"
        channels.append({
            "ChannelName": channel,
            "DataSource": {"S3DataSource": {
                "S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}},
        })

    definition: dict[str, Any] = {
        "StaticHyperParameters": static,
        "AlgorithmSpecification": {
            "TrainingImage": training_image_uri(spec, region),
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": md.name, "Regex": md.regex} for md in spec.metric_definitions],
        },
        "RoleArn": role,
        "InputDataConfig": channels,
        "OutputDataConfig": {"S3OutputPath": output},
        # Where the SDK (2.257) puts the instances of a tuning job's training jobs.
        "HyperParameterTuningResourceConfig": {
            "InstanceType": spec.estimator.instance_type,
            "InstanceCount": spec.estimator.instance_count,
            "VolumeSizeInGB": 30,
        },
        # The per-training-job limit: max_run_seconds, else the SDK's default (1 day).
        "StoppingCondition": {"MaxRuntimeInSeconds": spec.estimator.max_run_seconds or SDK_MAX_RUN_SECONDS},
    }
    est = spec.estimator
    if est.use_spot_instances:
        definition["EnableManagedSpotTraining"] = True
        if est.max_wait_seconds is not None:
            definition["StoppingCondition"]["MaxWaitTimeInSeconds"] = est.max_wait_seconds
    if est.checkpoint_s3_uri:
        definition["CheckpointConfig"] = {"S3Uri": est.checkpoint_s3_uri}
    request: dict[str, Any] = {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": to_tuning_job_config(spec),
        "TrainingJobDefinition": definition,
    }
    if spec.warm_start.parents:
        request["WarmStartConfig"] = {
            "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": p} for p in spec.warm_start.parents],
            "WarmStartType": warm_start_type(spec.warm_start),
        }
    return request


# ---------------------------------------------------------------------------------------
# Summary


def _describe_range(p: Parameter) -> tuple[str, str]:
    if isinstance(p, CategoricalParameter):
        return "categorical", ", ".join(p.values)
    return p.kind, f"{p.min} .. {p.max}  ({p.scaling})"


SUMMARY_MAX_RANGES = 10  # keeps the summary on one screen


def summary_text(spec: TuningSpec) -> str:
    """A one-screen description of a valid spec (what `hpo-tui spec validate` prints)."""
    est = spec.estimator
    jobs = resolved_max_jobs(spec)
    grid_note = " (every Grid combination)" if spec.strategy == "Grid" else ""
    lines = [
        f"Tuning job: {jobs} training jobs{grid_note}, {spec.max_parallel_jobs} at a time, "
        f"{spec.strategy} search, {spec.backend} backend",
        f"Objective:  {spec.objective.type} {spec.objective.name}",
        "Metrics:    " + "; ".join(f"{m.name} = {m.regex}" for m in spec.metric_definitions),
        "Ranges:",
    ]
    shown = list(spec.ranges.items())[:SUMMARY_MAX_RANGES]
    width = max((len(n) for n, _ in shown), default=0)
    for name, p in shown:
        kind, text = _describe_range(p)
        if len(text) > 60:
            text = text[:59] + "…"
        lines.append(f"  {name[:30]:<{min(width, 30)}}  {kind:<11}  {text}")
    if len(spec.ranges) > len(shown):
        lines.append(f"  ... and {len(spec.ranges) - len(shown)} more")
    static = ", ".join(f"{k}={v}" for k, v in est.hyperparameters.items()) or "none"
    lines.append(f"Static:     {static}")
    lines.append(f"Training:   {est.entry_point} in {est.source_dir}/, MXNet {est.framework_version} "
                 f"{est.py_version}, {est.instance_count} x {est.instance_type}")
    if est.use_spot_instances:
        lines.append(f"Spot:       managed spot training, wait at most {est.max_wait_seconds} s"
                     + (f", checkpoints in {est.checkpoint_s3_uri}" if est.checkpoint_s3_uri else ""))
    if spec.warm_start.parents:
        lines.append(f"Warm start: {warm_start_type(spec.warm_start)} from {', '.join(spec.warm_start.parents)}")
    runtime = f"{spec.max_runtime_seconds} s" if spec.max_runtime_seconds is not None else "no limit"
    seed = spec.random_seed if spec.random_seed is not None else "random"
    lines.append(f"Limits:     early stopping {spec.early_stopping}, max runtime {runtime}, seed {seed}")
    stops = []
    if spec.completion.target_objective_value is not None:
        stops.append(f"objective reaches {spec.completion.target_objective_value}")
    if spec.completion.max_jobs_not_improving is not None:
        stops.append(f"{spec.completion.max_jobs_not_improving} jobs without a 1% improvement")
    if spec.strategy == "Hyperband" and (spec.hyperband.min_resource or spec.hyperband.max_resource):
        stops.append(f"Hyperband epochs {spec.hyperband.min_resource or 1}..{spec.hyperband.max_resource or '?'}")
    lines.append("Stops when: " + ("; ".join(stops) if stops else f"all {jobs} jobs have run"))
    default = "prepared MNIST" if spec.backend == "local" else "SageMaker sample data"
    lines.append(f"Channels:   train = {spec.channels.train or default}, test = {spec.channels.test or default}")
    if spec.backend == "sagemaker":
        role = spec.sagemaker.role_arn or f"${ROLE_ARN_ENV}"
        lines.append(f"SageMaker:  role {role}, region {spec.sagemaker.region or 'from AWS config'}, "
                     f"profile {spec.sagemaker.profile or 'default'}")
    name = spec.tuning_job_name or f"{est.base_job_name}-<timestamp>"
    lines.append(f"Job name:   {name}")
    return "\n".join(lines)
