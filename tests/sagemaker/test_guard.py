"""The loopback guard of this area really stops a connection to the outside world."""

from __future__ import annotations

import socket

import pytest

from tests.sagemaker import conftest


def test_non_loopback_connect_is_refused_and_recorded() -> None:
    with socket.socket() as sock, pytest.raises(OSError):
        sock.connect(("192.0.2.1", 443))  # TEST-NET-1, never routed
    with pytest.raises(OSError):
        socket.getaddrinfo("example.com", 443)
    assert conftest._guard["violations"] == ["connect to ('192.0.2.1', 443)", "name lookup of 'example.com'"]
    conftest._guard["violations"].clear()  # handled here, so this test itself passes


def test_loopback_is_allowed() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=1):
            pass
