"""`hpo-tui serve` without a browser: the token on every request, loopback by default, the
start screens, and a served tab's stdout carrying nothing but textual-serve's protocol."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from hpo_tui.cli import build_parser
from tests.serve.browser import launch_fake_tuning_job, served

ROOT = Path(__file__).parents[2]


def status_of(url: str, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def test_every_request_needs_the_token() -> None:
    with served("jobs") as (url, server):
        base, token = url.split("?token=")
        cookie = "hpo_tui_token_" + base.rstrip("/").rsplit(":", 1)[1]
        for path in ("", "static/js/textual.js", "static/css/xterm.css", "ws", "download/some-key",
                     "no-such-page"):
            assert status_of(base + path) == 403, path
            assert status_of(base + path + "?token=wrong") == 403, path
            assert status_of(base + path, {"Cookie": f"{cookie}=wrong"}) == 403, path
        assert status_of(url) == 200
        assert status_of(f"{base}static/js/textual.js?token={token}") == 200
        # The page's cookie stands in for the token where textual.js cannot add it (downloads).
        assert status_of(f"{base}static/js/textual.js", {"Cookie": f"{cookie}={token}"}) == 200
        page = urllib.request.urlopen(url, timeout=60).read().decode()
        assert "googleapis" not in page  # the page loads nothing from another host
        assert f"?token={token}" in page
        # The server logs every request, without its query string: the token stays out of the log.
        status_of(f"{base}last-request?token={token}")
        deadline = time.monotonic() + 120
        while not any("/last-request 404" in line for line in server.output) and time.monotonic() < deadline:
            time.sleep(0.1)
        log = [line for line in server.output if not line.startswith(("hpo-tui is served", "From another"))]
        assert any("/last-request 404" in line for line in log) and any(" 403" in line for line in log)
        assert not any(token in line for line in log)


def test_no_token_serves_without_one() -> None:
    with served("--no-token") as (url, _server):
        assert "token" not in url
        assert status_of(url) == 200


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hpo_tui.cli", *args], capture_output=True, text=True,
                          timeout=120)


def test_a_non_loopback_host_needs_allow_remote() -> None:
    result = run_cli("serve", "--host", "0.0.0.0")
    assert result.returncode == 1
    assert "not a loopback address" in result.stderr and "--allow-remote" in result.stderr
    assert "ssh -L 8000:127.0.0.1:8000" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_remote_host_with_allow_remote_prints_the_warning() -> None:
    # 192.0.2.1 is TEST-NET-1, never this machine's: the bind fails, after the warning.
    result = run_cli("serve", "--host", "192.0.2.1", "--allow-remote", "--port", "8123")
    assert "WARNING: serving on 192.0.2.1" in result.stderr and "AWS credentials" in result.stderr
    assert "ssh -L 8123:127.0.0.1:8123" in result.stderr
    assert result.returncode == 1 and "cannot listen on 192.0.2.1:8123" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args, error", [
    (["serve", "attach"], "one tuning job name"),
    (["serve", "status", "x"], "unknown start screen"),
    (["serve", "--max-tabs", "0"], "--max-tabs 0"),
    (["serve", "--port", "70000"], "--port 70000"),
])
def test_bad_serve_arguments_are_named(args: list[str], error: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 1 and error in result.stderr and "Traceback" not in result.stderr


def test_start_screens_map_to_the_tui_commands() -> None:
    from hpo_tui.commands.serve import app_argv

    def argv(*args: str) -> list[str]:
        return app_argv(build_parser().parse_args(["serve", *args]))

    assert argv() == []
    assert argv("attach", "tj-1") == ["attach", "tj-1"]
    assert argv("jobs") == ["jobs", "--tui"]
    assert argv("--backend", "sagemaker", "--region", "eu-west-1", "--interval", "30", "attach", "tj") == [
        "attach", "tj", "--backend", "sagemaker", "--region", "eu-west-1", "--interval", "30.0"]
    assert argv("--interval", "5", "jobs") == ["--interval", "5.0", "jobs", "--tui"]
    # Each maps to a command the TUI parser accepts.
    for args in ([], ["attach", "tj"], ["--interval", "5.0", "jobs", "--tui", "--backend", "local"]):
        assert isinstance(build_parser().parse_args(args), argparse.Namespace)


def read_packets(stream, packets: list[tuple[bytes, bytes]]) -> None:
    """Parse textual-serve's protocol (after the __GANGLION__ line) into `packets` until EOF;
    fail on anything else."""
    assert stream.readline() == b"__GANGLION__\n"
    while True:
        kind = stream.read(1)
        if not kind:
            packets.append((b"EOF", b""))
            return
        assert kind in (b"D", b"M", b"P"), f"not a protocol packet: {kind + stream.read(80)!r}"
        size = int.from_bytes(stream.read(4), "big")
        payload = stream.read(size)
        assert len(payload) == size
        packets.append((kind, payload))


def test_a_served_tab_writes_only_protocol_packets_on_stdout(tmp_path: Path) -> None:
    """Quit with a tuning job still running: stdout holds nothing but packets up to the exit
    packet, and the reattach hint, shown in the tab's quit dialog, is not printed to stderr
    either (textual-serve copies a tab's stderr into the server's log: once per tab)."""
    # One training job that hangs after its epochs: the tuning job is still running at quit.
    name = launch_fake_tuning_job(tmp_path, max_jobs=1, hyperparameters={"hang": 1}, wait=False)
    env = dict(os.environ, TEXTUAL_DRIVER="hpo_tui.app.served:ServedDriver", COLUMNS="100", ROWS="30")
    stderr_path = tmp_path / "stderr.txt"
    with stderr_path.open("wb") as stderr_file:
        app = subprocess.Popen([sys.executable, "-m", "hpo_tui.cli", "attach", name], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=stderr_file, env=env)

    def send(kind: bytes, payload: bytes) -> None:
        assert app.stdin is not None
        app.stdin.write(kind + len(payload).to_bytes(4, "big") + payload)
        app.stdin.flush()

    # q, then enter on the "Quit hpo-tui?" question (Quit is focused), as a browser would type.
    packets: list = []
    reader = threading.Thread(target=read_packets, args=(app.stdout, packets), daemon=True)
    reader.start()
    try:
        _wait_for_screen(packets, name)
        send(b"D", b"q")
        _wait_for_screen(packets, "Quit hpo-tui?")
        send(b"D", b"\r")
        app.wait(timeout=120)
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    reader.join(timeout=60)
    stderr = stderr_path.read_text(errors="replace")
    assert "Reattach with" not in stderr and "keeps running" not in stderr
    assert packets[-1] == (b"EOF", b""), "stdout held something that is not a protocol packet"
    metas = [json.loads(p) for k, p in packets if k == b"M"]
    assert {"type": "exit"} in metas


def _wait_for_screen(packets: list, text: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text.encode() in b"".join(p for k, p in list(packets) if k == b"D"):
            return
        time.sleep(0.1)
    raise AssertionError(f"the served app never showed {text!r}")


def handshake(base: str, path: str, headers: dict[str, str]) -> int:
    """The status of a websocket handshake (101: accepted) with these headers."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.putrequest("GET", path, skip_host=True)
        for key, value in {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                           "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", **headers}.items():
            conn.putheader(key, value)
        conn.endheaders()
        return conn.getresponse().status
    finally:
        conn.close()


