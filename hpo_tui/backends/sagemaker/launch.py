"""Launch through the SageMaker Python SDK v2 (MXNet estimator + HyperparameterTuner), as
`tuner.fit()` does: upload, create exactly once, and the tuner arguments for a spec.

The SDK is imported lazily (about 2 s). Imports `hpo_tui.spec` lazily, and this package's `errors`.
"""

from __future__ import annotations

import copy
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from hpo_tui.backends.base import BackendError, TuningJobNotFound
from hpo_tui.backends.sagemaker.errors import AwsCall, Transient, as_user_error, error_code, translate_error
from hpo_tui.errors import UserError

if TYPE_CHECKING:
    import boto3

    from hpo_tui.spec import TuningSpec

LAUNCH_ATTEMPTS = 4
LAUNCH_RETRY_DELAY = 2.0  # seconds, doubled per attempt
SAMPLE_DATA = "s3://sagemaker-sample-data-{region}/mxnet/mnist/{channel}"


def launch_tuning_job(
    boto_session: Callable[[], boto3.Session], call: AwsCall, spec: TuningSpec,
    retry_delay: float = LAUNCH_RETRY_DELAY,
) -> str:
    """Create the tuning job with the SDK's MXNet estimator and HyperparameterTuner.

    The spec is already validated and its [sagemaker] settings adopted by the caller.
    """
    role = spec.sagemaker.role_arn or os.environ.get("SAGEMAKER_ROLE_ARN")
    if not role:
        raise UserError(
            "No IAM role for the training jobs: set role_arn in the spec's [sagemaker] section or "
            "export SAGEMAKER_ROLE_ARN=arn:aws:iam::<account>:role/<role> (a role SageMaker can "
            "assume; see 'Running on SageMaker' in the README)."
        )
    source_dir = resolve_source_dir(spec)
    name = spec.tuning_job_name or make_job_name(spec)
    session = boto_session()
    region = session.region_name
    quiet_sdk_logging()
    # Before any AWS call: a region the SDK has no MXNet image for fails here, with nothing
    # created or uploaded (the SDK itself only finds out after the bucket and the upload).
    check_region(spec, region)
    # Credentials first, with a clear message (and nothing created when they are wrong).
    try:
        call("sts", "get_caller_identity")
        check_parents(call, spec, region)
    except Transient as exc:
        raise as_user_error(exc) from None

    import botocore.config
    import sagemaker
    from sagemaker.mxnet import MXNet
    from sagemaker.tuner import HyperparameterTuner

    # No botocore retries on the create client: a retried create after a read timeout could
    # hit a job AWS already accepted. _create_once describes by name before any retry.
    create_client = session.client(
        "sagemaker", config=botocore.config.Config(retries={"mode": "standard", "max_attempts": 1})
    )
    request: dict[str, Any] = {}

    def capture(params: dict[str, Any], **_: Any) -> None:
        request.clear()
        request.update(copy.deepcopy(params))

    create_client.meta.events.register(
        "provide-client-params.sagemaker.CreateHyperParameterTuningJob", capture
    )
    # No default_bucket=: the SDK derives sagemaker-{region}-{account} itself and then checks
    # that this account owns it (ExpectedBucketOwner on HeadBucket and on every upload).
    sm_session = sagemaker.Session(boto_session=session, sagemaker_client=create_client)
    try:
        estimator = MXNet(
            entry_point=spec.estimator.entry_point,
            source_dir=source_dir,
            role=role,
            instance_count=spec.estimator.instance_count,
            instance_type=spec.estimator.instance_type,
            framework_version=spec.estimator.framework_version,
            py_version=spec.estimator.py_version,
            hyperparameters=dict(spec.estimator.hyperparameters),
            base_job_name=spec.estimator.base_job_name,
            sagemaker_session=sm_session,
            **estimator_extras(spec),
        )
        tuner = HyperparameterTuner(estimator=estimator, **tuner_arguments(spec))
    except ValueError as exc:
        raise BackendError(f"The SageMaker SDK rejected the spec: {exc}. Fix the spec and launch again.") from None

    inputs = _resolve_inputs(spec, sm_session, region, name)

    def fit() -> None:
        tuner.fit(inputs, job_name=name, wait=False)

    _create_once(call, name, fit, create_client, request, retry_delay)
    return name


