"""AWS's own limits on a tuning job, and the newer SageMaker settings (managed spot training,
warm start, an s3:// source_dir), as validation rules; plus the warnings a spec can pass with.

The numbers are CreateHyperParameterTuningJob's documented limits; the training instance types
are botocore's `TrainingInstanceType` enum, read once from the SageMaker service model file
that ships with botocore (botocore itself is not imported). Imports only `hpo_tui.spec.model`.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from hpo_tui.spec.runnable import _brief
from hpo_tui.spec.model import (
    DEFAULT_PARALLEL_QUOTA,
    INSTANCE_TYPE_PATTERN,
    MAX_HYPERPARAMETERS,
    MAX_PARALLEL_JOBS,
    MAX_RANGES,
    MAX_TRAINING_JOBS,
    MAX_TRAINING_RUN_SECONDS,
    MAX_WARM_START_PARENTS,
    NAME_PATTERN,
    JOB_NAME_MAX,
    S3_URI_PATTERN,
    SDK_MAX_RUN_SECONDS,
    SDK_STATIC_HYPERPARAMETERS,
    TUNING_OBJECTIVE_HYPERPARAMETER,
    WARM_START_TYPES,
    Estimator,
    SpecIssue,
    TuningSpec,
    WarmStartSettings,
    _choices,
    _is_int,
    _show,
    grid_size,
)

Add = Callable[[str, str], None]


@functools.lru_cache(maxsize=1)
def training_instance_types() -> frozenset[str] | None:
    """botocore's TrainingInstanceType enum, read from the SageMaker service model file that
    ships with botocore (found without importing botocore, so the spec stays light);
    None when it cannot be read."""
    import gzip
    import importlib.util
    import json
    from pathlib import Path

    found = importlib.util.find_spec("botocore")
    if found is None or not found.submodule_search_locations:
        return None
    models = Path(list(found.submodule_search_locations)[0]) / "data" / "sagemaker"
    try:
        newest = sorted(p for p in models.iterdir() if p.is_dir())[-1]
        path = newest / "service-2.json.gz"
        if not path.exists():
            path = newest / "service-2.json"
        cached = _read_cached_types(path)
        if cached is not None:
            return cached
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        types = frozenset(json.loads(raw)["shapes"]["TrainingInstanceType"]["enum"])
    except (OSError, IndexError, KeyError, ValueError):  # an unreadable model only loses this check
        return None
    _write_cached_types(path, types)
    return types


def _types_cache(model: Any) -> Any:
    """Where the instance types of this service model file are kept: decompressing and
    parsing the whole SageMaker model (0.1-0.2 s) delayed the configure screen's first
    frame at every start. Keyed by the file's size and time: a botocore upgrade reads it anew."""
    from hpo_tui import paths

    stat = model.stat()
    return paths.home() / "cache" / f"sagemaker-instance-types-{stat.st_size}-{int(stat.st_mtime)}.json"