def test_a_foreign_origin_or_host_is_refused_even_with_the_token() -> None:
    with served("jobs") as (url, _server):
        base, token = url.split("?token=")
        port = base.rstrip("/").rsplit(":", 1)[1]
        cookie = {"Cookie": f"hpo_tui_token_{port}={token}"}
        own = f"127.0.0.1:{port}"
        ws = f"/ws?token={token}&width=80&height=24"
        # A hostile page on another local port, or on another site, with the (shared) cookie.
        for origin in ("http://127.0.0.1:9999", "http://evil.example", "null"):
            assert handshake(base, ws, {"Host": own, "Origin": origin, **cookie}) == 403, origin
        # A DNS-rebound name: the browser sends its own Host (and Origin) with the request.
        evil = f"evil.example:{port}"
        assert handshake(base, ws, {"Host": evil, "Origin": f"http://{evil}", **cookie}) == 403
        assert status_of(f"{base}?token={token}", {"Host": evil}) == 403
        assert status_of(f"{base}static/js/textual.js?token={token}", {"Origin": "http://evil.example"}) == 403
        # A websocket must say where it comes from (browsers always do).
        assert handshake(base, ws, {"Host": own, **cookie}) == 403
        # The page's own origin still works, under either name of loopback.
        assert handshake(base, ws, {"Host": own, "Origin": f"http://{own}", **cookie}) == 101
        local = f"localhost:{port}"
        assert handshake(base, ws, {"Host": local, "Origin": f"http://{local}", **cookie}) == 101
        assert status_of(f"{base}?token={token}", {"Host": local}) == 200