def _create_once(
    call: AwsCall, name: str, fit: Callable[[], None], create_client: Any, request: dict[str, Any],
    delay: float,
) -> None:
    """Run the create; after a timeout or dropped connection, create again only if a describe
    by name shows that AWS did not accept the first one (so no duplicate tuning job)."""
    attempt = 0
    while True:
        attempt += 1
        try:
            if attempt == 1 or not request:
                fit()  # uploads the source (idempotent) and sends the create
            else:
                create_client.create_hyper_parameter_tuning_job(**request)
            return
        except Exception as exc:  # noqa: BLE001 -- translated or retried below
            translated = translate_error(exc, "sagemaker", "CreateHyperParameterTuningJob")
            if error_code(exc) == "ResourceInUse" and attempt > 1 and _tuning_job_exists(call, name):
                return  # the earlier attempt went through after all
            if translated is exc:
                raise
            if not isinstance(translated, Transient):
                raise translated from exc
            if request and _tuning_job_exists(call, name):
                return  # AWS accepted it; only the response was lost
            if attempt >= LAUNCH_ATTEMPTS:
                # Say "checked by name" only when a create went out and a describe was made.
                why = ("AWS did not record it (checked by name)" if request else
                       "the create request was never sent (this failed before it, uploading to S3)")
                raise BackendError(
                    f"Could not create tuning job {name!r}: {translated}. {why}, so nothing was "
                    "launched. Try Launch again in a minute."
                ) from exc
        time.sleep(delay)
        delay *= 2


def _tuning_job_exists(call: AwsCall, name: str) -> bool:
    try:
        call("sagemaker", "describe_hyper_parameter_tuning_job", HyperParameterTuningJobName=name)
    except TuningJobNotFound:
        return False
    except Transient:
        # Cannot tell; refuse to risk a duplicate and let the user look.
        raise BackendError(
            f"The create request for {name!r} timed out and AWS cannot be asked whether it "
            f"arrived. Check with `hpo-tui jobs --backend sagemaker` before launching again."
        ) from None
    return True


def _resolve_inputs(spec: TuningSpec, sm_session: Any, region: str, name: str) -> dict[str, str]:
    """S3 URIs as they are; local directories uploaded to the default bucket; else sample data."""
    inputs: dict[str, str] = {}
    for channel in ("train", "test"):
        value = getattr(spec.channels, channel)
        if not value:
            inputs[channel] = SAMPLE_DATA.format(region=region, channel=channel)
        elif value.startswith("s3://"):
            inputs[channel] = value
        else:
            path = Path(value).expanduser()
            if not path.exists():
                raise UserError(
                    f"channels.{channel}: {value!r} does not exist. Give an existing directory or "
                    f"an s3:// URI, or leave it empty for SageMaker's public MNIST sample data."
                )
            try:
                inputs[channel] = sm_session.upload_data(str(path), key_prefix=f"{name}/data/{channel}")
            except Exception as exc:  # noqa: BLE001 -- S3 failures get the same clear messages
                raise as_user_error(translate_error(exc, "s3", "PutObject")) from exc
    return inputs

# ------------------------------------------------------------------ poll


