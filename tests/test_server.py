"""The HTTP servers themselves — werkzeug's in the pytest plugin and behind ``serve --tls``, uvicorn behind
``mockattr serve``:
silent and slow clients and delayed answers hold no one else up, broken or oversized bodies get the
vendor's answer; a stopped server lets its requests finish (tests/test_cli.py)."""

from __future__ import annotations

import json
import socket
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from support import ServeProcesses, basic

from mockattr.server.app import create_app
from mockattr.serving.tls import generate
from mockattr.serving.werkzeug_server import start_background

ADAM = "cus_de305d54-75b4-431b-adb2-eb6b9e546012"


@dataclass
class Served:
    url: str
    ca: str | bool = True

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.url.split("://")[1].rsplit(":", 1)
        return host, int(port)

    def journal(self, vendor: str) -> list[dict]:
        answer = requests.get(f"{self.url}/__mockattr/requests", params={"vendor": vendor}, verify=self.ca, timeout=5)
        return answer.json()["requests"]


@pytest.fixture(params=["plugin", "serve"])
def server(request: pytest.FixtureRequest, servers: ServeProcesses) -> Iterator[Served]:
    """The plugin's in-process werkzeug server, then a ``mockattr serve`` process (uvicorn)."""
    if request.param == "plugin":
        background = start_background(create_app())
        yield Served(background.url)
        background.stop()
        return
    yield Served(servers.start()[1]["base"])


@pytest.fixture(params=["plugin", "serve"])
def tls_server(request: pytest.FixtureRequest, servers: ServeProcesses) -> Iterator[Served]:
    """The plugin's werkzeug server with TLS, then ``mockattr serve --tls`` (werkzeug too)."""
    if request.param == "serve":
        urls = servers.start("--tls")[1]
        yield Served(urls["base"], urls["CA certificate"])
        return
    with tempfile.TemporaryDirectory() as folder:
        certificates = generate(Path(folder))
        background = start_background(create_app(), ssl_context=certificates.server_context())
        yield Served(background.url, str(certificates.ca_bundle))
        background.stop()


def test_a_silent_tls_client_does_not_stop_the_others(tls_server: Served) -> None:
    with socket.create_connection(tls_server.address):
        response = requests.get(f"{tls_server.url}/__mockattr/health", verify=tls_server.ca, timeout=3)
        assert response.status_code == 200


def test_half_sent_requests_do_not_stop_the_others(server: Served) -> None:
    """More stalled clients than the server has threads: bodies cut short and headers cut short."""
    stalled = []
    try:
        for n in range(24):
            conn = socket.create_connection(server.address, timeout=5)
            stalled.append(conn)
            if n % 2:
                conn.sendall(b"GET /__mockattr/health HTTP/1.1\r\nHo")
            else:
                conn.sendall(
                    b"PUT /chartmogul/v1/customers/" + ADAM.encode() + b"/attributes/custom HTTP/1.1\r\n"
                    b"Host: x\r\nAuthorization: Basic aw==\r\nContent-Length: 100\r\n\r\n{"
                )
        time.sleep(0.2)
        response = requests.get(
            f"{server.url}/chartmogul/v1/customers/{ADAM}/attributes", headers=basic("k"), timeout=5
        )
        assert response.status_code == 200
    finally:
        for conn in stalled:
            conn.close()


def test_broken_chunked_encoding_is_refused_and_changes_nothing(server: Served) -> None:
    with socket.create_connection(server.address, timeout=5) as conn:
        conn.sendall(
            b"PUT /chartmogul/v1/customers/" + ADAM.encode() + b"/attributes/custom HTTP/1.1\r\nHost: x\r\n"
            b"Authorization: Basic aw==\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
        )
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = conn.recv(65536)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith((b"HTTP/1.1 400", b"HTTP/1.1 422")), answer
    state = requests.get(f"{server.url}/__mockattr/state", params={"vendor": "chartmogul"}, headers=basic("k"))
    assert state.json()["customers"][0]["attributes"]["custom"]["salesRep"] == "Gabi"


