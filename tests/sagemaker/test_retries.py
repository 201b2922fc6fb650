"""botocore's own retries absorb a short throttling burst: a loopback proxy in front of the
moto server answers the first calls with ThrottlingException (HTTP 400, "Rate exceeded")."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from hpo_tui.backends.sagemaker import SageMakerBackend
from tests.sagemaker.conftest import make_spec


class ThrottlingProxy(ThreadingHTTPServer):
    throttle_left = 0
    seen: list[str]
    upstream = ""


class _Handler(BaseHTTPRequestHandler):
    server: ThrottlingProxy

    def log_message(self, *_: object) -> None:  # keep test output clean
        pass

    def _relay(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.headers.get("X-Amz-Target", "")
        self.server.seen.append(target)
        if target.endswith("ListHyperParameterTuningJobs") and self.server.throttle_left > 0:
            self.server.throttle_left -= 1
            payload = b'{"__type": "ThrottlingException", "message": "Rate exceeded"}'
            self.send_response(400)
            self.send_header("Content-Type", "application/x-amz-json-1.1")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in {"host", "content-length"}}
        request = urllib.request.Request(self.server.upstream + self.path, data=body or None, headers=headers, method=self.command)
        try:
            with urllib.request.urlopen(request) as response:
                status, reply, reply_headers = response.status, response.read(), response.headers
        except urllib.error.HTTPError as err:
            status, reply, reply_headers = err.code, err.read(), err.headers
        self.send_response(status)
        for key, value in reply_headers.items():
            if key.lower() not in {"content-length", "transfer-encoding", "connection", "server", "date"}:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _relay


@pytest.fixture()
def proxy(moto_endpoint: str) -> Iterator[ThrottlingProxy]:
    server = ThrottlingProxy(("127.0.0.1", 0), _Handler)
    server.seen = []
    server.upstream = moto_endpoint
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_a_short_throttling_burst_is_retried_by_botocore(
    boto_session: Any, proxy: ThrottlingProxy, source_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = SageMakerBackend(boto_session=boto_session).launch(make_spec(source_dir, "hpo-retried"))  # straight to moto
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{proxy.server_address[1]}")
    backend = SageMakerBackend(boto_session=boto_session)
    proxy.throttle_left = 2

    jobs = backend.list_tuning_jobs()

    assert [j.name for j in jobs] == [name]
    assert proxy.seen.count("SageMaker.ListHyperParameterTuningJobs") == 3  # 2 throttled + 1 answered
    assert proxy.throttle_left == 0
