"""AWS text is outside input too (issue 13): escape sequences in AWS error messages and in
training jobs' FailureReason never reach the terminal. botocore's Stubber, no network."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber

from hpo_tui.backends.base import BackendError
from hpo_tui.backends.sagemaker import SageMakerBackend
from tests.sagemaker.stubs import describe_response, no_log_events, pages, training_summary

NAME = "hpo-hostile"
ESCAPES = "\x1b]52;c;aGFja2Vk\x07\x1b[2J\x9b31m"


@pytest.fixture()
def backend(boto_session: Any) -> SageMakerBackend:
    return SageMakerBackend(boto_session=boto_session)


@pytest.fixture()
def stubs(backend: SageMakerBackend) -> Iterator[tuple[Stubber, Stubber]]:
    sm, logs = Stubber(backend.client("sagemaker")), Stubber(backend.client("logs"))
    with sm, logs:
        yield sm, logs


def assert_clean(text: str) -> None:
    assert not any(ch in text for ch in ("\x1b", "\x07", "\x9b")), repr(text)


def test_escape_sequences_in_aws_messages_are_stripped(backend: SageMakerBackend, stubs: Any) -> None:
    sm, _ = stubs
    sm.add_client_error("describe_hyper_parameter_tuning_job", "ValidationException",
                        f"Value{ESCAPES} is not valid", 400)
    with pytest.raises(BackendError) as err:
        backend.poll(NAME)
    assert_clean(str(err.value))
    assert "Value is not valid" in str(err.value)


def test_escape_sequences_in_aws_failure_reasons_are_stripped(backend: SageMakerBackend, stubs: Any) -> None:
    sm, logs = stubs
    summaries = [training_summary(NAME, 0, status="Failed", objective_status="Failed",
                                  failure_reason=f"AlgorithmError:{ESCAPES} boom")]
    sm.add_response("describe_hyper_parameter_tuning_job", describe_response(NAME, max_jobs=1),
                    {"HyperParameterTuningJobName": NAME})
    for response, params in pages(NAME, summaries):
        sm.add_response("list_training_jobs_for_hyper_parameter_tuning_job", response, params)
    logs.add_response("filter_log_events", no_log_events(), None)
    snap = backend.poll(NAME)
    reason = snap.training_jobs[0].failure_reason
    assert_clean(reason)
    assert reason == "AlgorithmError: boom"


def test_escape_sequences_in_tuned_hyperparameter_values_are_stripped(backend: SageMakerBackend, stubs: Any) -> None:
    sm, logs = stubs
    value = '"ad' + ESCAPES.replace("\x1b", "\\u001b").replace("\x07", "\\u0007").replace("\x9b", "\\u009b") + 'am"'
    summaries = [training_summary(NAME, 0, hyperparameters={"optimizer": value, "learning_rate": "0.1"})]
    sm.add_response("describe_hyper_parameter_tuning_job", describe_response(NAME, max_jobs=1),
                    {"HyperParameterTuningJobName": NAME})
    for response, params in pages(NAME, summaries):
        sm.add_response("list_training_jobs_for_hyper_parameter_tuning_job", response, params)
    logs.add_response("filter_log_events", no_log_events(), None)
    shown = backend.poll(NAME).training_jobs[0].hyperparameters["optimizer"]
    assert_clean(shown)
    assert shown == "adam"  # the SDK's JSON quoting undone, the escapes gone
