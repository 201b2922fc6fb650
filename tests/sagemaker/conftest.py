"""SageMaker-area fixtures: a moto server on 127.0.0.1, fake credentials, and a guard that
fails any test that opens a connection (or resolves a name) outside the loopback interface;
the SageMaker spec the launch tests start from.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_guard: dict[str, Any] = {"on": False, "violations": []}
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def _is_loopback(host: Any) -> bool:
    if host is None:
        return True  # bind/any-address lookups
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    host = str(host).strip("[]")
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _guard["on"]:
        return
    if event == "socket.connect":
        sock, address = args
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
            _guard["violations"].append(f"connect to {address!r}")
            raise ConnectionRefusedError(f"test guard: non-loopback connect to {address!r}")
    elif event == "socket.getaddrinfo":
        host = args[0]
        if not _is_loopback(host):
            _guard["violations"].append(f"name lookup of {host!r}")
            raise socket.gaierror(f"test guard: name lookup of {host!r}")


# Audit hooks cannot be removed; this one only acts while a test of this area runs.
sys.addaudithook(_audit)


@pytest.fixture(autouse=True)
def loopback_only() -> Iterator[None]:
    """Fail the test if anything tried to reach a non-loopback address (even if it was handled)."""
    _guard["violations"] = []
    _guard["on"] = True
    try:
        yield
    finally:
        _guard["on"] = False
    assert not _guard["violations"], f"test tried to leave the machine: {_guard['violations']}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region; any endpoint is a closed loopback port unless overridden."""
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_REGION",
                "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("SAGEMAKER_ROLE_ARN", raising=False)


_shared_loader: list[Any] = []


@pytest.fixture()
def boto_session(fake_aws: None) -> Any:
    """A fresh boto3 session (fake credentials) whose parsed service models are shared between
    tests: parsing SageMaker's model again for every test costs more than the tests themselves."""
    import boto3
    import botocore.loaders
    import botocore.session

    if not _shared_loader:
        _shared_loader.append(botocore.loaders.create_loader())
    core = botocore.session.get_session()
    core.register_component("data_loader", _shared_loader[0])
    return boto3.Session(botocore_session=core)


@pytest.fixture()
def stubbed(boto_session: Any) -> Iterator[tuple[Any, Any, Any]]:
    """(backend, sagemaker Stubber, logs Stubber): a SageMakerBackend whose two polling clients
    answer only what a test queued; every queued answer must have been asked for."""
    from botocore.stub import Stubber

    from hpo_tui.backends.sagemaker import SageMakerBackend

    backend = SageMakerBackend(boto_session=boto_session)
    sm, logs = Stubber(backend.client("sagemaker")), Stubber(backend.client("logs"))
    with sm, logs:
        yield backend, sm, logs
        sm.assert_no_pending_responses()
        logs.assert_no_pending_responses()


