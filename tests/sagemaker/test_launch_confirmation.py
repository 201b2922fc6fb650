"""The TUI's SageMaker launch confirmation shows the account's pre-flight checks, the same
summary `hpo-tui doctor` prints (Pilot, the real app and backend, against moto)."""

from __future__ import annotations

import time
from typing import Any

from textual.widgets import Button, Static

from hpo_tui.app.app import make_app
from hpo_tui.app.screens.launch_check import LaunchCheckDialog
from hpo_tui.backends.sagemaker import SageMakerBackend
from hpo_tui.backends.sagemaker.checks import summary_lines
from hpo_tui.spec import TuningSpec
from tests.sagemaker.account import ROLE, quota_pages
from tests.sagemaker.conftest import answer_on_session

SIZE = (160, 50)


def sagemaker_spec() -> TuningSpec:
    spec = TuningSpec(backend="sagemaker")
    spec.sagemaker.role_arn = ROLE
    return spec


async def confirmation_of(session: Any, spec: TuningSpec) -> tuple[str, bool, list[str]]:
    """Press ctrl+l; return the dialog's checks text, whether Launch is enabled, and what
    doctor's summary of the same account says."""
    backend = SageMakerBackend(boto_session=session)
    app = make_app(backend=backend, spec=spec)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+l")
        deadline = time.monotonic() + 60  # a guard against a hang, not a timing assertion
        while not (isinstance(app.screen, LaunchCheckDialog)
                   and "Checking" not in str(app.screen.query_one("#preflight", Static).render())):
            assert time.monotonic() < deadline, "the checks never answered"
            await pilot.pause(0.05)
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = str(app.screen.query_one("#preflight", Static).render())
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