def _read_cached_types(model: Any) -> frozenset[str] | None:
    import json

    from hpo_tui.errors import UserError

    try:
        return frozenset(json.loads(_types_cache(model).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, UserError):  # none yet, or unreadable: parse the model
        return None


def _write_cached_types(model: Any, types: frozenset[str]) -> None:
    import json
    import os

    from hpo_tui.errors import UserError

    try:
        cache = _types_cache(model)
        cache.parent.mkdir(exist_ok=True)
        partial = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
        partial.write_text(json.dumps(sorted(types)), encoding="utf-8")
        partial.replace(cache)  # whole or not at all, whoever else writes it
    except (OSError, UserError):  # a read-only home only costs the parse next time
        pass


def validate_instance_type(est: Estimator, add: Add) -> None:
    value = est.instance_type
    if not isinstance(value, str) or not INSTANCE_TYPE_PATTERN.fullmatch(value):
        add("estimator.instance_type", f"{_show(value)} is not a SageMaker training instance "
            "type; use one like \"ml.m5.xlarge\"")
        return
    known = training_instance_types()
    if known is not None and value not in known:
        import difflib

        close = difflib.get_close_matches(value, sorted(known), n=1)
        hint = f"did you mean \"{close[0]}\"? " if close else ""
        add("estimator.instance_type", f"{_show(value)} is not an instance type SageMaker trains on; "
            f"{hint}use one of botocore's TrainingInstanceType values, e.g. \"ml.m5.xlarge\"")
        return
    problem = mxnet_image_problem(value)
    if problem is not None:
        add("estimator.instance_type", problem)


def hyperparameter_count(spec: TuningSpec) -> int:
    """What one training job of the tuning job carries: tuned + static + the SDK's statics +
    SageMaker's _tuning_objective_metric."""
    tuned = spec.ranges if isinstance(spec.ranges, dict) else {}
    static = spec.estimator.hyperparameters if isinstance(spec.estimator, Estimator) else {}
    static = static if isinstance(static, dict) else {}
    own = set(tuned) | set(static)
    return len(own) + len(SDK_STATIC_HYPERPARAMETERS) + 1


def validate_totals(spec: TuningSpec, add: Add) -> None:
    """The ranges, hyperparameters, parallel and total training jobs AWS accepts."""
    tuned = spec.ranges if isinstance(spec.ranges, dict) else {}
    if len(tuned) > MAX_RANGES:
        add("ranges", f"{len(tuned)} ranges; SageMaker allows at most {MAX_RANGES} in total "
            "(integer, continuous and categorical together); remove some")
    total = hyperparameter_count(spec)
    if total > MAX_HYPERPARAMETERS:
        extra = len(SDK_STATIC_HYPERPARAMETERS) + 1
        add("estimator.hyperparameters", f"{total - extra} tuned and static hyperparameters plus the SDK's "
            f"{len(SDK_STATIC_HYPERPARAMETERS)} and SageMaker's {TUNING_OBJECTIVE_HYPERPARAMETER} make {total}; "
            f"SageMaker allows {MAX_HYPERPARAMETERS}, so keep at most {MAX_HYPERPARAMETERS - extra} of your own")
    mpj = spec.max_parallel_jobs
    if _is_int(mpj) and mpj > MAX_PARALLEL_JOBS:
        add("max_parallel_jobs", f"{mpj} is more than SageMaker's {MAX_PARALLEL_JOBS} parallel training "
            f"jobs per tuning job; set max_parallel_jobs <= {MAX_PARALLEL_JOBS}")
    jobs = spec.max_jobs
    if jobs is None and spec.strategy == "Grid":
        combos = grid_size(spec)
        if combos is not None and combos > MAX_TRAINING_JOBS:
            add("ranges", f"the Grid strategy would run {_brief(combos)} combinations; SageMaker runs at most "
                f"{MAX_TRAINING_JOBS} training jobs per tuning job, so list fewer values")
    elif _is_int(jobs) and jobs > MAX_TRAINING_JOBS:
        add("max_jobs", f"{_brief(jobs)} is more than SageMaker's {MAX_TRAINING_JOBS} training jobs per tuning "
            f"job; set max_jobs <= {MAX_TRAINING_JOBS}")


def validate_source_dir(est: Estimator, add: Add) -> None:
    """An s3:// source_dir must be a tar.gz, as the SDK uses it unchanged."""
    value = est.source_dir
    if not isinstance(value, str) or not value.startswith("s3:"):
        return
    if not S3_URI_PATTERN.fullmatch(value) or not value.endswith(".tar.gz"):
        add("estimator.source_dir", f"{_show(value)}: an S3 source_dir must be the s3:// URI of a .tar.gz "
            "holding the entry point (e.g. s3://my-bucket/code/sourcedir.tar.gz), or a local folder")


def validate_spot(est: Estimator, add: Add) -> None:
    """Managed spot training as CreateTrainingJob checks it: MaxWaitTimeInSeconds >= MaxRuntime."""
    run = est.max_run_seconds
    run_ok = True
    if run is not None and (not _is_int(run) or not 1 <= run <= MAX_TRAINING_RUN_SECONDS):
        add("estimator.max_run_seconds", f"must be a whole number of seconds between 1 and "
            f"{MAX_TRAINING_RUN_SECONDS:,} (28 days), got {_show(run)}; or remove it for the SDK's 1 day")
        run_ok = False
    spot = est.use_spot_instances
    if spot is not None and not isinstance(spot, bool):
        add("estimator.use_spot_instances", f"must be true or false, got {_show(spot)}")
        return
    wait = est.max_wait_seconds
    if wait is not None:
        if not spot:
            add("estimator.max_wait_seconds", "only managed spot training waits; set use_spot_instances = true "
                "or remove max_wait_seconds")
        elif not _is_int(wait) or wait < 1:
            add("estimator.max_wait_seconds", f"must be a whole number of seconds, got {_show(wait)}")
        elif run_ok and wait < (run or SDK_MAX_RUN_SECONDS):
            limit = run or SDK_MAX_RUN_SECONDS
            add("estimator.max_wait_seconds", f"{wait} s is less than the {limit} s a training job may run "
                f"(max_run_seconds); SageMaker needs max_wait_seconds >= max_run_seconds, e.g. {2 * limit}")
    elif spot:
        limit = run if run_ok and run else SDK_MAX_RUN_SECONDS
        add("estimator.max_wait_seconds", f"managed spot training needs the longest wait for spot capacity "
            f"plus training, at least max_run_seconds ({limit}); set e.g. max_wait_seconds = {2 * limit}")
    uri = est.checkpoint_s3_uri
    if uri is not None and (not isinstance(uri, str) or not S3_URI_PATTERN.fullmatch(uri) or len(uri) > 1024):
        add("estimator.checkpoint_s3_uri", f"{_show(uri)} is not an S3 URI; use s3://bucket/prefix where the "
            "training script's /opt/ml/checkpoints is saved")


def warm_start_type(ws: WarmStartSettings) -> str:
    return ws.type or WARM_START_TYPES[0]


def validate_warm_start(spec: TuningSpec, add: Add) -> None:
    ws = spec.warm_start
    if not isinstance(ws, WarmStartSettings):
        add("warm_start", "must be a table (parents, type)")
        return
    if ws.type is not None and ws.type not in WARM_START_TYPES:
        add("warm_start.type", f"{_show(ws.type)} is not a warm start type; use {_choices(WARM_START_TYPES)}")
    parents = ws.parents
    if parents is None:
        if ws.type is not None:
            add("warm_start.parents", "list the tuning jobs to start from, e.g. parents = [\"mnist-hpo-1\"]")
        return
    if not isinstance(parents, list):
        add("warm_start.parents", f"must be a list of tuning job names, got {_show(parents)}")
        return
    if not 1 <= len(parents) <= MAX_WARM_START_PARENTS:
        add("warm_start.parents", f"has {len(parents)} tuning jobs; SageMaker takes 1 to "
            f"{MAX_WARM_START_PARENTS} parents (remove the entry to start cold)")
    seen: set[str] = set()
    for i, name in enumerate(parents):
        path = f"warm_start.parents[{i}]"
        if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name) or len(name) > JOB_NAME_MAX:
            add(path, f"{_show(name)} is not a tuning job name (letters, digits and hyphens, at most "
                f"{JOB_NAME_MAX} characters)")
        elif name in seen:
            add(path, f"{_show(name)} is listed twice")
        elif name == spec.tuning_job_name:
            add(path, "a tuning job cannot warm start from itself")
        else:
            seen.add(name)


