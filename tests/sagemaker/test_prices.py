"""Prices per instance type, given once and kept in settings.toml: any later attach shows
dollars, and a tuning job whose definitions run different instance types is priced per job."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from hpo_tui.backends.sagemaker import SageMakerBackend
from hpo_tui.prices import load_prices, remember_price
from hpo_tui.report import cost_text
from tests.sagemaker import fixtures as fx
from tests.sagemaker.account import quota_pages
from tests.sagemaker.conftest import answer_locally, answer_on_session, make_spec
from tests.sagemaker.stubs import training_summary


def test_the_spec_price_is_kept_for_its_instance_type_and_a_later_attach_shows_dollars(
    boto_session: Any, moto_endpoint: str, source_dir: Path
) -> None:
    answer_on_session(boto_session, "service-quotas", "ListServiceQuotas", quota_pages())
    spec = make_spec(source_dir, "hpo-priced")
    spec.sagemaker.price_per_hour = 0.23
    SageMakerBackend(boto_session=boto_session).launch(spec)
    assert load_prices() == {"ml.m5.xlarge": 0.23}

    later = SageMakerBackend(boto_session=boto_session)  # another session: `hpo-tui attach` tomorrow
    answer_locally(later.client("sagemaker"), "list_training_jobs_for_hyper_parameter_tuning_job",
                   [{"TrainingJobSummaries": [training_summary("hpo-priced", i, objective=0.9) for i in range(2)]}])
    snap = later.poll("hpo-priced", points=False)
    assert snap.tuning_job.price_per_hour == 0.23
    # 2 jobs x 540 s on one ml.m5.xlarge = 0.30 instance-hours, at $0.23.
    assert "0.30 instance-hours, about $0.07 at $0.23/instance-hour" in cost_text(snap)


def test_definitions_of_different_instance_types_are_priced_each_at_its_own(stubbed: Any) -> None:
    backend, sm, _ = stubbed
    desc = copy.deepcopy(fx.TWO_DEFINITIONS)
    cnn = next(d for d in desc["TrainingJobDefinitions"] if d["DefinitionName"] == "cnn")
    cnn["ResourceConfig"]["InstanceType"] = "ml.g5.xlarge"
    remember_price("ml.m5.xlarge", 0.23)
    remember_price("ml.g5.xlarge", 1.41)
    sm.add_response("describe_hyper_parameter_tuning_job", desc, {"HyperParameterTuningJobName": fx.TWO_NAME})
    sm.add_response("list_training_jobs_for_hyper_parameter_tuning_job", {"TrainingJobSummaries": fx.TWO_SUMMARIES},
                    None)
    running = fx.TWO_SUMMARIES[2]
    sm.add_response("describe_training_job", {
        "TrainingJobName": running["TrainingJobName"], "TrainingJobArn": running["TrainingJobArn"],
        "ModelArtifacts": {"S3ModelArtifacts": ""}, "TrainingJobStatus": "InProgress", "SecondaryStatus": "Training",
        "AlgorithmSpecification": {"TrainingImage": fx.MXNET_IMAGE, "TrainingInputMode": "File"},
        "ResourceConfig": {"InstanceType": "ml.g5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600}, "CreationTime": running["CreationTime"],
    }, None)
    snap = backend.poll(fx.TWO_NAME, points=False)
    kinds = {"mlp": 0.23, "cnn": 1.41}
    dollars = sum(j.instance_hours * kinds[j.definition_name] for j in snap.training_jobs if j.instance_hours)
    hours = sum(j.instance_hours for j in snap.training_jobs if j.instance_hours)
    assert {j.definition_name for j in snap.training_jobs} == {"mlp", "cnn"}
    assert snap.tuning_job.price_per_hour == pytest.approx(dollars / hours)
    assert f"about ${dollars:,.2f}" in cost_text(snap)


def test_a_type_without_a_price_shows_no_dollars(stubbed: Any) -> None:
    backend, sm, _ = stubbed
    remember_price("ml.g5.xlarge", 1.41)  # but the reference job runs ml.m5.xlarge
    sm.add_response("describe_hyper_parameter_tuning_job", fx.REFERENCE, {"HyperParameterTuningJobName": fx.REFERENCE_NAME})
    sm.add_response("list_training_jobs_for_hyper_parameter_tuning_job",
                    {"TrainingJobSummaries": fx.REFERENCE_SUMMARIES}, None)
    snap = backend.poll(fx.REFERENCE_NAME, points=False)
    assert snap.tuning_job.price_per_hour is None and "$" not in (cost_text(snap) or "")


def test_the_tuis_settings_keep_the_prices(tmp_path: Path) -> None:
    from hpo_tui.app import settings

    remember_price("ml.m5.xlarge", 0.23)
    settings.update(print, theme="nord")
    assert load_prices() == {"ml.m5.xlarge": 0.23}
    assert settings.load(print).theme == "nord"


def test_a_price_given_to_status_once_is_kept_for_the_instance_type(
    cli_session: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """`status --price-per-hour` on a tuning job launched elsewhere: kept for its instance type,
    so the next `status` (without the option) shows dollars."""
    from hpo_tui.cli import main

    answer_on_session(cli_session, "sagemaker", "DescribeHyperParameterTuningJob", [fx.REFERENCE] * 2)
    answer_on_session(cli_session, "sagemaker", "ListTrainingJobsForHyperParameterTuningJob",
                      [{"TrainingJobSummaries": fx.REFERENCE_SUMMARIES}] * 2)
    assert main(["status", fx.REFERENCE_NAME, "--backend", "sagemaker", "--price-per-hour", "0.23"]) == 0
    first = capsys.readouterr()
    assert "kept $0.23/instance-hour for ml.m4.xlarge" in first.err  # the reference job's type
    assert load_prices() == {"ml.m4.xlarge": 0.23}
    assert main(["status", fx.REFERENCE_NAME, "--backend", "sagemaker"]) == 0
    assert "at $0.23/instance-hour" in capsys.readouterr().out
