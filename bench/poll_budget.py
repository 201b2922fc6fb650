"""API calls per refresh of a tuning job: hpo-tui's SageMaker poll vs the SDK's analytics path.

Both paths run for real (our backend; sagemaker.analytics.HyperparameterTuningJobAnalytics and
TrainingJobAnalytics) against canned, service-model-validated responses served inside botocore
(the Stubber mechanism), with fake credentials and a closed loopback endpoint, so nothing leaves
the machine. Every API call is counted with a botocore 'provide-client-params' hook.

Run: .venv/bin/python bench/poll_budget.py
"""

from __future__ import annotations

import math
import os
import socket
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

METRICS = ["Train-accuracy", "Validation-accuracy", "Validation-loss"]  # what training/mnist.py prints
MAX_PARALLEL = 10
RUNNING = 20  # training jobs in progress at the time of the refresh (more than MaxParallel)
T0 = datetime(2026, 11, 28, 12, 0, 0, tzinfo=timezone.utc)


def isolate_from_aws() -> None:
    """Fake credentials, no config files, and an endpoint on a closed loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        SAGEMAKER_SUPPRESS_V2_WARNING="1",
    )
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(var, None)


def tuning_job(name: str, n: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    desc = {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/{name}",
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "Validation-accuracy"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": n, "MaxParallelTrainingJobs": MAX_PARALLEL},
            "ParameterRanges": {
                "IntegerParameterRanges": [{"Name": "num_epoch", "MinValue": "10", "MaxValue": "50"}],
                "ContinuousParameterRanges": [{"Name": "learning_rate", "MinValue": "0.01", "MaxValue": "0.2"}],
                "CategoricalParameterRanges": [{"Name": "optimizer", "Values": ['"sgd"', '"Adam"']}],
            },
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {"batch_size": "100"},
            "AlgorithmSpecification": {
                "TrainingInputMode": "File",
                "MetricDefinitions": [{"Name": m, "Regex": m + r"=([0-9\.]+)"} for m in METRICS],
            },
            "RoleArn": "arn:aws:iam::123456789012:role/SageMakerTuning",
            "OutputDataConfig": {"S3OutputPath": "s3://bucket/"},
            "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
        },
        "HyperParameterTuningJobStatus": "InProgress",
        "CreationTime": T0,
        "TrainingJobStatusCounters": {"Completed": n},
        "ObjectiveStatusCounters": {"Succeeded": n},
    }
    summaries = [
        {
            "TrainingJobName": f"{name}-{i + 1:03d}-{i:08x}",
            "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}-{i + 1:03d}-{i:08x}",
            "CreationTime": T0 + timedelta(seconds=i),
            "TrainingStartTime": T0 + timedelta(seconds=i + 60),
            "TrainingEndTime": T0 + timedelta(seconds=i + 900),
            "TrainingJobStatus": "Completed",
            "TunedHyperParameters": {"learning_rate": "0.05", "num_epoch": "12", "optimizer": '"sgd"'},
            "FinalHyperParameterTuningJobObjectiveMetric": {"MetricName": "Validation-accuracy", "Value": 0.97},
            "ObjectiveStatus": "Succeeded",
        }
        for i in range(n)
    ]
    for s in summaries[max(0, n - RUNNING):]:  # the newest jobs are still running
        s.update(TrainingJobStatus="InProgress", ObjectiveStatus="Pending")
        for key in ("TrainingEndTime", "FinalHyperParameterTuningJobObjectiveMetric"):
            s.pop(key)
    return desc, summaries


LOG_PAGE_EVENTS = 10_000  # FilterLogEvents returns at most 10,000 events (or 1 MB) a page


def log_lines(summaries: list[dict[str, Any]], epochs: int) -> list[dict[str, Any]]:
    """The metric lines every training job logged: one per metric per epoch, on algo-1."""
    events = []
    for s in summaries:
        stream = f"{s['TrainingJobName']}/algo-1-1764331200"
        for e in range(epochs):
            for k, metric in enumerate(METRICS):
                ts = int((T0 + timedelta(seconds=60 + e * 30)).timestamp() * 1000)
                events.append({"logStreamName": stream, "timestamp": ts, "ingestionTime": ts + 500,
                               "message": f"INFO:root:Epoch[{e}] {metric}={0.9 + e / 1000:.6f}",
                               "eventId": f"{ts:020d}{len(events):016d}"})
    return events


def serve(session: Any, desc: dict[str, Any], summaries: list[dict[str, Any]], epochs: int = 0) -> list[str]:
    """Answer every call of clients made from `session` with validated canned data; count them.
    epochs: every job logged that many epochs of metric lines (FilterLogEvents pages them)."""
    from botocore.awsrequest import AWSResponse
    from botocore.validate import validate_parameters

    calls: list[str] = []
    training = {s["TrainingJobName"]: s for s in summaries}
    all_events = log_lines(summaries, epochs) if epochs else []

    def answer(model: Any, params: dict[str, Any]) -> dict[str, Any]:
        op = model.name
        if op == "DescribeHyperParameterTuningJob":
            return desc
        if op == "ListTrainingJobsForHyperParameterTuningJob":
            start = int(params.get("NextToken") or 0)
            page: dict[str, Any] = {"TrainingJobSummaries": summaries[start : start + params["MaxResults"]]}
            if start + params["MaxResults"] < len(summaries):
                page["NextToken"] = str(start + params["MaxResults"])
            return page
        if op == "FilterLogEvents":
            if not epochs:
                return {"events": [], "searchedLogStreams": []}
            prefix = params.get("logStreamNamePrefix", "")
            matching = [e for e in all_events if e["logStreamName"].startswith(prefix)
                        and e["timestamp"] >= params.get("startTime", 0)]
            start = int(params.get("nextToken") or 0)
            page = {"events": matching[start:start + LOG_PAGE_EVENTS], "searchedLogStreams": []}
            if start + LOG_PAGE_EVENTS < len(matching):
                page["nextToken"] = str(start + LOG_PAGE_EVENTS)
            return page
        if op == "DescribeTrainingJob":
            s = training[params["TrainingJobName"]]
            return {
                "TrainingJobName": s["TrainingJobName"],
                "TrainingJobArn": s["TrainingJobArn"],
                "ModelArtifacts": {"S3ModelArtifacts": "s3://bucket/model.tar.gz"},
                "TrainingJobStatus": s["TrainingJobStatus"],
                "SecondaryStatus": "Completed" if s["TrainingJobStatus"] == "Completed" else "Training",
                "AlgorithmSpecification": desc["TrainingJobDefinition"]["AlgorithmSpecification"],
                "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
                "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
                "CreationTime": s["CreationTime"],
                "TrainingStartTime": s["TrainingStartTime"],
                **({"TrainingEndTime": s["TrainingEndTime"]} if "TrainingEndTime" in s else {}),
            }
        if op == "GetMetricStatistics":
            # 60 s averages: what CloudWatch metrics give, one point per minute of training.
            return {
                "Label": params["MetricName"],
                "Datapoints": [{"Timestamp": T0 + timedelta(minutes=k), "Average": 0.9, "Unit": "None"} for k in range(14)],
            }
        raise AssertionError(f"unexpected call {op}")

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls.append(model.name)
        context_params[id(model)] = params

    context_params: dict[int, dict[str, Any]] = {}

    def respond(model: Any, **_: Any) -> tuple[Any, dict[str, Any]]:
        response = answer(model, context_params.pop(id(model)))
        validate_parameters(response, model.output_shape)
        return AWSResponse(None, 200, {}, None), response

    session.events.register("provide-client-params", record)
    session.events.register_first("before-call", respond)
    return calls


def ours(n: int) -> tuple[int, int, float]:
    """API calls of one steady-state refresh (and how many of them are DescribeTrainingJob)."""
    import boto3

    from hpo_tui.backends.sagemaker import SageMakerBackend

    name = f"bench-{n}"
    desc, summaries = tuning_job(name, n)
    session = boto3.Session()
    calls = serve(session, desc, summaries)
    backend = SageMakerBackend(boto_session=session)
    first = backend.poll(name)
    calls.clear()
    t = time.perf_counter()
    backend.poll(name, first.cursor)  # a steady-state refresh
    return len(calls), calls.count("DescribeTrainingJob"), time.perf_counter() - t


def first_poll(n: int, epochs: int = 50, shown: int = 46) -> tuple[int, int, int, int]:
    """Log calls of a first poll (attach, status, export) of n jobs x epochs x 3 metrics:
    the old whole-tuning-job read, against rows only plus the curves of `shown` jobs (a
    40-row table, the top 5 and the selected one), each from its own stream.
    Returns (old log pages, old calls, new log pages, new calls)."""
    import boto3

    from hpo_tui.backends.sagemaker import SageMakerBackend

    name = f"bench-{n}"
    desc, summaries = tuning_job(name, n)
    session = boto3.Session()
    calls = serve(session, desc, summaries, epochs=epochs)
    backend = SageMakerBackend(boto_session=session)
    backend.poll(name)  # the old first poll: every metric line of the tuning job
    old_pages, old_calls = calls.count("FilterLogEvents"), len(calls)
    calls.clear()
    backend = SageMakerBackend(boto_session=session)
    snap = backend.poll(name, points=False)
    points = backend.curves(name, [j.name for j in snap.training_jobs[:shown]], "Validation-accuracy")
    assert len(points) == shown * epochs, len(points)
    return old_pages, old_calls, calls.count("FilterLogEvents"), len(calls)


def sdk(n: int, with_metric_names: bool) -> tuple[int, float]:
    import boto3
    import sagemaker
    from sagemaker.analytics import HyperparameterTuningJobAnalytics, TrainingJobAnalytics

    name = f"bench-{n}"
    desc, summaries = tuning_job(name, n)
    session = boto3.Session()
    calls = serve(session, desc, summaries)
    sm_session = sagemaker.Session(boto_session=session, default_bucket="bench-bucket")
    calls.clear()
    t = time.perf_counter()
    jobs = HyperparameterTuningJobAnalytics(name, sagemaker_session=sm_session).dataframe()
    for job_name in jobs["TrainingJobName"]:
        TrainingJobAnalytics(
            job_name, metric_names=METRICS if with_metric_names else None, sagemaker_session=sm_session
        ).dataframe()
    return len(calls), time.perf_counter() - t


def main() -> None:
    isolate_from_aws()
    from hpo_tui.backends.sagemaker import quiet_sdk_logging

    quiet_sdk_logging()
    m = len(METRICS)
    print(f"API calls for one refresh of a tuning job with N training jobs and M={m} metrics")
    print(f"{'N':>5} {'hpo-tui poll':>13} {'of which DTJ':>13} {'budget':>7} {'SDK analytics':>14} {'no names':>9} "
          f"{'ratio':>7}  {'poll time':>9}")
    for n in (9, 100, 250, 500):
        our_calls, describes, our_secs = ours(n)
        sdk_calls, _ = sdk(n, with_metric_names=True)
        sdk_calls_default, _ = sdk(n, with_metric_names=False)
        budget = 1 + math.ceil(n / 100) + 1 + MAX_PARALLEL
        assert our_calls <= budget, (n, our_calls, budget)
        print(
            f"{n:>5} {our_calls:>13} {describes:>13} {budget:>7} {sdk_calls:>14} {sdk_calls_default:>9} "
            f"{sdk_calls / our_calls:>6.0f}x  {our_secs * 1000:>7.1f} ms"
        )
    print()
    print("First poll (attach, status, export) of a finished tuning job, N jobs x 50 epochs x 3 metrics:")
    print(f"{'N':>5} {'lines':>7} {'old: log pages':>15} {'old calls':>10} {'rows + 46 curves: log pages':>28} {'calls':>6}")
    for n in (500, 2000):
        old_pages, old_calls, new_pages, new_calls = first_poll(n)
        print(f"{n:>5} {n * 150:>7} {old_pages:>15} {old_calls:>10} {new_pages:>28} {new_calls:>6}")
    print("old: one FilterLogEvents read of every metric line since the tuning job began (10,000 events a "
          "page).\nnew: rows only (no log), then FilterLogEvents per shown job's stream prefix (46 jobs: a "
          "40-row table, the top 5, the selected; the metric definitions come from the rows poll); status and "
          "export read no log at all.")
    print(
        f"hpo-tui: 1 DescribeHyperParameterTuningJob + ceil(N/100) ListTrainingJobsFor... pages + 1 "
        f"FilterLogEvents page (per-stream cursors, no new events) + at most MaxParallel={MAX_PARALLEL} "
        f"DescribeTrainingJob (SecondaryStatus of the running jobs; {RUNNING} run, or all N if fewer);\n"
        "budget = 1 + ceil(N/100) + 1 + MaxParallel. SDK analytics: ceil(N/100) list pages + per job "
        "(DescribeTrainingJob + M GetMetricStatistics) = N x (1 + M); 'no names' = metric_names "
        "left out, which adds a second DescribeTrainingJob per job.\n"
        "ratio = SDK analytics / hpo-tui poll. poll time = one in-process hpo-tui refresh with the "
        "canned responses (includes validating them against the service model)."
    )


if __name__ == "__main__":
    main()
