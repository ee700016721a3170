"""Hostile HTTP, as raw bytes on a socket, against the plugin's server (werkzeug) and `mockattr serve`
(uvicorn): undecodable credentials, a 405's Allow, repeated slashes, and what the journal keeps. Quick, so
that a change of HTTP server cannot bring any of these back unnoticed."""

from __future__ import annotations

import socket
import time
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
    """The base URL of the plugin's werkzeug server, then of a `mockattr serve` process (uvicorn)."""
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


@pytest.mark.parametrize(
    ("raw", "content_type", "noted"),
    [
        ('{"custom": {"age": 7}}'.encode("utf-16"), "application/json", "body: not UTF-8 (a byte order mark"),
        ('{"custom": {"age": 7}}'.encode("utf-32-le"), "application/json", "body: not UTF-8 (a byte order mark"),
        (b'\xef\xbb\xbf{"custom": {"age": 7}}', "application/json", "body: not UTF-8 (a byte order mark"),
        (b'{"custom": {"age": 7}}', "text/plain", "content-type: text/plain, not application/json"),
        (b'{"custom": {"age": 6, "age": 7}}', "application/json", "body: key 'age' given twice in one object"),
    ],
)
def test_json_that_breaks_the_http_rules_is_answered_and_noted(
    base: str, raw: bytes, content_type: str, noted: str
) -> None:
    answer = requests.put(
        base + ATTRIBUTES + "/custom", data=raw, headers={"Content-Type": content_type}, auth=("k", ""), timeout=5
    )
    assert answer.status_code == 200 and answer.json()["custom"]["age"] == 7, "the answer stays the vendor's"
    [entry] = journal(base)
    assert len(entry["violations"]) == 1 and entry["violations"][0].startswith(noted), entry["violations"]


def test_plain_utf8_json_notes_nothing(base: str) -> None:
    requests.put(base + ATTRIBUTES + "/custom", json={"custom": {"channel": "Café"}}, auth=("k", ""), timeout=5)
    assert journal(base)[0]["violations"] == []


SMUGGLED = b"GET /__mockattr/health HTTP/1.1\r\nHost: x\r\n\r\n"


def test_content_length_with_chunked_is_a_400_and_the_connection_closes(base: str) -> None:
    body = b'{"custom":{"age":1}}'
    chunked = hex(len(body))[2:].encode() + b"\r\n" + body + b"\r\n0\r\n\r\n"
    answer = raw(
        base,
        b"PUT " + ATTRIBUTES.encode() + b"/custom HTTP/1.1\r\nHost: x\r\nAuthorization: Basic aw==\r\n"
        b"Content-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunked
        + SMUGGLED,
    )
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert answer.count(b"HTTP/1.1 ") == 1, "nothing past it is read as a second request"
    assert journal(base) == [], "and it reached no operation"


def test_http_1_1_without_host_is_a_400(base: str) -> None:
    answer = raw(base, b"GET /__mockattr/health HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert raw(base, b"GET /__mockattr/health HTTP/1.0\r\n\r\n").split(b" ")[1] == b"200", "HTTP/1.0 needs none"


def test_a_bare_lf_request_is_answered_or_closed_within_the_timeout(base: str) -> None:
    host, port = base.split("://")[1].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=13) as conn:
        conn.sendall(b"GET /__mockattr/health HTTP/1.1\nHost: x\n\n")
        started = time.monotonic()
        try:
            conn.recv(65536)
        except ConnectionResetError:
            pass
        assert time.monotonic() - started < 12


def test_a_body_nested_about_as_deep_as_python_follows_is_never_a_500(base: str) -> None:
    """Where the depth Python's recursion allows runs out depends on the stack: somewhere near 1,000
    levels one check or another used to raise RecursionError, a 500. Every depth there is the vendor's 400."""
    session = requests.Session()
    statuses = set()
    for depth in range(930, 1000, 5):
        body = b'{"custom": {"channel": ' + b"[" * depth + b"]" * depth + b"}}"
        headers = {"Content-Type": "application/json"}
        answer = session.put(base + ATTRIBUTES + "/custom", data=body, headers=headers, auth=("k", ""), timeout=10)
        statuses.add(answer.status_code)
    assert statuses == {400}
