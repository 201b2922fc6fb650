"""The TUI's SageMaker launch confirmation shows the account's pre-flight checks, the same
summary `hpo-tui doctor` prints (Pilot, the real app and backend, against moto)."""

from __future__ import annotations

import time
from typing import Any

from textual.widgets import Button

from hpo_tui.app.app import make_app
from hpo_tui.app.screens.launch_check import LaunchCheckDialog
from hpo_tui.backends.sagemaker import SageMakerBackend
from hpo_tui.backends.sagemaker.checks import Check, summary_lines
from hpo_tui.spec import TuningSpec
from tests.sagemaker.account import ROLE, quota_pages
from tests.sagemaker.conftest import answer_on_session

SIZE = (160, 50)


def sagemaker_spec() -> TuningSpec:
    spec = TuningSpec(backend="sagemaker")
    spec.sagemaker.role_arn = ROLE
    return spec


async def confirmation_of(session: Any, spec: TuningSpec) -> tuple[str, bool, list[str]]:
    """Press ctrl+l; return the checks the dialog shows (as doctor's lines), whether Launch
    is enabled, and what doctor's summary of the same account says."""
    backend = SageMakerBackend(boto_session=session)
    app = make_app(backend=backend, spec=spec)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+l")
        deadline = time.monotonic() + 60  # a guard against a hang, not a timing assertion
        while not (isinstance(app.screen, LaunchCheckDialog) and app.screen.rows):
            assert time.monotonic() < deadline, "the checks never answered"
            await pilot.pause(0.05)
        await app.workers.wait_for_complete()
        await pilot.pause()
        shown = [Check(name, status, found, todo) for status, name, found, todo in app.screen.rows]
        text = "\n".join(summary_lines(shown))
        enabled = not app.screen.query_one("#confirm", Button).disabled
        await pilot.press("escape")
        await pilot.pause()
    return text, enabled, summary_lines(backend.preflight(spec))


async def test_a_healthy_account_shows_every_check_ok_and_launch_enabled(boto_session: Any, moto_endpoint: str) -> None:
    answer_on_session(boto_session, "service-quotas", "ListServiceQuotas", quota_pages() * 2)
    text, enabled, doctor = await confirmation_of(boto_session, sagemaker_spec())
    assert enabled
    lines = [line.rstrip() for line in text.splitlines() if line.strip()]
    assert lines == doctor  # the same summary as `hpo-tui doctor`
    assert len(lines) == 11 and all(line.startswith("ok ") for line in lines), text


async def test_quota_zero_shows_the_quota_and_disables_launch(boto_session: Any, moto_endpoint: str) -> None:
    answer_on_session(boto_session, "service-quotas", "ListServiceQuotas", quota_pages(instance=0) * 2)
    text, enabled, doctor = await confirmation_of(boto_session, sagemaker_spec())
    assert not enabled
    assert "FAIL" in text and "'ml.m5.xlarge for training job usage' is 0" in text
    assert [line.rstrip() for line in text.splitlines() if line.strip()] == doctor


def test_launch_confirmation_snapshot_with_a_quota_of_zero(snap_compare: Any, boto_session: Any,
                                                           moto_endpoint: str) -> None:
    """The dialog as a first-time user with a fresh account sees it: every check, the quota
    that fails with how to raise it, and Launch disabled."""
    answer_on_session(boto_session, "service-quotas", "ListServiceQuotas", quota_pages(instance=0))
    app = make_app(backend=SageMakerBackend(boto_session=boto_session), spec=sagemaker_spec())

    async def open_the_dialog(pilot: Any) -> None:
        await pilot.pause()
        await pilot.press("ctrl+l")
        deadline = time.monotonic() + 60  # a guard against a hang, not a timing assertion
        while not (isinstance(pilot.app.screen, LaunchCheckDialog) and pilot.app.screen.rows):
            assert time.monotonic() < deadline, "the checks never answered"
            await pilot.pause(0.05)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=open_the_dialog)
