"""The SageMaker API of the simulated account (sim_account.SimAccount): the operations the
product calls, answered from the account's model through botocore's `before-call` event
after botocore validated the request, each answer validated against the operation's output
shape (as botocore's Stubber does), and throttling injected at random on every service.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from tests.sagemaker.sim_account import SimJob

ACCOUNT = "123456789012"
REGION = "us-east-1"
LOG_GROUP = "/aws/sagemaker/TrainingJobs"
TERMINAL = {"Completed", "Failed", "Stopped"}



def _dt(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, tz=timezone.utc)


class SimError(Exception):
    code = "ValidationException"


class NotFound(SimError):
    code = "ResourceNotFound"


class InUse(SimError):
    code = "ResourceInUse"


class SimValidationError(SimError):
    code = "ValidationException"


def _error(status: int, code: str, message: str) -> Any:
    from botocore.awsrequest import AWSResponse

    return AWSResponse(None, status, {}, None), {
        "Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}


class SimApi:
    """The API half of SimAccount (which provides tunings, clock, rng, lock, create, stop, job)."""

    tunings: dict[str, Any]
    clock: Any
    rng: Any
    lock: Any
    throttle_rate: float
    throttled: int
    calls: list[str]
    created_requests: list[dict[str, Any]]

    def _describe_tuning(self, p: dict[str, Any]) -> dict[str, Any]:
        tuning = self.tunings.get(p["HyperParameterTuningJobName"])
        if tuning is None:
            raise NotFound(f"Amazon SageMaker can't find a tuning job with name {p['HyperParameterTuningJobName']}")
        counts = {"Completed": 0, "InProgress": 0, "RetryableError": 0, "NonRetryableError": 0, "Stopped": 0}
        objective = {"Succeeded": 0, "Pending": 0, "Failed": 0}
        best: SimJob | None = None
        for job in tuning.jobs:
            counts[{"Failed": "NonRetryableError"}.get(job.status, job.status)] += 1
            status = self._objective_status(job)
            objective[status] += 1
            if status == "Succeeded" and (best is None or job.values[-1] > best.values[-1]):
                best = job
        request = tuning.request
        out: dict[str, Any] = {
            "HyperParameterTuningJobName": tuning.name,
            "HyperParameterTuningJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hyper-parameter-tuning-job/{tuning.name}",
            "HyperParameterTuningJobConfig": request["HyperParameterTuningJobConfig"],
            "TrainingJobDefinition": {k: v for k, v in request["TrainingJobDefinition"].items()},
            "HyperParameterTuningJobStatus": tuning.status,
            "CreationTime": _dt(tuning.created),
            "TrainingJobStatusCounters": counts,
            "ObjectiveStatusCounters": objective,
        }
        if tuning.ended is not None:
            out["HyperParameterTuningEndTime"] = _dt(tuning.ended)
        if best is not None:
            out["BestTrainingJob"] = self._summary(best)
        return out

    @staticmethod
    def _objective_status(job: SimJob) -> str:
        if not job.terminal:
            return "Pending"
        return "Succeeded" if job.values else "Failed"

    def _summary(self, job: SimJob) -> dict[str, Any]:
        s: dict[str, Any] = {
            "TrainingJobName": job.name,
            "TrainingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{job.name}",
            "TuningJobName": job.tuning,
            "CreationTime": _dt(job.created),
            "TrainingJobStatus": job.status,
            "TunedHyperParameters": dict(job.hps),
            "ObjectiveStatus": self._objective_status(job),
        }
        if job.started is not None and job.started <= self.clock.now:
            s["TrainingStartTime"] = _dt(job.started)
        if job.ended is not None:
            s["TrainingEndTime"] = _dt(job.ended)
        if job.terminal and job.values:
            s["FinalHyperParameterTuningJobObjectiveMetric"] = {
                "Type": "Maximize", "MetricName": "Validation-accuracy", "Value": job.values[-1]}
        return s

    def _list_jobs(self, p: dict[str, Any]) -> dict[str, Any]:
        tuning = self.tunings.get(p["HyperParameterTuningJobName"])
        if tuning is None:
            raise NotFound(f"Amazon SageMaker can't find a tuning job with name {p['HyperParameterTuningJobName']}")
        jobs = sorted(tuning.jobs, key=lambda j: (j.created, j.name), reverse=p.get("SortOrder") == "Descending")
        start = int(p.get("NextToken") or 0)
        size = int(p.get("MaxResults") or 10)
        out: dict[str, Any] = {"TrainingJobSummaries": [self._summary(j) for j in jobs[start:start + size]]}
        if start + size < len(jobs):
            out["NextToken"] = str(start + size)
        return out

    def job(self, name: str) -> SimJob:
        for tuning in self.tunings.values():
            for job in tuning.jobs:
                if job.name == name:
                    return job
        raise SimValidationError("Requested resource not found.")

    def _describe_job(self, p: dict[str, Any]) -> dict[str, Any]:
        job = self.job(p["TrainingJobName"])
        tuning = self.tunings[job.tuning]
        definition = tuning.request["TrainingJobDefinition"]
        resources = definition.get("HyperParameterTuningResourceConfig") or definition.get("ResourceConfig") or {}
        out: dict[str, Any] = {
            "TrainingJobName": job.name,
            "TrainingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{job.name}",
            "TuningJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hyper-parameter-tuning-job/{tuning.name}",
            "ModelArtifacts": {"S3ModelArtifacts": f"s3://sagemaker-{REGION}-{ACCOUNT}/{job.name}/output/model.tar.gz"},
            "TrainingJobStatus": job.status,
            "SecondaryStatus": job.secondary,
            "AlgorithmSpecification": {"TrainingInputMode": "File",
                                       "TrainingImage": definition["AlgorithmSpecification"]["TrainingImage"]},
            "ResourceConfig": {"InstanceType": resources.get("InstanceType", "ml.m5.xlarge"),
                               "InstanceCount": int(resources.get("InstanceCount", 1)), "VolumeSizeInGB": 30},
            "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
            "CreationTime": _dt(job.created),
            "EnableManagedSpotTraining": job.spot,
        }
        if job.started is not None and job.started <= self.clock.now:
            out["TrainingStartTime"] = _dt(job.started)
        if job.ended is not None:
            out["TrainingEndTime"] = _dt(job.ended)
            out["TrainingTimeInSeconds"] = int(round(job.ended - job.started)) if job.started else 0
            if job.spot and job.billable() is not None:
                out["BillableTimeInSeconds"] = job.billable()
        return out

    def _api_stop(self, p: dict[str, Any]) -> dict[str, Any]:
        name = p["HyperParameterTuningJobName"]
        if name not in self.tunings:
            raise NotFound(f"Amazon SageMaker can't find a tuning job with name {name}")
        self.stop(name)
        return {}

    def _create(self, p: dict[str, Any]) -> dict[str, Any]:
        import copy

        name = p["HyperParameterTuningJobName"]
        if name in self.tunings:
            raise InUse(f"Hyperparameter tuning job {name} already exists")
        self.created_requests.append(copy.deepcopy(p))
        self.create(p)
        return {"HyperParameterTuningJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:hyper-parameter-tuning-job/{name}"}

    def _list_all_jobs(self, p: dict[str, Any]) -> dict[str, Any]:
        """ListTrainingJobs (the pre-flight counts the running ones): one page, newest first."""
        jobs = [j for t in self.tunings.values() for j in t.jobs
                if not p.get("StatusEquals") or j.status == p["StatusEquals"]]
        jobs.sort(key=lambda j: j.created, reverse=True)
        summaries = []
        for j in jobs[: int(p.get("MaxResults") or 10)]:
            s = {k: v for k, v in self._summary(j).items()
                 if k in ("TrainingJobName", "TrainingJobArn", "CreationTime", "TrainingEndTime", "TrainingJobStatus")}
            summaries.append(s)
        return {"TrainingJobSummaries": summaries}

    def _list_tunings(self, p: dict[str, Any]) -> dict[str, Any]:
        out = []
        for t in sorted(self.tunings.values(), key=lambda t: t.created, reverse=True):
            if p.get("StatusEquals") and t.status != p["StatusEquals"]:
                continue
            d = self._describe_tuning({"HyperParameterTuningJobName": t.name})
            out.append({k: d[k] for k in ("HyperParameterTuningJobName", "HyperParameterTuningJobArn",
                                           "HyperParameterTuningJobStatus", "CreationTime",
                                           "TrainingJobStatusCounters", "ObjectiveStatusCounters")}
                       | {"Strategy": d["HyperParameterTuningJobConfig"]["Strategy"],
                          "ResourceLimits": d["HyperParameterTuningJobConfig"]["ResourceLimits"]})
        return {"HyperParameterTuningJobSummaries": out}

    def _quotas(self, p: dict[str, Any]) -> dict[str, Any]:
        """Service Quotas of an account with room for every simulated launch (two pages)."""
        from tests.sagemaker.account import quota_pages

        first, second = quota_pages(instance=50, all_instances=100, tuning=100, spot=50)
        return second if p.get("NextToken") else first

    def handlers(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        return {
            "DescribeHyperParameterTuningJob": self._describe_tuning,
            "ListTrainingJobsForHyperParameterTuningJob": self._list_jobs,
            "DescribeTrainingJob": self._describe_job,
            "StopHyperParameterTuningJob": self._api_stop,
            "CreateHyperParameterTuningJob": self._create,
            "ListHyperParameterTuningJobs": self._list_tunings,
            "ListTrainingJobs": self._list_all_jobs,
        }

    # ------------------------------------------------------------------ botocore wiring

    def install(self, session: Any) -> None:
        """Answer SageMaker on every client the boto3 `session` makes from now on (the
        product's own), and inject throttling into every service's calls."""
        from botocore.awsrequest import AWSResponse
        from botocore.validate import validate_parameters

        handlers = self.handlers()

        def remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            context["sim_params"] = dict(params)  # validated by botocore before before-call

        def answer(model: Any, context: dict[str, Any], **_: Any) -> Any:
            name = model.name
            self.calls.append(name)
            if self.throttle_rate and self.rng.random() < self.throttle_rate:
                self.throttled += 1
                return _error(400, "ThrottlingException", "Rate exceeded")
            service = model.service_model.service_name
            if service == "service-quotas" and name in ("ListServiceQuotas", "ListAWSDefaultServiceQuotas"):
                handler = self._quotas  # moto has no SageMaker quotas
            elif service != "sagemaker":
                return None  # moto answers (logs, s3, sts, iam)
            else:
                handler = handlers.get(name)
            assert handler is not None, f"the simulated account has no {name}"
            try:
                with self.lock:
                    response = handler(context.get("sim_params", {}))
            except SimError as exc:
                return _error(400, exc.code, str(exc))
            if model.output_shape is not None:
                validate_parameters(response, model.output_shape)  # as Stubber checks its answers
            else:
                assert response == {}
            return AWSResponse(None, 200, {}, None), {**response, "ResponseMetadata": {"HTTPStatusCode": 200}}

        session.events.register("before-parameter-build", remember)
        session.events.register_first("before-call", answer)
        self._installed = (session, remember, answer)

    def uninstall(self) -> None:
        """Stop answering for the session install() was given (it can serve another account)."""
        session, remember, answer = self._installed
        session.events.unregister("before-parameter-build", remember)
        session.events.unregister("before-call", answer)