def test_a_chunked_body_past_one_mebibyte_is_413(server: Served) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"custom": {"channel": "CHUNKED"}}'
        for _ in range(3):
            yield b" " * (1024 * 1024)

    url = f"{server.url}/chartmogul/v1/customers/{ADAM}/attributes/custom"
    response = requests.put(url, data=chunks(), headers={**basic("k"), "Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json() == {"code": 413, "message": "The request body is larger than 1 MiB", "param": None}


def test_serve_refuses_a_body_past_its_spool_limit_without_keeping_it(servers: ServeProcesses) -> None:
    """Past 1 MiB the vendor's 413; past the 8 MiB spool limit the server answers 413 itself."""
    urls = servers.start()[1]
    url = f"{urls['chartmogul']}/v1/customers/{ADAM}/attributes/custom"
    huge = b'{"custom": {"channel": "' + b"x" * (9 * 1024 * 1024) + b'"}}'
    response = requests.put(url, data=huge, headers={**basic("k"), "Content-Type": "application/json"})
    assert response.status_code == 413
    after = requests.get(f"{urls['chartmogul']}/v1/customers/{ADAM}/attributes", headers=basic("k"), timeout=5)
    assert after.status_code == 200 and after.json()["custom"]["channel"] == "Facebook"


def test_serve_queues_a_burst_quietly(servers: ServeProcesses) -> None:
    """More delayed requests at once than threads: each is answered, and stderr stays quiet (waitress,
    the server before, wrote a "Task queue depth" warning for each one queued)."""
    process, urls = servers.start()
    fault = {"vendor": "chartmogul", "operation": "retrieve", "delay": 0.3, "times": 24}
    assert requests.post(f"{urls['admin']}/faults", json=fault, timeout=5).status_code == 201
    url = f"{urls['chartmogul']}/v1/customers/{ADAM}/attributes"
    with ThreadPoolExecutor(24) as pool:
        statuses = list(pool.map(lambda _: requests.get(url, headers=basic("k"), timeout=30).status_code, range(24)))
    assert statuses == [200] * 24
    assert "Task queue depth" not in servers.stderr(process)


def test_a_body_cut_short_is_the_vendors_400_on_the_plugins_server() -> None:
    """The client announces a 50-byte body, sends none and closes its side: werkzeug's server sees the
    body end early (ClientDisconnected), and the answer is a 400 in the vendor's body, not a 500."""
    background = start_background(create_app())
    try:
        host, port = background.url.split("://")[1].rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=10) as client:
            client.sendall(
                f"PUT /chartmogul/v1/customers/{ADAM}/attributes/custom HTTP/1.1\r\nHost: x\r\n"
                "Authorization: Basic a2V5Og==\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n".encode()
            )
            client.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := client.recv(65536):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.split(b" ", 2)[1] == b"400", answer
        assert set(json.loads(body)) == {"code", "message", "param"}
    finally:
        background.stop()


@pytest.mark.parametrize("stalls", ["silent", "mid-request"])
def test_a_silent_connection_is_closed_after_10_seconds(server: Served, stalls: str) -> None:
    """README: "a connection silent for 10 s is closed", from its start or mid-request."""
    with socket.create_connection(server.address, timeout=20) as conn:
        if stalls == "mid-request":
            conn.sendall(b"GET /__mockattr/health HTTP/1.1\r\nHo")
        started = time.monotonic()
        try:
            closed = conn.recv(1024)
        except ConnectionResetError:
            closed = b""
        waited = time.monotonic() - started
    assert closed == b"" and 9 <= waited <= 13, (closed, waited)


@pytest.mark.parametrize("network", [None, "slow"])
def test_a_delayed_answer_holds_no_one_else_up(server: Served, network: str | None) -> None:
    """``mockattr serve`` answers most requests on its event loop; one that waits (a fault's delay) is
    handed to a thread, so the others go on being answered meanwhile."""
    fault = {"vendor": "chartmogul", "operation": "retrieve", "delay": 3.0, "key": "slow", "network": network}
    assert requests.post(f"{server.url}/__mockattr/faults", json=fault, timeout=5).status_code == 201
    url = f"{server.url}/chartmogul/v1/customers/{ADAM}/attributes"
    with ThreadPoolExecutor(1) as pool:
        delayed = pool.submit(requests.get, url, headers=basic("slow"), timeout=10)
        time.sleep(0.3)
        started = time.monotonic()
        assert requests.get(url, headers=basic("k"), timeout=5).status_code == 200
        assert time.monotonic() - started < 1.5
        answer = delayed.result()
    assert answer.status_code == 200 and answer.json()["custom"]["salesRep"] == "Gabi"
    assert [e["status"] for e in server.journal("chartmogul")] == [200, 200], "each journaled once"


def test_serve_refuses_a_request_head_past_256_kib(servers: ServeProcesses) -> None:
    urls = servers.start()[1]
    host, port = urls["base"].split("://")[1].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        # a head that never ends, just past the limit: the server reads all of it before it answers
        conn.sendall(b"GET /__mockattr/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (257 * 1024))
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 431"), answer[:100]
    assert requests.get(urls["base"] + "/__mockattr/health", timeout=5).status_code == 200
