"""The configure screen in daily use: nothing typed is lost, ctrl+l and ctrl+q on a form say
why, tab reaches every field, the layout fits narrow terminals, the request preview, the
SageMaker launch confirmation, and a clone keeps the ranges' order."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.widgets import Button, DataTable, Input, TextArea

from hpo_tui.app.app import make_app
from hpo_tui.app.screens.configure import ConfigureScreen
from hpo_tui.app.screens.dashboard import DashboardScreen
from hpo_tui.app.screens.dialogs import ConfirmDialog
from hpo_tui.app.screens.launch_check import LaunchCheckDialog
from hpo_tui.spec import TuningSpec
from tests.app.conftest import SIZE, gated, record_tuning_job, screen_text, settle, wait_for_note, wait_until
from tests.app.fake_backend import NOW


def screen_text_of_dialog(app) -> str:
    return " ".join(str(label.render()) for label in app.screen.query(".dialog-title"))


async def test_static_hyperparameter_typed_but_not_set_blocks_launch_at_its_field():
    backend = gated()
    backend.launch_gate.set()
    app = make_app(backend=backend, interval=3600.0, clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, ConfigureScreen)
        screen.query_one("#static-key", Input).focus()
        await pilot.press(*"max_train_samples")
        screen.query_one("#static-value", Input).focus()
        await pilot.press(*"3000")
        await pilot.pause()
        error = str(screen.query_one("#static-hps-error").render())
        assert "max_train_samples = 3000 is typed but not set" in error and "press Set" in error
        assert "1 problem" in str(screen.query_one("#problem-count").render())
        assert screen.query_one("#launch", Button).disabled

        await pilot.press("ctrl+l")  # blocked, with the reason, and the Set button focused
        await pilot.pause()
        assert backend.launched == []
        await wait_for_note(pilot, "typed but not set")
        assert app.focused is screen.query_one("#static-add", Button)

        await pilot.press("enter")  # Set
        await pilot.pause()
        assert "ready to launch" in str(screen.query_one("#problem-count").render())
        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "the dashboard")
        assert backend.launched[0].estimator.hyperparameters == {"batch_size": 100, "max_train_samples": 3000}


async def test_ctrl_l_on_an_invalid_form_says_why_and_focuses_the_field():
    backend = gated()
    app = make_app(backend=backend, interval=3600.0, clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        field = screen.query_one("#max-parallel-jobs", Input)
        field.value = "12"  # more than max_jobs (9)
        screen.query_one("#ranges-table").focus()
        await pilot.pause()
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert backend.launched == []
        await wait_for_note(pilot, "Cannot launch: 1 problem. First: max_parallel_jobs")
        assert app.focused is field


async def test_ctrl_q_on_an_edited_form_asks_to_discard_and_defaults_to_cancel():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        field = app.screen.query_one("#max-jobs", Input)
        field.focus()
        await pilot.press("end", "0")
        await settle(pilot)
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog) and "Discard changes?" in screen_text_of_dialog(app)
        assert isinstance(app.focused, Button) and app.focused.id == "cancel"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfigureScreen) and app.is_running
        assert field.value == "90"


async def test_tab_into_an_input_keeps_its_text_and_never_stops_on_a_column():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        seen = []
        for _ in range(40):
            await pilot.press("tab")
            focused = app.focused
            assert not (isinstance(focused, VerticalScroll) and "form-column" in focused.classes), focused
            seen.append(focused)
            if isinstance(focused, Input) and focused.id == "max-jobs":
                break
        assert isinstance(app.focused, Input) and app.focused.id == "max-jobs"
        await pilot.press("7")
        assert app.focused.value == "97"  # was "7": the text was selected and replaced


async def test_on_a_narrow_screen_the_ranges_come_first_on_configure():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.screen.query_one("#form").children[0].id == "form-right"
        assert "Hyperparameter ranges" in screen_text(app)[1]  # in view at start
        await pilot.resize_terminal(120, 40)
        await settle(pilot)
        assert app.screen.query_one("#form").children[0].id == "form-left"


async def test_at_80x24_configure_stacks_its_columns_and_no_table_is_cut():
    from hpo_tui.app.app import make_app

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for selector in ("#ranges-table", "#metrics-table"):
            table = app.screen.query_one(selector, DataTable)
            table.scroll_visible(animate=False)
            await settle(pilot)
            assert table.virtual_size.width <= table.scrollable_content_region.width, selector
        await pilot.resize_terminal(120, 40)  # wide again: side by side
        await settle(pilot)
        left, right = app.screen.query_one("#form-left"), app.screen.query_one("#form-right")
        assert left.region.y == right.region.y and left.region.x < right.region.x


async def test_the_request_preview_is_wide_and_highlighted():
    from hpo_tui.app.screens.spec_dialogs import RequestPreview

    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        app.screen.query_one("#ranges-table").focus()
        await pilot.press("p")
        await wait_until(pilot, lambda: isinstance(app.screen, RequestPreview) and app.screen.query("#request-json")
                         and app.screen.query_one("#request-json").size.width > 0, "the request preview, laid out")
        await settle(pilot)
        preview = app.screen
        assert isinstance(preview, RequestPreview)
        dialog = preview.query_one("#request-dialog")
        assert dialog.outer_size.width >= 0.95 * 160  # not .dialog's 70 columns
        area = preview.query_one("#request-json", TextArea)
        longest = max(len(line) for line in area.text.splitlines())
        gutter = area.gutter_width if hasattr(area, "gutter_width") else 6
        assert area.scrollable_content_region.width >= longest + gutter  # no line cut at 160 columns
        assert area.language == "json"
        # Keys, strings and numbers in different colours.
        colours = {str(segment.style.color) for y in range(area.size.height)
                   for segment in area.render_line(y) if segment.text.strip() and segment.style}
        assert len(colours) >= 3


async def test_a_sagemaker_launch_is_confirmed_with_instances_jobs_and_parallel_count():
    backend = gated()
    backend.launch_gate.set()
    spec = TuningSpec(backend="sagemaker")
    spec.sagemaker.role_arn = "arn:aws:iam::123456789012:role/SageMakerRole"
    spec.estimator.instance_type, spec.estimator.instance_count = "ml.c5.2xlarge", 2
    app = make_app(backend=backend, spec=spec, interval=3600.0, clock=lambda: NOW)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert isinstance(app.screen, LaunchCheckDialog)  # with the account checks (tests/sagemaker)
        body = str(app.screen.query_one(".dialog-body").render())
        assert "9 training jobs × 2 × ml.c5.2xlarge, 3 in parallel" in body
        assert "up to 6 instances at once" in body
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ConfigureScreen) and backend.launched == []
        await pilot.press("ctrl+l")
        await wait_until(pilot, lambda: isinstance(app.screen, LaunchCheckDialog)
                         and not app.screen.query_one("#confirm").disabled, "Launch enabled after the checks")
        await pilot.click("#confirm")
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen), "the dashboard")
        assert backend.launched[0].backend == "sagemaker"


async def test_a_clone_keeps_the_ranges_order():
    from hpo_tui.spec import TuningSpec

    spec = TuningSpec()
    assert list(spec.ranges) == ["optimizer", "learning_rate", "num_epoch"]  # not alphabetical
    record_tuning_job("done-before", spec)
    app = make_app(start="jobs", interval=3600.0)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.screen.jobs, "the jobs list")
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfigureScreen), "the configure screen")
        assert list(app.screen.current_spec().ranges) == ["optimizer", "learning_rate", "num_epoch"]
        ranges = app.screen.query_one("#ranges-table", DataTable)
        assert [row.value for row in ranges.rows] == ["optimizer", "learning_rate", "num_epoch"]