def spec_warnings(spec: TuningSpec) -> list[SpecIssue]:
    """What AWS accepts but may refuse on a new account, or what costs more than it seems."""
    out: list[SpecIssue] = []
    mpj = spec.max_parallel_jobs
    if _is_int(mpj) and DEFAULT_PARALLEL_QUOTA < mpj <= MAX_PARALLEL_JOBS and spec.backend == "sagemaker":
        out.append(SpecIssue("max_parallel_jobs", f"{mpj} parallel training jobs is more than the default "
                             f"quota of {DEFAULT_PARALLEL_QUOTA}; launch fails with ResourceLimitExceeded unless "
                             "the account's quota was raised (Service Quotas, Amazon SageMaker)"))
    return out


def instance_family(instance_type: Any) -> str:
    """"ml.p3.2xlarge" -> "p3", "ml.p6-b200.48xlarge" -> "p6-b200"; "" when not of that form."""
    if not isinstance(instance_type, str):
        return ""
    parts = instance_type.split(".")
    return parts[1] if len(parts) >= 3 else ""


def is_gpu_instance(instance_type: Any) -> bool:
    """As the SDK picks the image: families starting with g or p are GPU (ml.p3.2xlarge)."""
    family = instance_family(instance_type)
    return bool(family) and family[0] in ("g", "p")


