"""The HTTP server itself: TLS handshakes off the accept loop, broken transfer encodings."""

from __future__ import annotations

import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from mockattr.app import create_app
from mockattr.server import BackgroundServer, start_background
from mockattr.tls import generate


@pytest.fixture
def tls_server() -> Iterator[tuple[BackgroundServer, str]]:
    with tempfile.TemporaryDirectory() as folder:
        certificates = generate(Path(folder))
        server = start_background(create_app(), ssl_context=certificates.server_context())
        yield server, str(certificates.ca_bundle)
        server.stop()


def test_a_silent_tls_client_does_not_stop_the_others(tls_server: tuple[BackgroundServer, str]) -> None:
    server, ca = tls_server
    silent = socket.create_connection(server.server.server_address[:2])
    try:
        response = requests.get(f"{server.url}/__mockattr/health", verify=ca, timeout=3)
        assert response.status_code == 200
    finally:
        silent.close()


def test_broken_chunked_encoding_is_the_vendors_422(mockattr) -> None:
    host, port = mockattr.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(
            b"POST /invisible_collector/customers/100001/attributes HTTP/1.1\r\nHost: x\r\n"
            b"Authorization: Bearer k\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
        )
        answer = ""
        while "}" not in answer:
            chunk = conn.recv(65536).decode()
            if not chunk:
                break
            answer += chunk
    assert answer.startswith("HTTP/1.1 422"), answer
    assert '"code":422' in answer
    [entry] = mockattr.requests("invisible_collector")
    assert entry.violations[0].startswith("body: unreadable")


def test_a_half_sent_request_does_not_stop_the_others(mockattr) -> None:
    host, port = mockattr.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as slow:
        slow.sendall(
            b"PUT /chartmogul/v1/customers/x/attributes/custom HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"
        )
        response = requests.get(mockattr.base_url + "/__mockattr/health", timeout=3)
        assert response.status_code == 200
