"""The SageMaker launch confirmation: what the launch starts and bills, and the pre-flight
checks of the account (the same as `hpo-tui doctor`), run in a thread worker while it shows.
A failed check disables Launch (the launch would refuse anyway); what could not be checked
does not."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from hpo_tui.app.typed import HpoModalScreen
from textual.widgets import Button, Label, Static

from hpo_tui.sanitize import sanitize
from hpo_tui.spec import TuningSpec

_STYLES = {"ok": "green", "warn": "yellow", "FAIL": "bold red", "could not check": "dim"}


@dataclass
class ChecksDone(Message):
    checks: list[Any]  # hpo_tui.backends.sagemaker.checks.Check
    error: str | None = None


def checks_table(rows: list[tuple[str, str, str, str]]) -> Table:
    """One row per check (status, name, what it found), its to-do below what it found; long
    text wraps inside its column."""
    table = Table(box=None, show_header=False, padding=(0, 1), expand=True)
    table.add_column("status", no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("found", ratio=1)
    for status, name, found, todo in rows:
        detail = Text(found)
        if todo:
            detail.append(f"\n-> {todo}", style="dim")
        table.add_row(Text(status, style=_STYLES.get(status, "")), Text(name), detail)
    return table


class LaunchCheckDialog(HpoModalScreen[bool]):
    """Launch on SageMaker? The summary, then the account checks as they come back."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, spec: TuningSpec, summary: str) -> None:
        super().__init__(classes="dialog-screen", id="sagemaker-launch-dialog")
        self._spec = spec
        self._summary = summary
        self.rows: list[tuple[str, str, str, str]] = []  # the checks shown, once they answered

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="launch-check-dialog"):
            yield Label(Text("Launch on SageMaker?"), classes="dialog-title")
            yield Static(Text(self._summary), classes="dialog-body")
            with VerticalScroll(id="preflight-scroll"):
                yield Static(Text("Checking your AWS account (read-only)…"), id="preflight")
            yield Static(Text(""), classes="dialog-hint", id="preflight-verdict")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Launch", variant="warning", id="confirm", action="screen.confirm")
                yield Button("Cancel", id="cancel", action="screen.cancel")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()
        self.query_one("#confirm", Button).disabled = True  # until the checks answered
        self._run_checks()

    @work(thread=True, exclusive=True, group="preflight", exit_on_error=False)
    def _run_checks(self) -> None:
        spec = self._spec
        try:
            backend = self.app.backend_for(spec.backend, region=spec.sagemaker.region,
                                           profile=spec.sagemaker.profile)
            preflight = getattr(backend, "preflight", None)
            if preflight is None:
                self.post_message(ChecksDone([], error="This backend has no account checks."))
                return
            checks = preflight(spec)
        except Exception as exc:  # noqa: BLE001 -- shown in the dialog; the launch may still go
            self.post_message(ChecksDone([], error=f"The checks could not run: {exc}"))
            return
        self.post_message(ChecksDone(checks))

    @on(ChecksDone)
    def _checks_done(self, message: ChecksDone) -> None:
        verdict = self.query_one("#preflight-verdict", Static)
        launch = self.query_one("#confirm", Button)
        if message.error:
            self.query_one("#preflight", Static).update(Text(sanitize(message.error)))
            launch.disabled = False
            return
        # What is shown, as plain text (AWS text sanitised): the same Checks doctor prints.
        self.rows = [(c.status, c.name, sanitize(c.found), sanitize(c.todo)) for c in message.checks]
        self.query_one("#preflight", Static).update(checks_table(self.rows))
        failed = [c for c in message.checks if c.status == "FAIL"]
        unknown = [c for c in message.checks if c.status == "could not check"]
        if failed:
            verdict.update(Text(f"{len(failed)} check(s) failed: this launch would fail. Fix them, then "
                                "launch again (`hpo-tui doctor SPEC --backend sagemaker` shows the same).",
                                style="bold"))
            launch.disabled = True
            return
        tail = f"; {len(unknown)} could not be checked (they do not block)" if unknown else ""
        verdict.update(Text(f"No check failed{tail}."))
        launch.disabled = False
        launch.focus()

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