# The MXNet 1.9 training images (the last MXNet the SageMaker SDK has) are x86-64 only: a CPU
# image, and a GPU image built with CUDA 11.2, which runs NVIDIA GPUs up to Ampere (compute
# capability 8.6). GPU families it runs on, with their GPU:
MXNET_GPU_FAMILIES = {
    "p2": "K80", "p3": "V100", "p3dn": "V100", "p4d": "A100", "p4de": "A100",
    "g4dn": "T4", "g5": "A10G",
}
# Families whose accelerator the MXNet 1.9 images cannot use, and why.
_NEWER_GPU = "an NVIDIA {gpu} GPU, newer than the CUDA 11.2 of the MXNet 1.9 GPU image (which runs GPUs up to Ampere)"
MXNET_UNSUPPORTED_FAMILIES = {
    "g6": _NEWER_GPU.format(gpu="L4 (Ada)"),
    "g6e": _NEWER_GPU.format(gpu="L40S (Ada)"),
    "g7": _NEWER_GPU.format(gpu="Blackwell"),
    "g7e": _NEWER_GPU.format(gpu="Blackwell"),
    "p5": _NEWER_GPU.format(gpu="H100 (Hopper)"),
    "p5e": _NEWER_GPU.format(gpu="H200 (Hopper)"),
    "p5en": _NEWER_GPU.format(gpu="H200 (Hopper)"),
    "p6-b200": _NEWER_GPU.format(gpu="B200 (Blackwell)"),
    "p6-b300": _NEWER_GPU.format(gpu="B300 (Blackwell)"),
    "p6e-gb200": "an Arm (Grace) host with Blackwell GPUs; the MXNet 1.9 images are x86-64 only",
}


def mxnet_image_problem(instance_type: Any) -> str | None:
    """Why the MXNet 1.9 training images cannot run on this instance type, with what to pick
    instead; None when one of them (CPU or GPU) can. Decided for every family of botocore's
    TrainingInstanceType enum (tests/spec check each, and each accepted one against the SDK)."""
    family = instance_family(instance_type)
    if not family:
        return None
    gpu_ok = ", ".join(f"ml.{f}" for f in MXNET_GPU_FAMILIES)
    pick = (f"pick a GPU family the image runs on ({gpu_ok}, e.g. \"ml.g5.xlarge\") or a CPU one "
            "(e.g. \"ml.m5.xlarge\")")
    what: str | None = None
    if family.startswith(("trn", "inf")):
        accel = "Trainium" if family.startswith("trn") else "Inferentia"
        what = (f"an AWS {accel} (Neuron) accelerator; SageMaker has no MXNet 1.9 training image for "
                "Neuron devices (launch would fail with \"Unsupported framework: mxnet\")")
    elif family in MXNET_UNSUPPORTED_FAMILIES:
        what = MXNET_UNSUPPORTED_FAMILIES[family]
    elif family[0] in ("g", "p") and family not in MXNET_GPU_FAMILIES:
        what = "a GPU family hpo-tui does not know the MXNet 1.9 GPU image (CUDA 11.2) to run on"
    elif family[0] not in ("g", "p") and (family.endswith("g") or family.endswith(("gd", "gn"))):
        what = "an Arm (Graviton) CPU; the MXNet 1.9 images are x86-64 only"
    if what is None:
        return None
    return f"{instance_type} has {what}; {pick}"