def quiet_sdk_logging() -> None:
    """Before importing the SDK: no v3 banner, and no INFO/WARNING lines on stdout/stderr that
    would land on top of a full-screen terminal UI (unless the user configured these loggers)."""
    import logging

    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    for name in ("sagemaker", "sagemaker.config"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            # Not even ERROR: the SDK's own errors (e.g. "pass a custom default_bucket parameter
            # to sagemaker.Session" for a foreign bucket) advise what an hpo-tui user cannot do;
            # the exception that follows them is translated into a message that can be acted on.
            logger.setLevel(logging.CRITICAL)


def resolve_source_dir(spec: TuningSpec) -> str:
    """What the SDK gets as source_dir: an s3:// tar.gz as it is (the SDK uploads nothing then),
    else the local folder; the default "training" falls back to the script shipped with hpo-tui.
    Any other folder that does not exist is refused, never replaced by the bundled one."""
    given = spec.estimator.source_dir
    if given.startswith("s3://"):
        return given
    candidate = Path(given).expanduser()
    if candidate.is_dir():
        source = candidate.resolve()
    elif given.rstrip("/") == "training":
        from hpo_tui.paths import training_dir

        source = training_dir()
    else:
        what = "is a file" if candidate.exists() else "does not exist"
        raise UserError(
            f"estimator.source_dir: {given!r} {what}. Set it to the folder that holds "
            f"{spec.estimator.entry_point} (relative paths are relative to the spec file), to an "
            "s3:// URI of a sourcedir.tar.gz, or to \"training\" for the script shipped with hpo-tui."
        )
    if not (source / spec.estimator.entry_point).is_file():
        raise UserError(
            f"estimator.entry_point: {spec.estimator.entry_point!r} is not in {source}. Set "
            "estimator.source_dir to the folder that holds your training script."
        )
    return str(source)


def check_parents(call: AwsCall, spec: TuningSpec, region: str) -> None:
    """Warm start parents must exist in this region and have ended, as SageMaker requires."""
    for i, parent in enumerate(spec.warm_start.parents or []):
        try:
            desc = call("sagemaker", "describe_hyper_parameter_tuning_job", HyperParameterTuningJobName=parent)
        except TuningJobNotFound:
            raise UserError(
                f"warm_start.parents[{i}]: no SageMaker tuning job named {parent!r} in region {region}; "
                "`hpo-tui jobs --backend sagemaker` lists them. Nothing was launched."
            ) from None
        status = desc.get("HyperParameterTuningJobStatus")
        if status not in ("Completed", "Stopped", "Failed"):
            raise UserError(
                f"warm_start.parents[{i}]: {parent!r} is {status}; warm start from tuning jobs that "
                "ended (wait for it, or stop it first). Nothing was launched."
            )


def check_region(spec: TuningSpec, region: str) -> None:
    """The SDK's own image lookup for this region and instance type, before anything is made."""
    from sagemaker import image_uris

    try:
        image_uris.retrieve(
            "mxnet", region=region, version=spec.estimator.framework_version,
            py_version=spec.estimator.py_version, instance_type=spec.estimator.instance_type,
            image_scope="training",
        )
    except ValueError as exc:
        if "region" in str(exc).lower():
            raise BackendError(
                f"The SageMaker SDK has no MXNet {spec.estimator.framework_version} training image in region "
                f"{region!r} ({exc}). Pick a region SageMaker runs in with --region or [sagemaker] region "
                "(e.g. us-east-1). Nothing was created or uploaded."
            ) from None
        raise BackendError(
            f"The SageMaker SDK cannot pick a training image for {spec.estimator.instance_type} in "
            f"{region}: {exc}. Nothing was created or uploaded."
        ) from None


def make_job_name(spec: TuningSpec) -> str:
    """A SageMaker-valid tuning job name (<= 32 chars) from the spec's base job name."""
    from hpo_tui.spec import make_tuning_job_name

    return make_tuning_job_name(spec)


def estimator_extras(spec: TuningSpec) -> dict[str, Any]:
    """The estimator's optional arguments: max_run and managed spot training."""
    est = spec.estimator
    extras: dict[str, Any] = {}
    if est.max_run_seconds:
        extras["max_run"] = est.max_run_seconds
    if est.use_spot_instances:
        extras["use_spot_instances"] = True
        extras["max_wait"] = est.max_wait_seconds
    if est.checkpoint_s3_uri:
        extras["checkpoint_s3_uri"] = est.checkpoint_s3_uri
    return extras


def tuner_arguments(spec: TuningSpec) -> dict[str, Any]:
    """HyperparameterTuner keyword arguments for a spec (SDK classes imported lazily)."""
    from sagemaker.tuner import (
        CategoricalParameter,
        ContinuousParameter,
        HyperbandStrategyConfig,
        IntegerParameter,
        StrategyConfig,
        TuningJobCompletionCriteriaConfig,
    )

    from hpo_tui.spec import hyperband_resources, resolved_max_jobs

    ranges: dict[str, Any] = {}
    for name, param in spec.ranges.items():
        if param.kind == "integer":
            ranges[name] = IntegerParameter(param.min, param.max, scaling_type=param.scaling)
        elif param.kind == "continuous":
            ranges[name] = ContinuousParameter(param.min, param.max, scaling_type=param.scaling)
        else:
            ranges[name] = CategoricalParameter([str(v) for v in param.values])
    args: dict[str, Any] = {
        "objective_metric_name": spec.objective.name,
        "hyperparameter_ranges": ranges,
        "metric_definitions": [{"Name": m.name, "Regex": m.regex} for m in spec.metric_definitions],
        "strategy": spec.strategy,
        "objective_type": spec.objective.type,
        # Grid: the number of combinations. SDK 2.257 would send MaxNumberOfTrainingJobs=None
        # for max_jobs=None, which botocore rejects before the request leaves.
        "max_jobs": resolved_max_jobs(spec),
        "max_parallel_jobs": spec.max_parallel_jobs,
        "early_stopping_type": spec.early_stopping,
        "base_tuning_job_name": spec.estimator.base_job_name,
    }
    if spec.max_runtime_seconds:
        args["max_runtime_in_seconds"] = spec.max_runtime_seconds
    if spec.random_seed is not None:
        args["random_seed"] = spec.random_seed
    resources = hyperband_resources(spec) if spec.strategy == "Hyperband" else None
    if resources is not None:
        low, high = resources
        args["strategy_config"] = StrategyConfig(HyperbandStrategyConfig(max_resource=high, min_resource=low))
    if spec.warm_start.parents:
        from sagemaker.tuner import WarmStartConfig, WarmStartTypes

        from hpo_tui.spec import warm_start_type

        args["warm_start_config"] = WarmStartConfig(
            WarmStartTypes(warm_start_type(spec.warm_start)), parents=list(spec.warm_start.parents)
        )
    crit = spec.completion
    if crit.target_objective_value is not None or crit.max_jobs_not_improving is not None:
        args["completion_criteria_config"] = TuningJobCompletionCriteriaConfig(
            max_number_of_training_jobs_not_improving=crit.max_jobs_not_improving,
            target_objective_metric_value=crit.target_objective_value,
        )
    return args