@pytest.fixture(scope="session")
def _moto_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture()
def moto_endpoint(_moto_server: str, fake_aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """A clean moto server (state reset) that every boto3 client of the test talks to over HTTP."""
    import urllib.request

    monkeypatch.setenv("AWS_ENDPOINT_URL", _moto_server)
    host = _moto_server.split("//", 1)[1].split(":", 1)[0]
    assert ipaddress.ip_address(host).is_loopback
    with urllib.request.urlopen(urllib.request.Request(f"{_moto_server}/moto-api/reset", method="POST")) as r:
        assert r.status == 200
    # The SDK asks STS for the account (to name and check its default bucket) on a client with
    # an explicit regional endpoint, which AWS_ENDPOINT_URL does not override: in tests only,
    # point that endpoint at the moto server too.
    import os

    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    import sagemaker.session

    monkeypatch.setattr(sagemaker.session, "sts_regional_endpoint", lambda region: _moto_server)
    # The account's execution role and SageMaker's public MNIST sample data, as on AWS: the
    # pre-flight checks of a launch look for both.
    from tests.sagemaker.account import make_role, make_sample_data

    make_role()
    make_sample_data()
    return _moto_server


@pytest.fixture()
def source_dir(tmp_path: Path) -> Path:
    """A training source dir with an entry point, as the SDK uploads it."""
    src = tmp_path / "training-src"
    src.mkdir()
    (src / "mnist.py").write_text("print('Epoch[0] Validation-accuracy=0.5')\n")
    (src / "requirements.txt").write_text("")
    return src


def make_spec(source_dir: Path, name: str = "hpo-moto-1") -> Any:
    """The default spec on the SageMaker backend, named, with the test role and source_dir."""
    from hpo_tui.spec import TuningSpec
    from tests.sagemaker.fixtures import ROLE

    spec = TuningSpec(backend="sagemaker")
    spec.estimator.source_dir = str(source_dir)
    spec.sagemaker.role_arn = ROLE
    spec.tuning_job_name = name
    return spec


def no_traceback(text: str) -> None:
    """What a command printed holds no Python traceback."""
    assert "Traceback" not in text and "File \"" not in text, text


def answer_locally(client: Any, method: str, responses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Serve one operation moto lacks from validated canned pages, as botocore's Stubber does,
    while every other operation of the same client still goes to the moto server.

    Returns the list of request parameters received, one per call.
    """
    from botocore.awsrequest import AWSResponse
    from botocore.validate import validate_parameters

    operation = client.meta.method_to_api_mapping[method]
    output_shape = client.meta.service_model.operation_model(operation).output_shape
    for response in responses:
        validate_parameters(response, output_shape)  # same check Stubber.add_response makes
    queue = list(responses)
    received: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        received.append(dict(params))

    def handler(**_: Any) -> tuple[Any, dict[str, Any]]:
        assert queue, f"unexpected extra {operation} call"
        return AWSResponse(None, 200, {}, None), queue.pop(0)

    service_id = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"provide-client-params.{service_id}.{operation}", record)
    client.meta.events.register_first(f"before-call.{service_id}.{operation}", handler)
    return received


def answer_on_session(session: Any, service: str, operation: str, responses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """As answer_locally, for every client made from `session` afterwards (the CLI's own)."""
    from botocore.awsrequest import AWSResponse
    from botocore.validate import validate_parameters

    model = session._session.get_service_model(service)
    output_shape = model.operation_model(operation).output_shape
    for response in responses:
        if output_shape is not None:  # operations without output take {}
            validate_parameters(response, output_shape)
        else:
            assert response == {}
    queue = list(responses)
    received: list[dict[str, Any]] = []
    service_id = model.service_id.hyphenize()

    def record(params: dict[str, Any], **_: Any) -> None:
        received.append(dict(params))

    def handler(**_: Any) -> tuple[Any, dict[str, Any]]:
        assert queue, f"unexpected extra {operation} call"
        return AWSResponse(None, 200, {}, None), queue.pop(0)

    session.events.register(f"provide-client-params.{service_id}.{operation}", record)
    session.events.register_first(f"before-call.{service_id}.{operation}", handler)
    return received


def record_calls(session: Any) -> list[str]:
    """Every API call made by clients of `session` (created afterwards), by operation name."""
    calls: list[str] = []
    session.events.register("provide-client-params", lambda model, **_: calls.append(model.name))
    return calls


def count_calls(backend: Any) -> list[str]:
    """Every API call the backend's two polling clients make, by operation name."""
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    for service in ("sagemaker", "logs"):
        backend.client(service).meta.events.register("provide-client-params", record)
    return calls


@pytest.fixture()
def cli_session(boto_session: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The CLI's SageMaker backend builds its own boto3 session; in these tests it gets this
    one (same credentials, same endpoint), so handlers registered on it apply to the CLI too."""
    import boto3

    monkeypatch.setattr(boto3, "Session", lambda *args, **kwargs: boto_session)
    return boto_session
