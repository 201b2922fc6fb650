"""Compare on SageMaker, in the real app and the CLI: two tuning jobs (a child warm-started from
its parent) made on the moto server on 127.0.0.1, their training jobs' log lines in moto's
CloudWatch Logs, and ListTrainingJobsForHyperParameterTuningJob (which moto lacks) answered
locally from validated pages, per tuning job asked."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from hpo_tui.app.app import make_app
from hpo_tui.app.screens.compare import CompareScreen
from hpo_tui.backends.sagemaker import LOG_GROUP, SageMakerBackend
from hpo_tui.cli import main
from hpo_tui.spec import MetricDefinition, TuningSpec, WarmStartSettings, render_request
from tests.compare.jobs import compare_rows, until
from tests.sagemaker.stubs import training_summary

ROLE = "arn:aws:iam::123456789012:role/SageMakerTuning"
METRICS = ("Validation-accuracy", "Train-accuracy")
# (tuning job, its training jobs' learning rates, optimizers and final Validation-accuracy)
JOBS = {
    "sm-parent": [("0.05", "sgd", 0.91), ("0.15", "Adam", 0.11), ("0.1", "sgd", 0.95)],
    "sm-child": [("0.09", "sgd", 0.96), ("0.12", "sgd", 0.97)],
}


def curve(final: float) -> list[float]:
    return [round(final - 0.1 * (2 - e), 4) for e in range(3)]


def summaries(tuning: str) -> list[dict[str, Any]]:
    return [training_summary(tuning, i, objective=final, objective_status="Succeeded",
                             hyperparameters={"learning_rate": lr, "optimizer": f'"{opt}"', "num_epoch": "3"})
            for i, (lr, opt, final) in enumerate(JOBS[tuning])]


def answer_listings(session: Any) -> None:
    """ListTrainingJobsForHyperParameterTuningJob from validated pages, for whichever tuning job
    a call asks about (moto lacks the operation)."""
    from botocore.awsrequest import AWSResponse
    from botocore.validate import validate_parameters

    model = session._session.get_service_model("sagemaker")
    shape = model.operation_model("ListTrainingJobsForHyperParameterTuningJob").output_shape
    pages = {name: {"TrainingJobSummaries": summaries(name)} for name in JOBS}
    for page in pages.values():
        validate_parameters(page, shape)
    event = "ListTrainingJobsForHyperParameterTuningJob"

    def remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["tuning_job"] = params["HyperParameterTuningJobName"]

    def answer(context: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
        return AWSResponse(None, 200, {}, None), pages[context["tuning_job"]]

    session.events.register(f"provide-client-params.sagemaker.{event}", remember)
    session.events.register_first(f"before-call.sagemaker.{event}", answer)


@pytest.fixture
def sagemaker_pair(boto_session: Any, moto_endpoint: str) -> Any:
    sm = boto_session.client("sagemaker")
    for name in JOBS:
        spec = TuningSpec(backend="sagemaker")
        spec.metric_definitions = [MetricDefinition(m, m + r"=([0-9\.]+)") for m in METRICS]
        if name == "sm-child":
            spec.warm_start = WarmStartSettings(parents=["sm-parent"], type="TransferLearning")
        sm.create_hyper_parameter_tuning_job(**render_request(spec, job_name=name, role_arn=ROLE))
    logs = boto_session.client("logs")
    logs.create_log_group(logGroupName=LOG_GROUP)
    for name in JOBS:
        for s, (_, _, final) in zip(summaries(name), JOBS[name]):
            stream = f"{s['TrainingJobName']}/algo-1-1764331200"
            logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
            start = int(s["TrainingStartTime"].timestamp() * 1000)
            events = []
            for e, value in enumerate(curve(final)):
                events.append({"timestamp": start + 60_000 * (e + 1), "message": f"Epoch[{e}] Train-accuracy={value + 0.02:.4f}"})
                events.append({"timestamp": start + 60_000 * (e + 1) + 1, "message": f"Epoch[{e}] Validation-accuracy={value:.4f}"})
            logs.put_log_events(logGroupName=LOG_GROUP, logStreamName=stream, logEvents=events)
    answer_listings(boto_session)
    return SageMakerBackend(boto_session=boto_session)


async def test_dashboard_compares_two_sagemaker_training_jobs_for_every_metric(sagemaker_pair: Any) -> None:
    app = make_app(backend=sagemaker_pair, attach="sm-parent", start="dashboard", interval=3600.0)
    async with app.run_test(size=(140, 45)) as pilot:
        table = app.screen.query_one("#jobs-table", DataTable)
        await until(pilot, lambda: table.row_count == 3, "the training jobs")
        await pilot.press("g", "space", "j", "space", "m")
        await until(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.comparison is not None,
                    "the comparison")
        screen = app.screen
        marked = screen.names
        assert len(list(screen.query(PlotextPlot))) == len(METRICS)
        finals = {s["TrainingJobName"]: JOBS["sm-parent"][i][2] for i, s in enumerate(summaries("sm-parent"))}
        rows = compare_rows(screen)
        assert [float(v) for v in rows["last Validation-accuracy"][1:]] == pytest.approx([finals[j] for j in marked])
        assert [float(v) for v in rows["last Train-accuracy"][1:]] == pytest.approx([finals[j] + 0.02 for j in marked])
        c = screen.comparison
        assert [len(c.curves["Validation-accuracy"][j]) for j in marked] == [3, 3]
        assert rows["learning_rate"][0] == "≠"


async def test_jobs_list_compares_two_sagemaker_tuning_jobs_with_their_lineage(sagemaker_pair: Any) -> None:
    app = make_app(backend=sagemaker_pair, start="jobs", interval=3600.0)
    async with app.run_test(size=(140, 45)) as pilot:
        table = app.screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count == 2, "the tuning jobs")
        assert "disk" not in [str(c.label) for c in table.columns.values()]  # nothing on this machine
        await pilot.press("g", "space", "j", "space", "m")
        await until(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.comparison is not None,
                    "the comparison")
        screen = app.screen
        summary = str(screen.query_one("#compare-summary", Static).render())
        assert "sm-child warm-started from sm-parent (TransferLearning)" in summary
        rows = compare_rows(screen)
        best = {name: max(JOBS[name], key=lambda j: j[2]) for name in JOBS}
        assert [float(v) for v in rows["best objective"][1:]] == pytest.approx([best[n][2] for n in screen.names])
        assert rows["best's learning_rate"][1:] == [best[n][0] for n in screen.names]
        assert rows["best's learning_rate"][0] == "≠"


def test_cli_compares_sagemaker_tuning_jobs_and_training_jobs(sagemaker_pair: Any, cli_session: Any,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", "sm-parent", "sm-child", "--backend", "sagemaker"]) == 0
    out = capsys.readouterr().out
    assert "sm-child warm-started from sm-parent (TransferLearning)" in out
    best = next(line for line in out.splitlines() if line.strip().startswith("best objective")).split()[2:]
    assert best == ["0.9500", "0.9700"]
    a, b = [s["TrainingJobName"] for s in summaries("sm-child")]
    assert main(["compare", a, b, "--backend", "sagemaker"]) == 0
    out = capsys.readouterr().out
    assert "Training jobs of tuning job sm-child (sagemaker)" in out
    section = out.split("Train-accuracy per epoch")[1]
    rows = [r.split() for r in section.strip().splitlines()[1:4]]
    assert [float(v) for r in rows for v in r[1:]] == pytest.approx(
        [v + 0.02 for vs in zip(curve(0.96), curve(0.97)) for v in vs])


def test_delete_on_sagemaker_touches_the_account_only_with_in_account(
        sagemaker_pair: Any, cli_session: Any, capsys: pytest.CaptureFixture[str]) -> None:
    sm = cli_session.client("sagemaker")
    assert main(["delete", "sm-parent", "--backend", "sagemaker", "--yes"]) == 1
    err = capsys.readouterr().err
    assert "never deletes anything in your AWS account" in err and "--in-account" in err
    assert sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="sm-parent")
    assert main(["delete", "sm-parent", "--backend", "sagemaker", "--in-account", "--yes"]) == 0
    assert "Deleted the SageMaker tuning job sm-parent" in capsys.readouterr().out
    names = [j["HyperParameterTuningJobName"]
             for j in sm.list_hyper_parameter_tuning_jobs()["HyperParameterTuningJobSummaries"]]
    assert names == ["sm-child"]


async def test_d_on_the_sagemaker_list_forgets_locally_and_deletes_nothing_in_the_account(
        sagemaker_pair: Any, boto_session: Any) -> None:
    app = make_app(backend=sagemaker_pair, start="jobs", interval=3600.0)
    said: list[str] = []
    notify = app.notify
    app.notify = lambda message, *a, **k: (said.append(str(message)), notify(message, *a, **k))[1]
    async with app.run_test(size=(140, 45)) as pilot:
        table = app.screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count == 2, "the tuning jobs")
        app.watched.add("sm-parent", "sagemaker", "Completed")
        table.move_cursor(row=[str(table.get_row(r.key)[0]) for r in table.ordered_rows].index("sm-parent"))
        await pilot.press("d")
        await until(pilot, lambda: any("never deletes anything in your AWS account" in m for m in said), "the note")
        assert app.watched.get("sm-parent") is None  # forgotten in this session
    names = [j["HyperParameterTuningJobName"] for j in
             boto_session.client("sagemaker").list_hyper_parameter_tuning_jobs()["HyperParameterTuningJobSummaries"]]
    assert sorted(names) == ["sm-child", "sm-parent"]
