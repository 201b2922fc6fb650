"""Attach anything: tuning jobs hpo-tui did not launch (the reference notebook's, a job with two
training job definitions, an XGBoost built-in job), served by botocore's Stubber from the
hand-written fixtures in tests/sagemaker/fixtures.py; what `status` prints and what the
dashboard (`hpo-tui attach`) shows for them."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from hpo_tui.report import render_status
from tests.sagemaker import fixtures as fx
from tests.sagemaker.stubs import log_event


def serve(sm: Stubber, desc: dict[str, Any], summaries: list[dict[str, Any]]) -> None:
    sm.add_response("describe_hyper_parameter_tuning_job", desc,
                    {"HyperParameterTuningJobName": desc["HyperParameterTuningJobName"]})
    sm.add_response("list_training_jobs_for_hyper_parameter_tuning_job", {"TrainingJobSummaries": summaries},
                    {"HyperParameterTuningJobName": desc["HyperParameterTuningJobName"], "MaxResults": 100,
                     "SortBy": "CreationTime", "SortOrder": "Ascending"})


def _ms(summary: dict[str, Any], seconds: int) -> int:
    return int(summary["TrainingStartTime"].timestamp() * 1000) + seconds * 1000


def reference_events() -> list[dict[str, Any]]:
    return [
        log_event(f"{s['TrainingJobName']}/algo-1-1764331200", n,
                  f"Epoch[{e}] Validation-accuracy={s['FinalHyperParameterTuningJobObjectiveMetric']['Value'] - 0.01 * (1 - e):.4f}",
                  _ms(s, 60 * (e + 1)))
        for n, (s, e) in enumerate((s, e) for s in fx.REFERENCE_SUMMARIES for e in (0, 1))
    ]


def serve_reference_attach(sm: Stubber, logs: Stubber) -> None:
    """An attach: the rows-only first poll reads no log; then the dashboard reads the curves of
    the jobs it shows, one query per job's own streams (any order: each answer carries every
    job's lines, and a job's read keeps its own)."""
    serve(sm, fx.REFERENCE, fx.REFERENCE_SUMMARIES)
    for _ in fx.REFERENCE_SUMMARIES:
        logs.add_response("filter_log_events", {"events": reference_events()}, None)


def serve_reference(sm: Stubber, logs: Stubber) -> None:
    serve(sm, fx.REFERENCE, fx.REFERENCE_SUMMARIES)
    events = reference_events()
    logs.add_response("filter_log_events", {"events": events}, {
        "logGroupName": "/aws/sagemaker/TrainingJobs", "logStreamNamePrefix": fx.REFERENCE_NAME,
        "startTime": int(fx.REFERENCE_SUMMARIES[0]["CreationTime"].timestamp() * 1000),
        "filterPattern": '?"Validation-accuracy"'})


def test_reference_notebooks_job_shows_its_objective_ranges_and_best_job(stubbed: Any) -> None:
    backend, sm, logs = stubbed
    serve_reference(sm, logs)
    snap = backend.poll(fx.REFERENCE_NAME)
    t = snap.tuning_job
    assert (t.objective_name, t.objective_type, t.strategy) == ("Validation-accuracy", "Maximize", "Bayesian")
    assert set(t.tuned_parameters) == {"optimizer", "learning_rate", "num_epoch"}  # the SDK's statics are not tuned
    assert (t.best_training_job, t.best_objective) == (fx.REFERENCE_SUMMARIES[2]["TrainingJobName"], 0.9856)
    assert (t.max_jobs, t.max_parallel_jobs, t.max_epochs) == (9, 3, 50)
    assert len(snap.new_points) == 6 and {p.epoch for p in snap.new_points} == {0, 1}
    jobs = {j.name: j for j in snap.training_jobs}
    assert jobs[fx.REFERENCE_SUMMARIES[0]["TrainingJobName"]].hyperparameters == {
        "optimizer": "sgd", "learning_rate": "0.1183", "num_epoch": "32"}
    assert all(not j.objective_from_log for j in snap.training_jobs)
    # 10 minutes each on one instance: billed from TrainingStartTime to TrainingEndTime.
    assert all(j.billable_seconds == 600 for j in snap.training_jobs)
    text = render_status(snap)
    assert "Bayesian, Maximize Validation-accuracy, max 9 jobs, 3 in parallel" in text
    assert f"best job     {fx.REFERENCE_SUMMARIES[2]['TrainingJobName']} (Validation-accuracy=0.9856)" in text
    assert "*" + fx.REFERENCE_SUMMARIES[2]["TrainingJobName"] in text
    assert "billed 30m00s over 3 training jobs, 0.50 instance-hours" in text
    assert "https://console.aws.amazon.com/sagemaker/home?region=us-east-1#/hyper-tuning-jobs/" in text


def test_two_definition_job_reads_each_definitions_ranges_and_regexes(stubbed: Any) -> None:
    backend, sm, logs = stubbed
    serve(sm, fx.TWO_DEFINITIONS, fx.TWO_SUMMARIES)
    mlp, cnn, running = (s["TrainingJobName"] for s in fx.TWO_SUMMARIES)
    events = [
        log_event(f"{mlp}/algo-1-1764331200", 1, "Epoch[0] Validation-accuracy=0.9400", _ms(fx.TWO_SUMMARIES[0], 60)),
        # The mlp regex does not apply to the cnn definition's log, and the other way round.
        log_event(f"{mlp}/algo-1-1764331200", 2, "Epoch[1] val_acc: 0.1111", _ms(fx.TWO_SUMMARIES[0], 120)),
        log_event(f"{cnn}/algo-1-1764331200", 3, "Epoch[0] val_acc: 0.9700", _ms(fx.TWO_SUMMARIES[1], 60)),
        log_event(f"{cnn}/algo-1-1764331200", 4, "Epoch[1] Validation-accuracy=0.2222", _ms(fx.TWO_SUMMARIES[1], 120)),
        log_event(f"{running}/algo-1-1764331200", 5, "Epoch[0] val_acc: 0.9600", _ms(fx.TWO_SUMMARIES[2], 60)),
    ]
    logs.add_response("filter_log_events", {"events": events}, {
        "logGroupName": "/aws/sagemaker/TrainingJobs", "logStreamNamePrefix": fx.TWO_NAME,
        "startTime": ANY, "filterPattern": '?"Validation-accuracy" ?"val_acc"'})
    running_desc = {
        "TrainingJobName": running, "TrainingJobArn": fx.TWO_SUMMARIES[2]["TrainingJobArn"],
        "ModelArtifacts": {"S3ModelArtifacts": ""}, "TrainingJobStatus": "InProgress", "SecondaryStatus": "Training",
        "AlgorithmSpecification": {"TrainingImage": fx.MXNET_IMAGE, "TrainingInputMode": "File"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600}, "CreationTime": fx.TWO_SUMMARIES[2]["CreationTime"],
    }
    sm.add_response("describe_training_job", running_desc, {"TrainingJobName": running})

    snap = backend.poll(fx.TWO_NAME)
    t = snap.tuning_job
    assert t.objective_name == "Validation-accuracy" and t.objective_type == "Maximize"  # was '' with no ranges
    assert set(t.tuned_parameters) == {"learning_rate", "optimizer", "num_filters"}
    assert t.best_training_job == cnn and t.best_objective == pytest.approx(0.987)
    assert (t.overall_best_training_job, t.overall_best_objective) == ("parent-hpo-004-0badc0de", 0.991)
    assert t.consumed_seconds == 1830
    points = sorted((p.job, p.epoch, p.value) for p in snap.new_points)
    assert points == [(mlp, 0, 0.94), (cnn, 0, 0.97), (running, 0, 0.96)]
    jobs = {j.name: j for j in snap.training_jobs}
    assert (jobs[running].definition_name, jobs[running].secondary_status) == ("cnn", "Training")
    assert jobs[running].final_objective == pytest.approx(0.96) and jobs[running].objective_from_log
    assert jobs[cnn].instance_hours == pytest.approx(2 * 600 / 3600)  # the cnn definition runs 2 instances
    text = render_status(snap)
    assert "overall best parent-hpo-004-0badc0de (Validation-accuracy=0.991), warm start parents included" in text
    assert "SageMaker counts 30m30s of runtime" in text
    assert "InProgress (Training)" in text and "0.96 (log)" in text


def test_xgboost_builtin_uses_final_metric_data_list_and_reads_no_log(stubbed: Any) -> None:
    backend, sm, logs = stubbed  # no logs response: any log read fails the test
    serve(sm, fx.XGBOOST, fx.XGB_SUMMARIES)
    for s, billable in zip(fx.XGB_SUMMARIES, (240, 180)):
        sm.add_response("describe_training_job", fx.xgboost_training_job(s, billable),
                        {"TrainingJobName": s["TrainingJobName"]})
    snap = backend.poll(fx.XGB_NAME)
    # A second poll asks DescribeTrainingJob nothing more: the final metrics are known.
    serve(sm, fx.XGBOOST, fx.XGB_SUMMARIES)
    again = backend.poll(fx.XGB_NAME, snap.cursor)

    t = snap.tuning_job
    assert (t.objective_name, t.objective_type, t.strategy) == ("validation:auc", "Maximize", "Random")
    assert set(t.tuned_parameters) == {"eta", "max_depth"}
    assert (t.best_training_job, t.best_objective) == (fx.XGB_SUMMARIES[1]["TrainingJobName"], 0.9455)
    assert sorted((p.job[-12:], p.metric, round(p.value, 4)) for p in snap.new_points) == sorted(
        (s["TrainingJobName"][-12:], m, round(v, 4))
        for s in fx.XGB_SUMMARIES
        for m, v in (("validation:auc", s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]),
                     ("train:auc", s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] + 0.02)))
    assert again.new_points == ()
    jobs = {j.name: j for j in snap.training_jobs}
    first = jobs[fx.XGB_SUMMARIES[0]["TrainingJobName"]]
    assert first.best_objective == first.final_objective == 0.9312 and not first.objective_from_log
    # Managed spot: billed BillableTimeInSeconds, not the 600 s of training.
    assert [j.billable_seconds for j in snap.training_jobs] == [240, 180]
    text = render_status(snap)
    assert "billed 7m00s over 2 training jobs, 0.12 instance-hours (of 20m00s training: spot saved 65%)" in text
    assert "BILLED" in text and "4m00s" in text and "0.067" in text  # per job: 240 s on one instance
    from hpo_tui.report import export_rows

    columns, rows = export_rows(snap)
    assert "billable_seconds" in columns and [r["billable_seconds"] for r in rows] == [240, 180]


def _running_description(summary: dict[str, Any], secondary: str) -> dict[str, Any]:
    return {
        "TrainingJobName": summary["TrainingJobName"], "TrainingJobArn": summary["TrainingJobArn"],
        "ModelArtifacts": {"S3ModelArtifacts": ""}, "TrainingJobStatus": "InProgress", "SecondaryStatus": secondary,
        "AlgorithmSpecification": {"TrainingImage": fx.MXNET_IMAGE, "TrainingInputMode": "File"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600}, "CreationTime": summary["CreationTime"],
    }


def _serve_for_attach(which: str, sm: Stubber, logs: Stubber) -> tuple[str, str, str]:
    """Queue one poll of a fixture job; (name, objective header, best job)."""
    if which == "reference":
        serve_reference_attach(sm, logs)
        return fx.REFERENCE_NAME, "best Validation-accuracy (Maximize)", fx.REFERENCE_SUMMARIES[2]["TrainingJobName"]
    if which == "two definitions":
        serve(sm, fx.TWO_DEFINITIONS, fx.TWO_SUMMARIES)
        for _ in fx.TWO_SUMMARIES:  # the curves of the jobs shown, one log query each
            logs.add_response("filter_log_events", {"events": []}, None)
        sm.add_response("describe_training_job", _running_description(fx.TWO_SUMMARIES[2], "Downloading"), None)
        return fx.TWO_NAME, "best Validation-accuracy (Maximize)", fx.TWO_SUMMARIES[1]["TrainingJobName"]
    serve(sm, fx.XGBOOST, fx.XGB_SUMMARIES)
    for s, billable in zip(fx.XGB_SUMMARIES, (240, 180)):
        sm.add_response("describe_training_job", fx.xgboost_training_job(s, billable), None)
    return fx.XGB_NAME, "best validation:auc (Maximize)", fx.XGB_SUMMARIES[1]["TrainingJobName"]


@pytest.mark.parametrize("which", ["reference", "two definitions", "xgboost"])
async def test_attach_dashboard_shows_objective_best_job_and_cost_of_the_fixture_jobs(stubbed: Any, which: str) -> None:
    from textual.widgets import DataTable, Static

    from hpo_tui.app.app import make_app

    backend, sm, logs = stubbed
    name, objective, best_job = _serve_for_attach(which, sm, logs)
    app = make_app(backend=backend, attach=name, start="dashboard", interval=3600.0)
    async with app.run_test(size=(160, 50)) as pilot:
        for _ in range(400):  # generous: the machine may be loaded
            await pilot.pause(0.05)
            best = str(app.screen.query_one("#dash-best", Static).render())
            if best_job in best:
                break
        assert objective in best and best_job in best
        # The curves of every job shown are read (after the rows), before the stubs close.
        names = {j.name for j in app.screen.snapshot.training_jobs}
        for _ in range(400):
            if names <= app.screen._curves_loaded:
                break
            await pilot.pause(0.05)
        assert names <= app.screen._curves_loaded
        if which == "reference":  # the curves of the jobs shown, read per job after the rows
            for _ in range(400):
                if all(len(app.screen.history.curve(s["TrainingJobName"], "Validation-accuracy")) == 2
                       for s in fx.REFERENCE_SUMMARIES):
                    break
                await pilot.pause(0.05)
            assert [len(app.screen.history.curve(s["TrainingJobName"], "Validation-accuracy"))
                    for s in fx.REFERENCE_SUMMARIES] == [2, 2, 2]
        counters = str(app.screen.query_one("#dash-counters", Static).render())
        assert "instance-hours" in counters
        table = app.screen.query_one("#jobs-table", DataTable)
        assert table.row_count == len(app.screen.snapshot.training_jobs)
