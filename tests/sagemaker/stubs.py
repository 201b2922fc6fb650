"""Service-model-valid SageMaker responses for botocore Stubber tests (operations moto lacks)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

T0 = datetime(2026, 11, 28, 12, 0, 0, tzinfo=timezone.utc)
ACCOUNT = "123456789012"


def describe_response(
    name: str,
    *,
    status: str = "InProgress",
    counters: dict[str, int] | None = None,
    best: dict[str, Any] | None = None,
    max_jobs: int = 500,
    max_parallel: int = 10,
    objective_type: str = "Maximize",
    failure_reason: str | None = None,
) -> dict[str, Any]:
    response: dict[str, Any] = {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:hyper-parameter-tuning-job/{name}",
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "HyperParameterTuningJobObjective": {"Type": objective_type, "MetricName": "Validation-accuracy"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": max_jobs, "MaxParallelTrainingJobs": max_parallel},
            "ParameterRanges": {
                "IntegerParameterRanges": [
                    {"Name": "num_epoch", "MinValue": "10", "MaxValue": "50", "ScalingType": "Auto"}
                ],
                "ContinuousParameterRanges": [
                    {"Name": "learning_rate", "MinValue": "0.01", "MaxValue": "0.2", "ScalingType": "Auto"}
                ],
                "CategoricalParameterRanges": [{"Name": "optimizer", "Values": ['"sgd"', '"Adam"']}],
            },
            "TrainingJobEarlyStoppingType": "Off",
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {"batch_size": "100", "sagemaker_program": '"mnist.py"'},
            "AlgorithmSpecification": {
                "TrainingImage": "763104351884.dkr.ecr.us-east-1.amazonaws.com/mxnet-training:1.9.0-cpu-py38",
                "TrainingInputMode": "File",
                "MetricDefinitions": [
                    {"Name": "Validation-accuracy", "Regex": r"Validation-accuracy=([0-9\.]+)"},
                    {"Name": "Train-accuracy", "Regex": r"Train-accuracy=([0-9\.]+)"},
                ],
            },
            "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/SageMakerTuning",
            "OutputDataConfig": {"S3OutputPath": f"s3://sagemaker-us-east-1-{ACCOUNT}/"},
            "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        },
        "HyperParameterTuningJobStatus": status,
        "CreationTime": T0,
        "TrainingJobStatusCounters": {
            "Completed": 0,
            "InProgress": 0,
            "RetryableError": 0,
            "NonRetryableError": 0,
            "Stopped": 0,
            **(counters or {}),
        },
        "ObjectiveStatusCounters": {"Succeeded": 0, "Pending": 0, "Failed": 0},
    }
    if best:
        response["BestTrainingJob"] = best
    if failure_reason:
        response["FailureReason"] = failure_reason
    if status in {"Completed", "Stopped", "Failed"}:
        response["HyperParameterTuningEndTime"] = T0 + timedelta(hours=1)
    return response


def training_summary(
    tuning: str,
    index: int,
    *,
    status: str = "Completed",
    objective: float | None = None,
    objective_status: str | None = None,
    failure_reason: str | None = None,
    hyperparameters: dict[str, str] | None = None,
    name: str | None = None,
    objective_type: str = "Maximize",
) -> dict[str, Any]:
    name = name or f"{tuning}-{index + 1:03d}-{index:08x}"
    summary: dict[str, Any] = {
        "TrainingJobName": name,
        "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:training-job/{name}",
        "TuningJobName": tuning,
        "CreationTime": T0 + timedelta(seconds=index),
        "TrainingStartTime": T0 + timedelta(seconds=index + 60),
        "TrainingJobStatus": status,
        "TunedHyperParameters": hyperparameters
        or {"learning_rate": repr(0.01 + index / 10_000), "num_epoch": str(10 + index % 40), "optimizer": '"sgd"'},
    }
    if status in {"Completed", "Failed", "Stopped"}:
        summary["TrainingEndTime"] = T0 + timedelta(seconds=index + 600)
    if objective is not None:
        summary["FinalHyperParameterTuningJobObjectiveMetric"] = {
            "Type": objective_type,
            "MetricName": "Validation-accuracy",
            "Value": objective,
        }
    if objective_status:
        summary["ObjectiveStatus"] = objective_status
    if failure_reason:
        summary["FailureReason"] = failure_reason
    return summary


def list_params(tuning: str, token: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {
        "HyperParameterTuningJobName": tuning,
        "MaxResults": 100,
        "SortBy": "CreationTime",
        "SortOrder": "Ascending",
    }
    if token:
        params["NextToken"] = token
    return params


def pages(tuning: str, summaries: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(response, expected_params) per page of 100, with NextToken chaining."""
    out = []
    chunks = [summaries[i : i + 100] for i in range(0, len(summaries), 100)] or [[]]
    for n, chunk in enumerate(chunks):
        response: dict[str, Any] = {"TrainingJobSummaries": chunk}
        if n + 1 < len(chunks):
            response["NextToken"] = f"page-{n + 1}"
        out.append((response, list_params(tuning, f"page-{n}" if n else None)))
    return out


def no_log_events() -> dict[str, Any]:
    return {"events": [], "searchedLogStreams": []}


def log_event(stream: str, n: int, message: str, timestamp_ms: int) -> dict[str, Any]:
    return {
        "logStreamName": stream,
        "timestamp": timestamp_ms,
        "message": message,
        "ingestionTime": timestamp_ms + 500,
        "eventId": f"{timestamp_ms:020d}{n:016d}",
    }


def training_job_description(summary: dict[str, Any], secondary: str = "Training") -> dict[str, Any]:
    """A DescribeTrainingJob response for a training job of the list pages."""
    return {
        "TrainingJobName": summary["TrainingJobName"],
        "TrainingJobArn": summary["TrainingJobArn"],
        "ModelArtifacts": {"S3ModelArtifacts": "s3://bucket/model.tar.gz"},
        "TrainingJobStatus": summary["TrainingJobStatus"],
        "SecondaryStatus": secondary,
        "AlgorithmSpecification": {"TrainingInputMode": "File", "TrainingImage": "mxnet-training:1.9.0-cpu-py38"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        "CreationTime": summary["CreationTime"],
    }
