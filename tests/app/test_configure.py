"""Pilot tests of the configure screen, in the app users run (make_app)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from textual.command import CommandList
from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Footer, Input, Select, Static
from textual.widgets._footer import FooterKey

from hpo_tui.app.app import make_app
from hpo_tui.app.screens.configure import SELECTS, ConfigureScreen
from hpo_tui.app.screens.dialogs import ErrorDialog
from hpo_tui.app.screens.range_editor import KINDS, RangeEditor
from hpo_tui.app.screens.spec_dialogs import RequestPreview, SpecFileDialog
from hpo_tui.backends.base import BackendError
from hpo_tui.spec import ContinuousParameter, TuningSpec, load_spec

SIZE = (120, 40)


class RefusingBackend:
    """A Backend whose launch records the spec it was given, then fails as AWS would."""

    name = "local"

    def __init__(self) -> None:
        self.launched: list[TuningSpec] = []
        # The launch call blocks until the test opens the gate, as a slow AWS call would.
        self.gate = threading.Event()

    def launch(self, spec: TuningSpec) -> str:
        self.launched.append(spec)
        self.gate.wait(30)
        raise BackendError("The security token included in the request is invalid. Check your credentials.")

    def list_tuning_jobs(self) -> list[Any]:
        return []

    def poll(self, name: str, cursor: Any = None) -> Any:
        raise BackendError("no such tuning job")

    def log_tail(self, job: str, cursor: Any = None) -> Any:
        raise BackendError("no such job")

    def stop(self, name: str) -> None:
        return None


@pytest.fixture(autouse=True)
def _no_role_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # validate() accepts a role from SAGEMAKER_ROLE_ARN; these tests need it unset.
    monkeypatch.delenv("SAGEMAKER_ROLE_ARN", raising=False)


def screen_of(pilot: Pilot) -> ConfigureScreen:
    screen = pilot.app.screen
    assert isinstance(screen, ConfigureScreen), f"expected the configure screen, got {screen!r}"
    return screen


def shown(widget: Any) -> bool:
    """Displayed, with every container above it displayed too."""
    return all(getattr(node, "display", True) for node in widget.ancestors_with_self)


def cell_texts(table: DataTable, key: str) -> list[str]:
    return [str(cell) for cell in table.get_row(key)]


def error_text(screen: ConfigureScreen, label_id: str) -> str:
    label = screen.query_one(f"#{label_id}", Static)
    return str(label.render()) if label.display else ""


async def type_into(pilot: Pilot, selector: str, text: str, *, keys: bool = False) -> None:
    """Focus a field, clear it and enter ``text``: pasted (one change), or key by key."""
    widget = pilot.app.screen.query_one(selector, Input)
    widget.focus()
    widget.clear()
    if keys:
        await pilot.press(*text)
    else:
        widget.insert_text_at_cursor(text)
    await pilot.pause()


def choices_of(selector: str) -> tuple[str, ...]:
    """The options of a Select of the configure screen or the range editor, in screen order."""
    if selector == "#range-type":
        return KINDS
    return SELECTS[selector.lstrip("#")][2]


async def choose(pilot: Pilot, selector: str, value: str) -> None:
    """Open a Select and pick ``value`` with the keyboard."""
    select = pilot.app.screen.query_one(selector, Select)
    options = list(choices_of(selector))
    select.focus()
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()
    current = options.index(select.value)
    target = options.index(value)
    key = "down" if target > current else "up"
    for _ in range(abs(target - current)):
        await pilot.press(key)
    await pilot.press("enter")
    await pilot.pause()
    assert select.value == value


async def edit_range(pilot: Pilot, name: str, **fields: str) -> RangeEditor:
    """Open the RangeEditor on ``name`` (enter on its row) and type new field values."""
    table = pilot.app.screen.query_one("#ranges-table", DataTable)
    table.focus()
    table.move_cursor(row=table.get_row_index(name))
    await pilot.press("enter")
    await pilot.pause()
    editor = pilot.app.screen
    assert isinstance(editor, RangeEditor)
    for field, value in fields.items():
        await type_into(pilot, f"#range-{field}", value)
    return editor


async def test_defaults_are_the_reference_workflow() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(pilot)
        ranges = screen.query_one("#ranges-table", DataTable)
        assert [k.value for k in ranges.rows] == ["optimizer", "learning_rate", "num_epoch"]
        assert cell_texts(ranges, "optimizer")[:3] == ["optimizer", "categorical", "sgd, Adam"]
        assert cell_texts(ranges, "learning_rate")[:4] == ["learning_rate", "continuous", "0.01 … 0.2", "Auto"]
        assert cell_texts(ranges, "num_epoch")[:3] == ["num_epoch", "integer", "10 … 50"]
        static = screen.query_one("#static-table", DataTable)
        assert cell_texts(static, "batch_size") == ["batch_size", "100"]
        assert screen.query_one("#max-jobs", Input).value == "9"
        assert screen.query_one("#max-parallel-jobs", Input).value == "3"
        assert screen.query_one("#entry-point", Input).value == "mnist.py"
        assert screen.query_one("#objective-name", Input).value == "Validation-accuracy"
        assert screen.query_one("#strategy", Select).value == "Bayesian"
        assert screen.query_one("#backend", Select).value == "local"
        assert screen.query_one("#launch", Button).disabled is False
        assert str(screen.query_one("#problem-count", Static).render()) == "ready to launch"
        assert not screen.query_one("#sagemaker-fields").display
        assert screen.query_one("#local-fields").display
        assert screen.current_spec() == TuningSpec()


async def test_edit_range_in_the_modal_updates_table_and_spec() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        editor = await edit_range(pilot, "learning_rate", max="0.3")
        assert editor.query_one("#range-min", Input).value == "0.01"
        await pilot.click("#range-ok")
        await pilot.pause()
        screen = screen_of(pilot)
        table = screen.query_one("#ranges-table", DataTable)
        assert cell_texts(table, "learning_rate")[2] == "0.01 … 0.3"
        assert screen.current_spec().ranges["learning_rate"] == ContinuousParameter(0.01, 0.3)
        assert screen.query_one("#launch", Button).disabled is False


async def test_range_type_changes_the_modal_fields() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        await pilot.pause()
        editor = pilot.app.screen
        assert isinstance(editor, RangeEditor)
        assert shown(editor.query_one("#range-min")) and not shown(editor.query_one("#range-values"))
        await type_into(pilot, "#range-name", "batch_norm")
        await choose(pilot, "#range-type", "categorical")
        assert not shown(editor.query_one("#range-min", Input))
        assert shown(editor.query_one("#range-values", Input))
        assert editor.query_one("#range-ok", Button).disabled  # no values yet
        await type_into(pilot, "#range-values", "on, off")
        await pilot.press("enter")
        await pilot.pause()
        screen = screen_of(pilot)
        assert cell_texts(screen.query_one("#ranges-table", DataTable), "batch_norm")[:3] == [
            "batch_norm", "categorical", "on, off"]
        assert screen.current_spec().ranges["batch_norm"].values == ["on", "off"]
        # d deletes the selected range (the new row is selected).
        screen.query_one("#ranges-table").focus()
        await pilot.press("d")
        await pilot.pause()
        assert list(screen.current_spec().ranges) == ["optimizer", "learning_rate", "num_epoch"]


async def test_min_above_max_is_refused_on_enter_with_the_message_at_the_field() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        editor = await edit_range(pilot, "learning_rate")
        await type_into(pilot, "#range-min", "0.5", keys=True)
        assert "min: 0.5 must be less than max 0.2" in str(editor.query_one("#range-errors", Static).render())
        assert editor.query_one("#range-min", Input).has_class("-invalid")
        await pilot.press("enter")
        await pilot.pause()
        assert pilot.app.screen is editor  # refused: still editing, the message still there
        assert editor.query_one("#range-ok", Button).disabled
        await type_into(pilot, "#range-min", "0.05", keys=True)
        assert not editor.query_one("#range-min", Input).has_class("-invalid")
        await pilot.press("enter")
        await pilot.pause()
        screen = screen_of(pilot)
        assert not screen.query_one("#launch", Button).disabled
        assert str(screen.query_one("#problem-count", Static).render()) == "ready to launch"


async def test_max_parallel_above_max_jobs_is_shown_at_the_field() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(pilot)
        await type_into(pilot, "#max-parallel-jobs", "12", keys=True)
        assert screen.query_one("#launch", Button).disabled
        assert "more than the 9 jobs in total" in error_text(screen, "max-parallel-jobs-error")
        assert str(screen.query_one("#problem-count", Static).render()) == "1 problem"
        await type_into(pilot, "#max-parallel-jobs", "3")
        assert not screen.query_one("#launch", Button).disabled
        assert error_text(screen, "max-parallel-jobs-error") == ""


async def test_unparsable_number_names_the_field() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(pilot)
        await type_into(pilot, "#max-jobs", "nine")
        assert error_text(screen, "max-jobs-error") == "max_jobs must be a whole number, got 'nine'"
        await type_into(pilot, "#random-seed", "1.5")
        assert "random_seed must be a whole number" in error_text(screen, "random-seed-error")
        assert str(screen.query_one("#problem-count", Static).render()) == "2 problems"
        assert screen.query_one("#launch", Button).disabled
        await type_into(pilot, "#max-jobs", "12")
        await type_into(pilot, "#random-seed", "")
        assert screen.current_spec().max_jobs == 12
        assert screen.current_spec().random_seed is None
        assert not screen.query_one("#launch", Button).disabled


async def test_sagemaker_backend_shows_its_fields_and_needs_a_role() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(pilot)
        await choose(pilot, "#backend", "sagemaker")
        assert screen.query_one("#sagemaker-fields").display
        assert not screen.query_one("#local-fields").display
        assert shown(screen.query_one("#role-arn", Input))
        assert shown(screen.query_one("#preview-request", Button))
        assert "needs an execution role" in error_text(screen, "role-arn-error")
        assert screen.query_one("#launch", Button).disabled

        await type_into(pilot, "#role-arn", "arn:aws:iam::123456789012:role/SageMakerRole")
        await type_into(pilot, "#s3-train", "s3://my-bucket/mnist/train")
        assert error_text(screen, "role-arn-error") == ""
        assert not screen.query_one("#launch", Button).disabled
        spec = screen.current_spec()
        assert spec.backend == "sagemaker"
        assert spec.sagemaker.role_arn == "arn:aws:iam::123456789012:role/SageMakerRole"
        assert spec.channels.train == "s3://my-bucket/mnist/train"
        assert str(screen.query_one("#launch", Button).label) == "Launch on SageMaker"

        await type_into(pilot, "#s3-test", "not-a-uri")
        assert "local directory not-a-uri does not exist" in error_text(screen, "s3-test-error")

        await choose(pilot, "#backend", "local")
        assert not screen.query_one("#sagemaker-fields").display
        # The S3 URIs do not leak into the local spec.
        assert screen.current_spec().channels.train is None


async def test_strategy_rules_are_shown_at_their_fields() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(pilot)
        # Hidden: not shown (nor composed yet: the group fills when first shown).
        assert not any(shown(w) for w in screen.query("#hyperband-min-resource"))
        await choose(pilot, "#early-stopping", "Auto")
        await choose(pilot, "#strategy", "Hyperband")
        assert shown(screen.query_one("#hyperband-min-resource"))
        assert "Hyperband stops jobs itself" in error_text(screen, "early-stopping-error")
        await type_into(pilot, "#hyperband-max-resource", "5")
        assert screen.current_spec().hyperband.max_resource == 5

        await choose(pilot, "#strategy", "Grid")
        assert not shown(screen.query_one("#hyperband-min-resource"))
        assert screen.current_spec().hyperband.max_resource is None  # hidden: not part of the spec
        message = error_text(screen, "ranges-error")
        assert "learning_rate: the Grid strategy takes categorical ranges only" in message
        assert "num_epoch: the Grid strategy takes categorical ranges only" in message
        assert str(screen.query_one("#problem-count", Static).render()) == "2 problems"


async def test_problems_of_hidden_fields_are_listed_with_where_to_fix_them() -> None:
    spec = TuningSpec()
    spec.estimator.instance_type = "m5.big"  # a SageMaker field, hidden on the local backend
    app = make_app(spec=spec)
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(pilot)
        listed = error_text(screen, "spec-errors")
        assert listed.startswith('estimator.instance_type: "m5.big" is not a SageMaker training instance type')
        assert "(edit it with Backend = sagemaker)" in listed
        assert screen.query_one("#launch", Button).disabled
        await choose(pilot, "#backend", "sagemaker")
        assert error_text(screen, "spec-errors") == ""
        assert "is not a SageMaker training instance type" in error_text(screen, "instance-type-error")


async def test_preview_shows_the_request_json() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(pilot)
        await choose(pilot, "#backend", "sagemaker")
        await type_into(pilot, "#role-arn", "arn:aws:iam::123456789012:role/SageMakerRole")
        screen.query_one("#ranges-table").focus()
        await pilot.press("p")
        await pilot.pause()
        preview = pilot.app.screen
        assert isinstance(preview, RequestPreview)
        text = preview.query_one("#request-json").text
        assert '"HyperParameterTuningJobConfig"' in text
        assert "arn:aws:iam::123456789012:role/SageMakerRole" in text
        await pilot.press("escape")
        await pilot.pause()
        assert pilot.app.screen is screen


async def test_regex_tester_shows_captures_live() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(pilot)
        results = screen.query_one("#regex-results", Static)
        assert "Validation-accuracy" in str(results.render())
        assert "→ 0.9712" in str(results.render())
        # Epochs as the charts count them (from 1): Epoch[3] is plotted at 4.
        assert "epoch 4" in str(results.render()) and "epoch 3" not in str(results.render())
        await type_into(pilot, "#regex-sample", "Epoch[0] Validation-accuracy=0.5")
        assert "→ 0.5" in str(results.render())
        assert "epoch 1" in str(results.render()) and "epoch 0" not in str(results.render())
        await type_into(pilot, "#regex-sample", "Epoch[0] Train-accuracy=0.5")
        assert "no match" in str(results.render())
        # The sample line is not part of the spec and raises no problems.
        assert str(screen.query_one("#problem-count", Static).render()) == "ready to launch"


async def test_metric_definitions_add_edit_delete_with_the_tester() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(pilot)
        await pilot.click("#add-metric")
        await pilot.pause()
        editor = pilot.app.screen
        await type_into(pilot, "#metric-name", "Validation-loss")
        await type_into(pilot, "#metric-regex", "Validation-loss=([0-9.]+")
        assert "not a valid regular expression" in str(editor.query_one("#metric-error", Static).render())
        assert editor.query_one("#metric-ok", Button).disabled
        await type_into(pilot, "#metric-regex", r"Validation-loss=([0-9\.]+)")
        await pilot.press("enter")
        await pilot.pause()
        assert pilot.app.screen is screen
        assert [(m.name, m.regex) for m in screen.current_spec().metric_definitions][1] == (
            "Validation-loss", r"Validation-loss=([0-9\.]+)")
        results = screen.query_one("#regex-results", Static)
        assert "no match" in str(results.render())  # the sample line has no loss
        await type_into(pilot, "#regex-sample", "Epoch[1] Validation-accuracy=0.9 Validation-loss=0.25")
        assert "→ 0.9" in str(results.render()) and "→ 0.25" in str(results.render())

        # Renaming the objective's metric away breaks the objective: reported at the objective.
        table = screen.query_one("#metrics-table", DataTable)
        table.focus()
        table.move_cursor(row=0)
        await pilot.click("#edit-metric")
        await pilot.pause()
        await type_into(pilot, "#metric-name", "accuracy")
        await pilot.press("enter")
        await pilot.pause()
        assert "is not among the metric definitions" in error_text(screen, "objective-name-error")
        assert screen.query_one("#launch", Button).disabled
        await type_into(pilot, "#objective-name", "accuracy")
        assert not screen.query_one("#launch", Button).disabled

        table.focus()
        table.move_cursor(row=1)
        await pilot.press("d")  # over the metrics table, d deletes the metric, not a range
        await pilot.pause()
        assert [m.name for m in screen.current_spec().metric_definitions] == ["accuracy"]
        assert len(screen.current_spec().ranges) == 3


async def test_add_static_hyperparameter() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(pilot)
        await type_into(pilot, "#static-key", "max_train_samples")
        await type_into(pilot, "#static-value", "3000")
        await pilot.click("#static-add")
        await pilot.pause()
        table = screen.query_one("#static-table", DataTable)
        assert cell_texts(table, "max_train_samples") == ["max_train_samples", "3000"]
        assert screen.current_spec().estimator.hyperparameters == {"batch_size": 100, "max_train_samples": 3000}
        # A name that is also tuned is reported where the static hyperparameters are.
        await type_into(pilot, "#static-key", "num_epoch")
        await type_into(pilot, "#static-value", "1")
        await pilot.press("enter")
        await pilot.pause()
        assert "both static and tuned" in error_text(screen, "static-hps-error")
        assert screen.query_one("#launch", Button).disabled
        table.focus()
        table.move_cursor(row=table.get_row_index("num_epoch"))
        await pilot.press("d")  # over the static table, d removes the static value
        await pilot.pause()
        assert "num_epoch" not in screen.current_spec().estimator.hyperparameters
        assert "num_epoch" in screen.current_spec().ranges
        assert not screen.query_one("#launch", Button).disabled


async def test_save_then_load_round_trips_through_a_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "specs" / "mine.toml"
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(pilot)
        await type_into(pilot, "#max-jobs", "12")
        await type_into(pilot, "#static-key", "max_train_samples")
        await type_into(pilot, "#static-value", "3000")
        await pilot.press("enter")
        await pilot.pause()
        saved = screen.current_spec()
        assert saved.max_jobs == 12 and saved.estimator.hyperparameters["max_train_samples"] == 3000

        screen.query_one("#ranges-table").focus()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(pilot.app.screen, SpecFileDialog)
        assert pilot.app.screen.query_one("#spec-file-path", Input).value == "tuning.toml"
        await type_into(pilot, "#spec-file-path", str(path))
        await pilot.press("enter")
        await pilot.pause()
        assert pilot.app.screen is screen
        assert load_spec(path) == saved

        await type_into(pilot, "#max-jobs", "5")
        screen.query_one("#ranges-table").focus()
        await pilot.press("ctrl+o")
        await pilot.pause()
        # The dialog remembers the file just saved.
        assert pilot.app.screen.query_one("#spec-file-path", Input).value == str(path)
        await pilot.press("enter")
        await pilot.pause()
        assert pilot.app.screen is screen
        assert screen.query_one("#max-jobs", Input).value == "12"
        assert screen.current_spec() == saved


async def test_load_errors_are_shown_in_the_dialog(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("max_jobs = [\n", encoding="utf-8")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(pilot)
        await pilot.press("ctrl+o")
        await pilot.pause()
        dialog = pilot.app.screen
        await type_into(pilot, "#spec-file-path", str(tmp_path / "missing.toml"))
        await pilot.press("enter")
        await pilot.pause()
        assert pilot.app.screen is dialog
        assert "no such file" in str(dialog.query_one("#spec-file-error", Static).render())
        await type_into(pilot, "#spec-file-path", str(bad))
        await pilot.press("enter")
        await pilot.pause()
        assert "line" in str(dialog.query_one("#spec-file-error", Static).render())
        await pilot.press("escape")
        await pilot.pause()
        assert pilot.app.screen is screen
        assert screen.current_spec() == TuningSpec()


async def test_loaded_file_problems_appear_at_their_fields(tmp_path: Path) -> None:
    path = tmp_path / "odd.toml"
    path.write_text('max_jobs = 2\nmax_parallel_jobs = 3\n', encoding="utf-8")
    app = make_app(spec_path=path)
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(pilot)
        await pilot.press("ctrl+o")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert pilot.app.screen is screen
        assert screen.query_one("#max-jobs", Input).value == "2"
        assert "more than the 2 jobs" in error_text(screen, "max-parallel-jobs-error")
        assert screen.query_one("#launch", Button).disabled


async def test_launch_passes_the_form_spec_and_keeps_values_on_error() -> None:
    backend = RefusingBackend()
    app = make_app(backend=backend)
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(pilot)
        await type_into(pilot, "#max-jobs", "4")
        await type_into(pilot, "#max-parallel-jobs", "2")
        await pilot.click("#launch")
        await pilot.pause()
        assert screen.query_one("#launch", Button).disabled  # while the launch is under way
        await pilot.press("ctrl+l")  # a second press starts nothing more
        await pilot.click("#launch")
        await pilot.pause()
        backend.gate.set()
        for _ in range(200):  # a guard against a hang, not a timing assertion
            if isinstance(pilot.app.screen, ErrorDialog):
                break
            await pilot.pause(0.05)
        assert len(backend.launched) == 1
        assert backend.launched[0].max_jobs == 4 and backend.launched[0].max_parallel_jobs == 2
        assert backend.launched[0] == screen.current_spec()
        # The error dialog shows the backend's words; closing it returns to the intact form.
        error = pilot.app.screen
        assert isinstance(error, ErrorDialog)
        assert "security token" in str(error.query_one("#error-message", Static).render())
        await pilot.press("escape")
        await pilot.pause()
        assert pilot.app.screen is screen
        assert screen.query_one("#max-jobs", Input).value == "4"
        assert screen.query_one("#max-parallel-jobs", Input).value == "2"
        assert not screen.query_one("#launch", Button).disabled


async def test_launch_opens_the_dashboard_of_the_new_job(mid_run_backend) -> None:
    app = make_app(backend=mid_run_backend)
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(pilot)
        await type_into(pilot, "#max-jobs", "6")
        screen.query_one("#ranges-table").focus()
        await pilot.press("ctrl+l")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert type(pilot.app.screen).__name__ == "DashboardScreen"
        assert len(mid_run_backend.launched) == 1
        assert mid_run_backend.launched[0].max_jobs == 6
        assert mid_run_backend.launched[0] == screen.current_spec()


async def test_palette_offers_the_screen_actions() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"add range")
        results = pilot.app.screen.query_one(CommandList)
        for _ in range(100):  # the palette searches in a worker: wait for its first hit
            if results.option_count and "Add range" in str(results.get_option_at_index(0).prompt):
                break
            await pilot.pause(0.05)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(pilot.app.screen, RangeEditor)


async def test_the_footer_shows_the_keys_of_the_focus_and_is_rebuilt_only_when_they_change() -> None:
    backend = RefusingBackend()
    app = make_app(backend=backend)
    async with app.run_test(size=SIZE) as pilot:
        footer = screen_of(pilot).query_one(Footer)

        def keys() -> dict[str, bool]:
            """description -> enabled, as the footer shows them."""
            return {key.description: not key.has_class("-disabled") for key in footer.query(FooterKey)}

        assert pilot.app.focused is screen_of(pilot).query_one("#ranges-table")  # focused first
        assert keys()["Add range"] and keys()["Launch"]
        # In a field, letters type: the letter keys leave the footer.
        await type_into(pilot, "#max-jobs", "4")
        assert "Add range" not in keys() and keys()["Launch"]
        shown = list(footer.query(FooterKey))
        # Another field shows the same keys: the footer keeps its widgets (a rebuild mounts
        # and styles every key again, ~0.1 s per focus move on this form).
        await type_into(pilot, "#max-parallel-jobs", "2")
        await pilot.press("tab")
        await pilot.pause()
        assert list(footer.query(FooterKey)) == shown
        # While a launch is under way, Launch shows disabled; afterwards, enabled again.
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert keys()["Launch"] is False
        backend.gate.set()
        for _ in range(200):  # a guard against a hang, not a timing assertion
            if isinstance(pilot.app.screen, ErrorDialog):
                break
            await pilot.pause(0.05)
        await pilot.press("escape")
        await pilot.pause()
        assert screen_of(pilot) and keys()["Launch"] is True
