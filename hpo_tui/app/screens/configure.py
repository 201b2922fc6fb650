"""Configure screen: the start screen, where a TuningSpec is edited, checked as you type,
loaded/saved as TOML, previewed as a SageMaker request, and launched. What the form means
(fields, parsing, where problems show) is hpo_tui.app.form_model; its widgets are
hpo_tui.app.widgets.form_fields."""

from __future__ import annotations

import json
from pathlib import Path

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.css.query import NoMatches
from textual.reactive import reactive
from textual.widgets import Button, DataTable, Header, Input, Label, Select, Static

from hpo_tui.app.form_model import (  # noqa: F401 (SELECTS, sagemaker_launch_summary: public here)
    COMPLETION_FIELDS,
    ESTIMATOR_FIELDS,
    HYPERBAND_FIELDS,
    LOCAL_FIELDS,
    OBJECTIVE_FIELDS,
    SAGEMAKER_FIELDS,
    SELECTS,
    TUNING_FIELDS,
    GROUP_ERRORS,
    FormField,
    FormInput,
    FormModel,
    Problem,
    count_text,
    focus_target,
    place_problems,
    sagemaker_launch_summary,
    shown_under,
)
from hpo_tui.app.screens.range_editor import RangeEditor
from hpo_tui.app.typed import HpoScreen
from hpo_tui.app.widgets.compact import prestyled
from hpo_tui.app.widgets.footer import KeyFooter
from hpo_tui.app.widgets.form_fields import (
    ErrorLine,
    FieldGrid,
    MetricsTable,
    RangesTable,
    TableButtons,
    form_column,
    section,
)
from hpo_tui.app.widgets.keyvalue import KeyValueEditor
from hpo_tui.app.widgets.regex_tester import RegexTester
from hpo_tui.errors import UserError
from hpo_tui.spec import Parameter, TuningSpec, load_spec, save_spec
from hpo_tui.spec.sdk_config import render_request_as_sent

DEFAULT_SPEC_FILE = Path("tuning.toml")


