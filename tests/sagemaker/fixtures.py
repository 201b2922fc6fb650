"""DescribeHyperParameterTuningJob responses written by hand to SageMaker's service model (the
tests serve them through botocore's Stubber, which validates each one), for tuning jobs that
hpo-tui did not launch:

- REFERENCE: the reference notebook's job (MXNet MNIST, Bayesian, 9 jobs, 3 at a time), with
  the statics the SDK adds and SageMaker's _tuning_objective_metric;
- TWO_DEFINITIONS: a tuning job with two training job definitions (TrainingJobDefinitions),
  each with its own ranges and metric regexes, warm-started (OverallBestTrainingJob) and with
  ConsumedResources;
- XGBOOST: a built-in algorithm (no metric definitions; validation:auc), whose metrics come
  from each training job's FinalMetricDataList.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.sagemaker.stubs import ACCOUNT, T0

REGION = "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/SageMakerTuning"
MXNET_IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/mxnet-training:1.9.0-cpu-py38"
XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def _arn(kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/{name}"


def _counters(completed: int, in_progress: int = 0) -> dict[str, Any]:
    return {
        "TrainingJobStatusCounters": {"Completed": completed, "InProgress": in_progress, "RetryableError": 0,
                                      "NonRetryableError": 0, "Stopped": 0},
        "ObjectiveStatusCounters": {"Succeeded": completed, "Pending": in_progress, "Failed": 0},
    }


def _summary(tuning: str, index: int, hps: dict[str, str], metric: str, value: float | None,
             definition: str | None = None, status: str = "Completed") -> dict[str, Any]:
    name = f"{tuning}-{index + 1:03d}-{index * 2654435761 % 2**32:08x}"
    s: dict[str, Any] = {
        "TrainingJobName": name,
        "TrainingJobArn": _arn("training-job", name),
        "TuningJobName": tuning,
        "CreationTime": T0 + timedelta(minutes=index),
        "TrainingStartTime": T0 + timedelta(minutes=index, seconds=90),
        "TrainingJobStatus": status,
        "TunedHyperParameters": hps,
        "ObjectiveStatus": "Succeeded" if value is not None else "Pending",
    }
    if status == "Completed":
        s["TrainingEndTime"] = T0 + timedelta(minutes=index + 10, seconds=90)
    if value is not None:
        s["FinalHyperParameterTuningJobObjectiveMetric"] = {"Type": "Maximize", "MetricName": metric, "Value": value}
    if definition:
        s["TrainingJobDefinitionName"] = definition
    return s


# -- the reference notebook's tuning job ------------------------------------------------------------

REFERENCE_NAME = "mxnet-training-201128-1200"
REFERENCE_SUMMARIES = [
    _summary(REFERENCE_NAME, i, {"optimizer": f'"{opt}"', "learning_rate": lr, "num_epoch": ep},
             "Validation-accuracy", acc)
    for i, (opt, lr, ep, acc) in enumerate([
        ("sgd", "0.1183", "32", 0.9812), ("Adam", "0.0150", "17", 0.9734), ("sgd", "0.1911", "48", 0.9856),
    ])
]
REFERENCE: dict[str, Any] = {
    "HyperParameterTuningJobName": REFERENCE_NAME,
    "HyperParameterTuningJobArn": _arn("hyper-parameter-tuning-job", REFERENCE_NAME),
    "HyperParameterTuningJobConfig": {
        "Strategy": "Bayesian",
        "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "Validation-accuracy"},
        "ResourceLimits": {"MaxNumberOfTrainingJobs": 9, "MaxParallelTrainingJobs": 3},
        "ParameterRanges": {
            "IntegerParameterRanges": [{"Name": "num_epoch", "MinValue": "10", "MaxValue": "50", "ScalingType": "Auto"}],
            "ContinuousParameterRanges": [
                {"Name": "learning_rate", "MinValue": "0.01", "MaxValue": "0.2", "ScalingType": "Auto"}],
            "CategoricalParameterRanges": [{"Name": "optimizer", "Values": ['"sgd"', '"Adam"']}],
        },
        "TrainingJobEarlyStoppingType": "Off",
    },
    "TrainingJobDefinition": {
        "StaticHyperParameters": {
            "batch_size": "100",
            "_tuning_objective_metric": '"Validation-accuracy"',
            "sagemaker_container_log_level": "20",
            "sagemaker_estimator_class_name": '"MXNet"',
            "sagemaker_estimator_module": '"sagemaker.mxnet.estimator"',
            "sagemaker_job_name": f'"{REFERENCE_NAME}"',
            "sagemaker_program": '"mnist.py"',
            "sagemaker_region": f'"{REGION}"',
            "sagemaker_submit_directory": f'"s3://sagemaker-{REGION}-{ACCOUNT}/{REFERENCE_NAME}/source/sourcedir.tar.gz"',
        },
        "AlgorithmSpecification": {
            "TrainingImage": MXNET_IMAGE,
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": "Validation-accuracy", "Regex": r"Validation-accuracy=([0-9\.]+)"}],
        },
        "RoleArn": ROLE,
        "InputDataConfig": [
            {"ChannelName": c, "DataSource": {"S3DataSource": {
                "S3DataType": "S3Prefix", "S3Uri": f"s3://sagemaker-sample-data-{REGION}/mxnet/mnist/{c}",
                "S3DataDistributionType": "FullyReplicated"}}}
            for c in ("train", "test")
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://sagemaker-{REGION}-{ACCOUNT}/"},
        "ResourceConfig": {"InstanceType": "ml.m4.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
    },
    "HyperParameterTuningJobStatus": "InProgress",
    "CreationTime": T0,
    **_counters(3),
    "BestTrainingJob": REFERENCE_SUMMARIES[2],
}

# -- two training job definitions ------------------------------------------------------------------

TWO_NAME = "two-defs-201128-1200"


def _definition(name: str, metric_regex: str, ranges: dict[str, Any], instances: int) -> dict[str, Any]:
    return {
        "DefinitionName": name,
        "TuningObjective": {"Type": "Maximize", "MetricName": "Validation-accuracy"},
        "HyperParameterRanges": ranges,
        "StaticHyperParameters": {"batch_size": "100", "sagemaker_program": f'"{name}.py"'},
        "AlgorithmSpecification": {
            "TrainingImage": MXNET_IMAGE,
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": "Validation-accuracy", "Regex": metric_regex}],
        },
        "RoleArn": ROLE,
        "OutputDataConfig": {"S3OutputPath": f"s3://sagemaker-{REGION}-{ACCOUNT}/"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": instances, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }


TWO_SUMMARIES = [
    _summary(TWO_NAME, 0, {"learning_rate": "0.05", "optimizer": '"sgd"'}, "Validation-accuracy", 0.951, "mlp"),
    _summary(TWO_NAME, 1, {"learning_rate": "0.02", "num_filters": "32"}, "Validation-accuracy", 0.987, "cnn"),
    _summary(TWO_NAME, 2, {"learning_rate": "0.08", "num_filters": "64"}, "Validation-accuracy", None, "cnn",
             status="InProgress"),
]
TWO_DEFINITIONS: dict[str, Any] = {
    "HyperParameterTuningJobName": TWO_NAME,
    "HyperParameterTuningJobArn": _arn("hyper-parameter-tuning-job", TWO_NAME),
    "HyperParameterTuningJobConfig": {
        "Strategy": "Bayesian",
        "ResourceLimits": {"MaxNumberOfTrainingJobs": 20, "MaxParallelTrainingJobs": 2},
        "TrainingJobEarlyStoppingType": "Off",
    },
    "TrainingJobDefinitions": [
        _definition("mlp", r"Validation-accuracy=([0-9\.]+)", {
            "ContinuousParameterRanges": [
                {"Name": "learning_rate", "MinValue": "0.01", "MaxValue": "0.2", "ScalingType": "Auto"}],
            "CategoricalParameterRanges": [{"Name": "optimizer", "Values": ['"sgd"', '"Adam"']}],
        }, instances=1),
        _definition("cnn", r"val_acc: ([0-9\.]+)", {
            "ContinuousParameterRanges": [
                {"Name": "learning_rate", "MinValue": "0.01", "MaxValue": "0.2", "ScalingType": "Auto"}],
            "IntegerParameterRanges": [{"Name": "num_filters", "MinValue": "16", "MaxValue": "64", "ScalingType": "Auto"}],
        }, instances=2),
    ],
    "HyperParameterTuningJobStatus": "InProgress",
    "CreationTime": T0,
    **_counters(2, 1),
    "BestTrainingJob": TWO_SUMMARIES[1],
    # Warm-started from a parent whose best job beats this tuning job's own.
    "OverallBestTrainingJob": {**TWO_SUMMARIES[1], "TrainingJobName": "parent-hpo-004-0badc0de",
                               "TrainingJobArn": _arn("training-job", "parent-hpo-004-0badc0de"),
                               "TuningJobName": "parent-hpo",
                               "FinalHyperParameterTuningJobObjectiveMetric": {
                                   "Type": "Maximize", "MetricName": "Validation-accuracy", "Value": 0.991}},
    "WarmStartConfig": {"ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "parent-hpo"}],
                        "WarmStartType": "IdenticalDataAndAlgorithm"},
    "ConsumedResources": {"RuntimeInSeconds": 1830},
}

# -- XGBoost, a built-in algorithm --------------------------------------------------------------------

XGB_NAME = "xgboost-201128-1200"
XGB_SUMMARIES = [
    _summary(XGB_NAME, i, {"eta": eta, "max_depth": depth}, "validation:auc", auc)
    for i, (eta, depth, auc) in enumerate([("0.2", "5", 0.9312), ("0.45", "8", 0.9455)])
]
XGBOOST: dict[str, Any] = {
    "HyperParameterTuningJobName": XGB_NAME,
    "HyperParameterTuningJobArn": _arn("hyper-parameter-tuning-job", XGB_NAME),
    "HyperParameterTuningJobConfig": {
        "Strategy": "Random",
        "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "validation:auc"},
        "ResourceLimits": {"MaxNumberOfTrainingJobs": 2, "MaxParallelTrainingJobs": 2},
        "ParameterRanges": {
            "ContinuousParameterRanges": [{"Name": "eta", "MinValue": "0", "MaxValue": "1", "ScalingType": "Auto"}],
            "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "1", "MaxValue": "10", "ScalingType": "Auto"}],
        },
    },
    "TrainingJobDefinition": {
        "StaticHyperParameters": {"objective": "binary:logistic", "num_round": "100",
                                  "_tuning_objective_metric": "validation:auc"},
        "AlgorithmSpecification": {"TrainingImage": XGBOOST_IMAGE, "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "OutputDataConfig": {"S3OutputPath": f"s3://sagemaker-{REGION}-{ACCOUNT}/xgboost/"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "EnableManagedSpotTraining": True,
    },
    "HyperParameterTuningJobStatus": "Completed",
    "CreationTime": T0,
    "HyperParameterTuningEndTime": T0 + timedelta(minutes=20),
    **_counters(2),
    "BestTrainingJob": XGB_SUMMARIES[1],
    "ConsumedResources": {"RuntimeInSeconds": 1200},
}


def xgboost_training_job(summary: dict[str, Any], billable: int) -> dict[str, Any]:
    """DescribeTrainingJob of a finished XGBoost job: FinalMetricDataList and spot billing."""
    auc = summary["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    return {
        "TrainingJobName": summary["TrainingJobName"],
        "TrainingJobArn": summary["TrainingJobArn"],
        "TuningJobArn": XGBOOST["HyperParameterTuningJobArn"],
        "ModelArtifacts": {"S3ModelArtifacts": f"s3://sagemaker-{REGION}-{ACCOUNT}/xgboost/model.tar.gz"},
        "TrainingJobStatus": "Completed",
        "SecondaryStatus": "Completed",
        "AlgorithmSpecification": {"TrainingImage": XGBOOST_IMAGE, "TrainingInputMode": "File"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200},
        "CreationTime": summary["CreationTime"],
        "TrainingStartTime": summary["TrainingStartTime"],
        "TrainingEndTime": summary["TrainingEndTime"],
        "EnableManagedSpotTraining": True,
        "TrainingTimeInSeconds": 600,
        "BillableTimeInSeconds": billable,
        "FinalMetricDataList": [
            {"MetricName": "validation:auc", "Value": auc, "Timestamp": summary["TrainingEndTime"]},
            {"MetricName": "train:auc", "Value": auc + 0.02, "Timestamp": summary["TrainingEndTime"]},
        ],
    }
