"""Hostile HTTP, as raw bytes on a socket, against the plugin's server (werkzeug) and `mockattr serve`
(waitress): undecodable credentials, a 405's Allow, repeated slashes, and what the journal keeps. Quick, so
that a change of HTTP server cannot bring any of these back unnoticed."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import requests
from support import ServeProcesses

from mockattr.server.app import create_app
from mockattr.server.runtime import runtime_of
from mockattr.serving.werkzeug_server import start_background

ADAM = "cus_de305d54-75b4-431b-adb2-eb6b9e546012"
ATTRIBUTES = f"/chartmogul/v1/customers/{ADAM}/attributes"


@pytest.fixture(params=["plugin", "serve"])
def base(request: pytest.FixtureRequest, servers: ServeProcesses) -> Iterator[str]:
    """The base URL of the plugin's werkzeug server, then of a `mockattr serve` process (waitress)."""
    if request.param == "plugin":
        background = start_background(create_app())
        yield background.url
        background.stop()
    else:
        yield servers.start()[1]["base"]


def raw(base: str, request: bytes) -> bytes:
    """Send ``request`` as it is; what comes back until the server closes (or 5 s pass)."""
    host, port = base.split("://")[1].rsplit(":", 1)
    received = b""
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(request)
        try:
            while chunk := conn.recv(65536):
                received += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    return received


def journal(base: str) -> list[dict]:
    return requests.get(base + "/__mockattr/requests", timeout=5).json()["requests"]


@pytest.mark.parametrize(
    ("path", "header"),
    [
        (ATTRIBUTES, b"Authorization: Basic \xe9\xe9=="),
        (ATTRIBUTES, b"Authorization: Basic //4="),  # base64 of bytes that are not UTF-8
        (ATTRIBUTES, b"Authorization: Basic not base64!"),
    ],
)
def test_an_undecodable_credential_is_the_vendors_401_and_journaled(base: str, path: str, header: bytes) -> None:
    answer = raw(base, f"GET {path} HTTP/1.1\r\nHost: x\r\n".encode() + header + b"\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    [entry] = journal(base)
    assert entry["status"] == 401 and entry["violations"] == ["credential: missing or malformed"]


def test_a_non_ascii_bearer_token_is_a_token_like_any_other(base: str) -> None:
    answer = raw(
        base,
        b"GET /invisible_collector/customers/x HTTP/1.1\r\nHost: x\r\n"
        b"Authorization: Bearer \xe9\xe9\r\nConnection: close\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 404"), answer[:200]  # the tenant has no customer x
    assert [e["status"] for e in journal(base)] == [404]


def test_an_undecodable_credential_on_the_admin_api_is_no_500(base: str) -> None:
    answer = raw(
        base,
        b"GET /__mockattr/state?vendor=chartmogul HTTP/1.1\r\nHost: x\r\n"
        b"Authorization: Basic \xe9\xe9==\r\nConnection: close\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]  # no credential read: the fixtures


def test_a_405_says_which_methods_are_allowed(base: str) -> None:
    answer = requests.patch(base + ATTRIBUTES + "/custom", auth=("k", ""), timeout=5)
    assert answer.status_code == 405
    assert set(answer.headers["Allow"].split(", ")) >= {"POST", "PUT", "DELETE"}


def test_repeated_slashes_are_merged_as_nginx_does(base: str) -> None:
    """Invisible Collector's Go client's default base URL ends in `/`: `.../invisible_collector//customers/x`."""
    bearer = {"Authorization": "Bearer k"}
    created = requests.post(
        base + "/invisible_collector//customers",
        json={"name": "Slash", "vatNumber": "1", "country": "PT", "externalId": "slash"},
        headers=bearer,
        timeout=5,
    )
    assert created.status_code == 200, created.text
    assert requests.get(base + "/invisible_collector//customers//slash", headers=bearer, timeout=5).status_code == 200
    assert requests.get(base + "//chartmogul" + ATTRIBUTES[11:], auth=("k", ""), timeout=5).status_code == 200


def test_an_answer_that_ends_in_a_500_is_journaled(monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app()
    vendor = runtime_of(app).vendors["chartmogul"]  # shared by every app of this process: put back after

    def broken(call: object) -> object:
        raise OSError(28, "No space left on device")

    monkeypatch.setitem(vendor.handlers, "update", broken)
    server = start_background(app)
    try:
        answer = requests.put(server.url + ATTRIBUTES + "/custom", json={"custom": {"age": 1}}, auth=("k", ""))
        assert answer.status_code == 500
        [entry] = journal(server.url)
        assert (entry["operation"], entry["status"], entry["request_body"]) == ("update", 500, {"custom": {"age": 1}})
    finally:
        server.stop()