class ConfigureScreen(HpoScreen[None]):
    """Edit a TuningSpec; Launch hands it to ``app.launch_tuning_job``."""

    SUB_TITLE = "Configure a tuning job"
    # Below 100 columns the two form columns stack (configure.tcss), so no table is cut.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    # Focused first by Textual itself: focusing it from on_mount came after Textual had
    # focused the form's scroll column, and each focus change restyled ~60 widgets.
    AUTO_FOCUS = "#ranges-table"

    # What the action bar shows: the count of problems, and Launch enabled only with none
    # and no launch in flight (see _show_launch_state).
    problems: reactive[list[Problem]] = reactive(list, init=False)
    launching: reactive[bool] = reactive(False, init=False)

    HELP_TITLE = "Configure keys"
    BINDINGS = [
        Binding("ctrl+l", "launch", "Launch", id="configure.launch",
                tooltip="Launch tuning job: start it on the chosen backend"),
        # Shown here, where q types a letter: the app's own ctrl+q is hidden from footers.
        Binding("ctrl+q", "app.quit", "Quit", id="configure.quit", priority=True),
        Binding("ctrl+s", "save_spec", "Save", id="configure.save",
                tooltip="Save spec: write the form to a TOML spec file"),
        Binding("ctrl+o", "load_spec", "Load", id="configure.load",
                tooltip="Load spec: fill the form from a TOML spec file"),
        Binding("a", "add_range", "Add range", id="configure.add_range", tooltip="Add a hyperparameter range"),
        Binding("e", "edit_range", "Edit range", id="configure.edit_range",
                tooltip="Edit the selected hyperparameter range"),
        Binding("d,delete", "delete_range", "Delete range", id="configure.delete_range",
                tooltip="Delete the selected hyperparameter range"),
        Binding("p", "preview_request", "Preview request", id="configure.preview",
                tooltip="Preview the SageMaker request: the CreateHyperParameterTuningJob JSON"),
    ]

    def __init__(self, spec: TuningSpec | None = None, *, spec_path: Path | None = None,
                 backend_name: str | None = None) -> None:
        super().__init__()
        # Fields the form does not show (future spec fields) survive a round trip in the model.
        self.model = FormModel(spec, backend_name=backend_name)
        self._spec_path = spec_path
        self._shown_definitions: list[tuple[str, str]] | None = None
        self._saved_spec: TuningSpec | None = None
        self._resumed = False  # see on_screen_resume
        self._check_due = False  # see _check_soon
        # The breakpoint class for the terminal as it is: otherwise Textual adds it at the
        # first resize, after the form is mounted, and restyles every widget once more.
        width = self.app.size.width
        self.set_classes([max((low, name) for low, name in self.HORIZONTAL_BREAKPOINTS if width >= low)[1]])

    # ----- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        # Stacked (narrow), the ranges come first: they are what a tuning job is about.
        columns = [self._left_column(), self._right_column()]
        if self.has_class("-narrow"):
            columns.reverse()
        yield Horizontal(*columns, id="form")
        yield ErrorLine(id="spec-errors", classes="")
        yield Horizontal(
            Static(count_text(0), id="problem-count", classes="-ready"),
            prestyled(Button("Load…", id="load-spec", action="screen.load_spec")),
            prestyled(Button("Save…", id="save-spec", action="screen.save_spec")),
            prestyled(Button("Preview request", id="preview-request", action="screen.preview_request")),
            prestyled(Button("Launch", id="launch", variant="success", action="screen.launch")),
            id="actions",
        )
        yield KeyFooter()

    def on_resize(self) -> None:
        """Across the breakpoint, the columns swap places (and Tab follows what is seen)."""
        form = self.query_one("#form")
        left, right = self.query_one("#form-left"), self.query_one("#form-right")
        narrow = self.has_class("-narrow")
        if narrow and form.children[0] is left:
            form.move_child(right, before=left)
        elif not narrow and form.children[0] is right:
            form.move_child(left, before=right)

    def _fields(self, items: tuple[FormField | str, ...], id: str | None = None) -> FieldGrid:
        grid = FieldGrid(items, self.model, id=id)
        if id is not None and not self.model.shown_at_start(grid.first_id):
            grid.filled = False  # filled when first shown
        return grid

    def _left_column(self) -> VerticalScroll:
        return form_column(
            "form-left",
            section("section-estimator", "Estimator", self._fields(ESTIMATOR_FIELDS)),
            section("section-static", "Static hyperparameters",
                    KeyValueEditor(self.model.base.estimator.hyperparameters, prefix="static", id="static-hps"),
                    ErrorLine(id="static-hps-error"), subtitle="same for every job"),
            section("section-objective", "Objective & metrics",
                    self._fields((*OBJECTIVE_FIELDS, "objective-type")), MetricsTable(), TableButtons("metric"),
                    ErrorLine(id="metrics-error"),
                    Label("Regex tester: what each definition captures", classes="subheading"),
                    RegexTester(self.model.definitions(), id="regex-tester")),
            section("section-completion", "Completion criteria", self._fields(COMPLETION_FIELDS)),
        )

    def _right_column(self) -> VerticalScroll:
        return form_column(
            "form-right",
            section("section-ranges", "Hyperparameter ranges", RangesTable(), TableButtons("range"),
                    ErrorLine(id="ranges-error"), subtitle="a add · e/enter edit · d delete"),
            section("section-tuning", "Tuning", self._fields(("strategy", "early-stopping", *TUNING_FIELDS)),
                    self._fields(HYPERBAND_FIELDS, id="hyperband-fields")),
            section("section-backend", "Backend", self._fields(("backend",)),
                    self._fields(LOCAL_FIELDS, id="local-fields"),
                    self._fields(SAGEMAKER_FIELDS, id="sagemaker-fields")),
        )

    def on_mount(self) -> None:
        self._show_tables()
        self._follow_selects()
        self._check()
        # What "unsaved changes" compare with: the form as opened (after the first frame,
        # which need not wait for a second read of every field).
        self.call_after_refresh(self._mark_saved)

    # ----- the widgets' values ------------------------------------------------------------

    def _selects(self) -> dict[str, object]:
        return {select_id: self.query_one(f"#{select_id}", Select).value for select_id in SELECTS}

    def _form_input(self) -> FormInput:
        texts: dict[str, str] = {}
        for grid in self.query(FieldGrid):
            texts.update(grid.texts())
        static = self.query_one(KeyValueEditor)
        return FormInput(texts, self._selects(), static.items, static.pending)

    def current_spec(self) -> TuningSpec:
        """The spec built from the form as it is now (possibly invalid)."""
        return self.model.build(self._form_input())[0]

    def _mark_saved(self) -> None:
        self._saved_spec = self.current_spec()

    @property
    def is_edited(self) -> bool:
        """The form differs from what it was opened, loaded or saved with (and is not launched)."""
        return self._saved_spec is not None and not self.launching and self.current_spec() != self._saved_spec

    def _show_tables(self, select_range: str | None = None) -> None:
        self.query_one(RangesTable).show(self.model.ranges, select_range)
        self.query_one(MetricsTable).show(self.model.metrics)

    def _fill_form(self, spec: TuningSpec) -> None:
        """Show ``spec`` in every widget (after loading a file)."""
        self.model.load(spec)
        with self.app.batch_update():
            for grid in self.query(FieldGrid):
                grid.show_spec()  # a group not filled yet takes the new spec when first shown
            for select_id in SELECTS:
                self.query_one(f"#{select_id}", Select).value = self.model.start_choice(select_id)
            self.query_one(KeyValueEditor).set_items(self.model.base.estimator.hyperparameters)
            self._show_tables()
        self._follow_selects()
        self._show_definitions()
        self._check()

    # ----- what follows an edit -------------------------------------------------------------

    def _follow_selects(self) -> None:
        """Show the groups the selects ask for (Backend's fields, Hyperband's), and say where
        Launch launches."""
        selects = self._selects()
        backend = selects["backend"] if isinstance(selects["backend"], str) else "local"
        for grid_id in ("local-fields", "sagemaker-fields", "hyperband-fields"):
            grid = self.query_one(f"#{grid_id}", FieldGrid)
            shown = shown_under(grid.first_id, selects)
            if shown:
                grid.fill()
            if grid.display != shown:
                grid.display = shown
        self.query_one("#preview-request").display = backend == "sagemaker"
        launch = self.query_one("#launch", Button)
        label = f"Launch on {'SageMaker' if backend == 'sagemaker' else 'local'}"
        if str(launch.label) != label:
            launch.label = label

    def _show_definitions(self) -> None:
        """The regex tester tries the metric definitions as they are now."""
        definitions = self.model.definitions()
        if definitions != self._shown_definitions:
            self._shown_definitions = definitions
            self.query_one(RegexTester).set_definitions(definitions)

    def _check(self) -> None:
        """Check the whole form: each problem under its field, the rest listed, the count."""
        form = self._form_input()
        self.problems = self.model.check(form)
        placed = place_problems(self.problems, form.selects)
        for grid in self.query(FieldGrid):
            grid.show_errors(placed.by_line)
        for line_id in GROUP_ERRORS.values():
            self.query_one(f"#{line_id}", ErrorLine).show("\n".join(placed.by_line.get(line_id, [])))
        self.query_one("#spec-errors", ErrorLine).show("\n".join(placed.loose))

    def watch_problems(self, old: list[Problem], problems: list[Problem]) -> None:
        if len(old) != len(problems):
            count = self.query_one("#problem-count", Static)
            count.update(count_text(len(problems)))
            count.set_class(bool(problems), "-invalid")
            count.set_class(not problems, "-ready")
            self._show_launch_state()

    def watch_launching(self) -> None:
        self._show_launch_state()

    def _show_launch_state(self) -> None:
        self.query_one("#launch", Button).disabled = bool(self.problems) or self.launching
        self.refresh_bindings()

    # Each edit checks the whole form again, once per batch of events: mounting the form
    # posts a Changed for every input and select (15 checks of the whole spec before the
    # first frame), and a paste posts several.

    @on(Input.Changed)
    @on(KeyValueEditor.Changed)
    def _value_changed(self) -> None:
        self._check_soon()

    @on(Select.Changed)
    def _select_changed(self) -> None:
        self._follow_selects()
        self._check_soon()

    def _check_soon(self) -> None:
        if not self._check_due:
            self._check_due = True
            self.call_later(self._check_now)

    def _check_now(self) -> None:
        self._check_due = False
        self._check()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "launch" and self.is_mounted:
            # ctrl+l on a form with problems still runs, to say what blocks the launch.
            return None if self.launching else True
        return True

    # ----- ranges -------------------------------------------------------------------------

    def _edit_range(self, old: str | None) -> None:
        def done(result: tuple[str, Parameter] | None) -> None:
            if result is not None:
                name, parameter = result
                self.model.put_range(name, parameter, replacing=old)  # a renamed row keeps its place
                self._show_tables(select_range=name)
                self._check()

        check = self.model.range_check(self._form_input(), old)
        taken = set(self.model.ranges)
        editor = RangeEditor(taken_names=taken, check=check) if old is None else \
            RangeEditor(old, self.model.ranges[old], taken_names=taken, check=check)
        self.app.push_screen(editor, done)

    def action_add_range(self) -> None:
        self._edit_range(None)

    def action_edit_range(self) -> None:
        old = self.query_one(RangesTable).selected
        if old is None:
            self.notify("No range to edit: add one first (a).", severity="warning")
            return
        self._edit_range(old)

    def action_delete_range(self) -> None:
        table = self.query_one(RangesTable)
        name = table.selected
        if name is None:
            return
        row = table.cursor_row
        self.model.delete_range(name)
        self._show_tables()
        if self.model.ranges:
            table.move_cursor(row=min(row, len(self.model.ranges) - 1))
        self._check()
        self.notify(Content(f"Deleted range {name}"), timeout=3)

    @on(DataTable.RowSelected, "#ranges-table")
    def _range_selected(self) -> None:
        self.action_edit_range()

    # ----- metric definitions -------------------------------------------------------------

    def _edit_metric(self, index: int | None) -> None:
        from hpo_tui.app.screens.spec_dialogs import MetricEditor

        def done(result: tuple[str, str] | None) -> None:
            if result is not None:
                self.model.put_metric(*result, index=index)
                self._show_tables()
                if index is None:
                    self.query_one(MetricsTable).move_cursor(row=len(self.model.metrics) - 1)
                self._show_definitions()
                self._check()

        if index is None:
            self.app.push_screen(MetricEditor(), done)
        else:
            old = self.model.metrics[index]
            self.app.push_screen(MetricEditor(old.name, old.regex, title="Edit metric definition"), done)

    def action_add_metric(self) -> None:
        self._edit_metric(None)

    @on(DataTable.RowSelected, "#metrics-table")
    def action_edit_metric(self) -> None:
        index = self.query_one(MetricsTable).selected
        if index is not None:
            self._edit_metric(index)

    def action_delete_metric(self) -> None:
        index = self.query_one(MetricsTable).selected
        if index is None:
            return
        self.model.delete_metric(index)
        self._show_tables()
        self._show_definitions()
        self._check()

    # ----- files, preview, launch ---------------------------------------------------------

    def _default_path(self) -> Path:
        return self._spec_path or self.app.spec_path or DEFAULT_SPEC_FILE

    def action_save_spec(self) -> None:
        from hpo_tui.app.screens.spec_dialogs import SpecFileDialog

        def save(path: Path) -> Path:
            return save_spec(self.current_spec(), path)

        def done(path: Path | None) -> None:
            if path is None:
                return
            self._spec_path = path
            self._mark_saved()
            note = f" ({count_text(len(self.problems))})" if self.problems else ""
            self.notify(Content(f"Saved {path}{note}"), title="Spec saved", timeout=4)

        self.app.push_screen(SpecFileDialog("Save spec", self._default_path(), save, verb="Save"), done)

    def action_load_spec(self) -> None:
        from hpo_tui.app.screens.spec_dialogs import SpecFileDialog

        def load(path: Path) -> tuple[Path, TuningSpec]:
            # check=False: a file that breaks SageMaker's rules still loads, and the form shows
            # each problem at its field; only unreadable files and unknown keys are refused.
            return path, load_spec(path, check=False)

        def done(result: tuple[Path, TuningSpec] | None) -> None:
            if result is None:
                return
            path, spec = result
            self._spec_path = path
            self._fill_form(spec)
            self._mark_saved()
            self.notify(Content(f"Loaded {path}"), title="Spec loaded", timeout=4)

        self.app.push_screen(SpecFileDialog("Load spec", self._default_path(), load, verb="Load"), done)

    def action_preview_request(self) -> None:
        from hpo_tui.app.screens.spec_dialogs import RequestPreview

        spec = self.current_spec()
        error: str | None = None
        text = ""
        added = ""
        try:
            # As launched: what a SageMaker SDK config file adds is in it, and said above it.
            request, added = render_request_as_sent(spec)
            text = json.dumps(request, indent=2, default=str)
        except UserError as exc:
            error = str(exc)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            # The render expects a valid spec; an invalid form can trip it.
            error = f"The request cannot be rendered from this form ({exc}). Fix the problems listed on the form."
        if error is None and self.problems:
            error = f"The form has {count_text(len(self.problems))}; SageMaker would reject this request."
        self.app.push_screen(RequestPreview(text, error=error, note=added or None))

    def action_launch(self) -> None:
        if self.launching:
            return  # one launch at a time: a second press must not start a second tuning job
        self._check()
        if self.problems:
            self.app.bell()
            path, message = self.problems[0]
            self.notify(
                Content(f"Cannot launch: {count_text(len(self.problems))}. First: {path}: {message}"),
                title="Fix the fields marked in red",
                severity="error",
                timeout=6,
            )
            self._focus_problem(path)
            return
        spec = self.current_spec()
        if spec.backend != "sagemaker":
            self._start_launch(spec)  # local runs cost nothing: no question
            return
        from hpo_tui.app.screens.launch_check import LaunchCheckDialog

        def answered(yes: bool | None) -> None:
            if yes:
                self._start_launch(spec)

        self.app.push_screen(LaunchCheckDialog(spec, sagemaker_launch_summary(spec)), answered)

    def _start_launch(self, spec: TuningSpec) -> None:
        self.launching = True
        self.app.launch_tuning_job(spec)

    def _focus_problem(self, path: str) -> None:
        """Focus the widget where a problem is fixed (and scroll it into view)."""
        target = focus_target(path, self._selects())
        if target == "static-hps":
            self.query_one(KeyValueEditor).focus_pending()
        elif target is not None:
            try:
                self.query_one(f"#{target}").focus()
            except NoMatches:
                pass

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        if not self._resumed:
            # Pushed just now: every widget was styled as it mounted. Textual would style the
            # whole form again (a third of the first frame's styling); Screen's own handler,
            # called after this one, reads the flag.
            self._resumed = True
            event.refresh_styles = False
        # Back from the dashboard or from a launch error dialog: ready to launch again.
        self.launching = False
