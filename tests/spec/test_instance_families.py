"""Every training instance type botocore knows is either refused by `validate` (with why and
what to pick) or gets an MXNet 1.9 training image from the SageMaker SDK: a spec `validate`
accepts is one `launch` can run."""

from __future__ import annotations

import os

import pytest

from hpo_tui.spec import TuningSpec, render_request, validate
from hpo_tui.spec.limits import instance_family, training_instance_types

from .conftest import variant

TYPES = sorted(training_instance_types() or ())
pytestmark = pytest.mark.usefixtures("sdk_endpoints_read_once")


def issues_for(instance_type: str) -> list[str]:
    spec = variant(lambda s: setattr(s.estimator, "instance_type", instance_type))
    return [str(i) for i in validate(spec)]


def test_the_enum_is_read() -> None:
    assert len(TYPES) > 100 and "ml.trn1.2xlarge" in TYPES and "ml.p5.48xlarge" in TYPES


@pytest.mark.parametrize("instance_type", ["ml.trn1.2xlarge", "ml.trn1n.32xlarge", "ml.trn2.48xlarge"])
def test_trainium_is_refused_naming_the_field_and_what_to_pick(instance_type: str) -> None:
    (text,) = issues_for(instance_type)
    assert text.startswith("estimator.instance_type: ")
    assert "Trainium" in text and "ml.g5.xlarge" in text and "ml.m5.xlarge" in text


@pytest.mark.parametrize("instance_type", ["ml.p5.48xlarge", "ml.g6.xlarge", "ml.g6e.xlarge",
                                           "ml.p6-b200.48xlarge", "ml.p6e-gb200.36xlarge"])
def test_gpus_newer_than_the_images_cuda_are_refused(instance_type: str) -> None:
    if instance_type not in TYPES:
        pytest.skip(f"{instance_type} is not in this botocore's enum")
    (text,) = issues_for(instance_type)
    assert "CUDA 11.2" in text or "x86-64" in text


def test_every_accepted_type_gets_an_image_from_the_sdk_and_every_refused_one_is_explained() -> None:
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    from sagemaker import image_uris

    accepted: set[str] = set()
    refused: set[str] = set()
    for instance_type in TYPES:
        problems = issues_for(instance_type)
        if problems:
            refused.add(instance_family(instance_type))
            assert all("pick" in p for p in problems), problems
            continue
        accepted.add(instance_family(instance_type))
        uri = image_uris.retrieve("mxnet", region="us-east-1", version="1.9.0", py_version="py38",
                                  instance_type=instance_type, image_scope="training")
        spec = variant(lambda s: setattr(s.estimator, "instance_type", instance_type))
        spec.sagemaker.role_arn = "arn:aws:iam::123456789012:role/R"
        # The request hpo-tui previews names the same image the SDK picks.
        assert render_request(spec, region="us-east-1")["TrainingJobDefinition"]["AlgorithmSpecification"]["TrainingImage"] == uri
    assert {"trn1", "trn1n", "p5", "g6"} <= refused
    assert {"m5", "c5", "p3", "g4dn", "g5"} <= accepted
