"""The SageMaker backend: launch with the SageMaker Python SDK v2, watch with boto3 on a small,
fixed request budget (one describe, one list page per 100 training jobs, new log events only,
at most MaxParallelTrainingJobs DescribeTrainingJob for the running jobs' SecondaryStatus, and
at most 25 for ended jobs' spot billing, asked once each).

One module per job: `backend` (the Backend protocol: sessions, clients, stale data), `launch`
(the SDK), `poll` (boto3 describe/list -> views), `logs` (CloudWatch Logs cursors -> metric
points) and `errors` (AWS errors -> clear messages); the pre-flight checks of `hpo-tui doctor`
and of each launch in `doctor` (with `checks`, `quotas` and `regions`), and `cost` (dollars per
instance type). None imports textual, and the SDK is only imported when a launch needs it.
"""

from __future__ import annotations

from hpo_tui.backends.sagemaker.backend import MAX_INTERVAL, POLL_RETRIES, SageMakerBackend
from hpo_tui.backends.sagemaker.errors import AwsUnavailable, iam_action, translate_error
from hpo_tui.backends.sagemaker.launch import (
    LAUNCH_ATTEMPTS,
    LAUNCH_RETRY_DELAY,
    SAMPLE_DATA,
    estimator_extras,
    quiet_sdk_logging,
    resolve_source_dir,
    tuner_arguments,
)
from hpo_tui.backends.sagemaker.logs import LOG_GROUP, LOG_OVERLAP_MS, PollCursor, filter_pattern
from hpo_tui.backends.sagemaker.poll import LIST_PAGE_SIZE, tuning_job_view, training_job_view

__all__ = [
    "LAUNCH_ATTEMPTS",
    "LAUNCH_RETRY_DELAY",
    "LIST_PAGE_SIZE",
    "LOG_GROUP",
    "LOG_OVERLAP_MS",
    "MAX_INTERVAL",
    "POLL_RETRIES",
    "SAMPLE_DATA",
    "AwsUnavailable",
    "PollCursor",
    "SageMakerBackend",
    "estimator_extras",
    "filter_pattern",
    "iam_action",
    "quiet_sdk_logging",
    "resolve_source_dir",
    "training_job_view",
    "translate_error",
    "tuner_arguments",
    "tuning_job_view",
]
