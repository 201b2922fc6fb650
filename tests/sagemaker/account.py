"""A simulated AWS account for the pre-flight checks: a role SageMaker may assume, the MNIST
sample data, in the moto server; and Service Quotas pages (moto has no SageMaker quotas)
served through botocore's validation by `answer_on_session`."""

from __future__ import annotations

import json
from typing import Any

import boto3

from tests.sagemaker.conftest import answer_on_session

ACCOUNT = "123456789012"
ROLE_NAME = "SageMakerTuning"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/{ROLE_NAME}"
SAGEMAKER_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
}


def make_role(trust: dict[str, Any] = SAGEMAKER_TRUST, name: str = ROLE_NAME) -> None:
    boto3.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))


def make_sample_data(region: str = "us-east-1") -> None:
    s3 = boto3.client("s3", region_name=region)
    bucket = f"sagemaker-sample-data-{region}"
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    for channel in ("train", "test"):
        s3.put_object(Bucket=bucket, Key=f"mxnet/mnist/{channel}/images.gz", Body=b"x")


def quota(name: str, value: float, code: str) -> dict[str, Any]:
    return {"ServiceCode": "sagemaker", "ServiceName": "Amazon SageMaker", "QuotaCode": code,
            "QuotaArn": f"arn:aws:servicequotas:us-east-1:{ACCOUNT}:sagemaker/{code}",
            "QuotaName": name, "Value": value, "Unit": "None", "Adjustable": True, "GlobalQuota": False}


def quota_pages(instance: float = 4, all_instances: float = 20, tuning: float = 100,
                instance_type: str = "ml.m5.xlarge", spot: float | None = None) -> list[dict[str, Any]]:
    """Two pages, as Service Quotas pages them: the instance quota on the second."""
    first = [quota("Number of instances across all training jobs", all_instances, "L-E7898792"),
             quota("Number of concurrent hyperparameter tuning jobs", tuning, "L-1E4F7A5B")]
    second = [quota(f"{instance_type} for training job usage", instance, "L-2F737F8D")]
    if spot is not None:
        second.append(quota(f"{instance_type} for spot training job usage", spot, "L-3A2C7F55"))
    return [{"Quotas": first, "NextToken": "page-2"}, {"Quotas": second}]


def healthy(session: Any, **quotas: Any) -> list[dict[str, Any]]:
    """Quotas of an account where the reference spec can launch (moto_endpoint made the role
    and the sample data); returns the ListServiceQuotas requests received."""
    return answer_on_session(session, "service-quotas", "ListServiceQuotas", quota_pages(**quotas))
