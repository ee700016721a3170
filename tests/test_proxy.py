"""``mockattr proxy`` as a user runs it: in front of a ``mockattr serve``, of a vendor that drifts from the
contract and of one that is down; its journal, its HAR file, the CLI and the pytest plugin through it."""

from __future__ import annotations

import base64
import gzip
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import chartmogul
import pytest
import requests
from click.testing import CliRunner
from support import basic

from mockattr.checking.target import Target
from mockattr.cli import main
from mockattr.server.app import create_app
from mockattr.server.proxy import ProxySettings
from mockattr.serving.werkzeug_server import start_background

ADAM = "cus_de305d54-75b4-431b-adb2-eb6b9e546012"
BEN = "cus_ab223d54-75b4-431b-adb2-eb6b9e234571"
RETRIEVE = f"/v1/customers/{ADAM}/attributes"
UPDATE = f"/v1/customers/{ADAM}/attributes/custom"


@pytest.fixture
def start_proxy() -> Iterator[Any]:
    """``start_proxy(upstreams, **settings)``: a proxy app served in this process; its base URL."""
    servers = []

    def start(upstreams: dict[str, str], root_vendor: str | None = None, **settings: Any) -> str:
        server = start_background(create_app(root_vendor=root_vendor, proxy=ProxySettings(upstreams, **settings)))
        servers.append(server)
        return server.url

    yield start
    for server in servers:
        server.stop()


def journal(proxy_url: str) -> list[dict[str, Any]]:
    response = requests.get(f"{proxy_url}/__mockattr/requests", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["requests"]


# --- a drifting vendor --------------------------------------------------------------------------


GZIPPED = gzip.compress(json.dumps({"code": 404, "message": "gone", "param": None}).encode())


class DriftingVendor(BaseHTTPRequestHandler):
    """A ChartMogul that breaks its contract: attributes with ``tags`` a string and no ``stripe``, an
    update answered 418 (a status no operation documents), a customer answered in HTML. It keeps
    what it was sent."""

    received: list[tuple[str, str, dict[str, str], bytes]] = []

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.received.append((self.command, self.path, dict(self.headers), body))
        path = self.path.partition("?")[0]
        if path.endswith("/attributes"):
            status, kind, payload = 200, "application/json", json.dumps({"tags": "vip", "custom": {}}).encode()
        elif path.endswith("/attributes/custom"):
            status, kind, payload = 418, "application/json", b'{"teapot": true}'
        elif path.endswith("/gzipped"):
            status, kind, payload = 404, "application/json", GZIPPED
        else:
            status, kind, payload = 200, "text/html", b"<html>maintenance</html>"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("X-Vendor-Trace", "trace-42")
        if payload is GZIPPED:
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def drifting() -> Iterator[tuple[str, list[tuple[str, str, dict[str, str], bytes]]]]:
    """A drifting vendor on a free port: its base URL (with a path prefix) and what it received."""
    received: list[tuple[str, str, dict[str, str], bytes]] = []
    handler = type("Handler", (DriftingVendor,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/vendor-prefix", received
    server.shutdown()
    server.server_close()


# --- in front of mockattr serve -------------------------------------------------------------------


def as_data(value: Any) -> str:
    """A chartmogul client result as comparable text."""
    return json.dumps(value, default=lambda o: vars(o) if hasattr(o, "__dict__") else str(o), sort_keys=True)


def client_session(uri: str, key: str) -> list[str]:
    """A run of the official client's calls, reads and writes, each answer as text."""
    cfg = chartmogul.Config(key, max_retries=0)
    cfg.uri = uri
    custom = [{"type": "Integer", "key": "seats", "value": 3, "source": "sdk"}]
    calls = [
        lambda: chartmogul.Attributes.retrieve(cfg, uuid=BEN),
        lambda: chartmogul.CustomAttributes.add(cfg, uuid=ADAM, data={"custom": custom}),
        lambda: chartmogul.CustomAttributes.update(cfg, uuid=ADAM, data={"custom": {"seats": 4}}),
        lambda: chartmogul.Tags.add(cfg, uuid=BEN, data={"tags": ["vip"]}),
        lambda: chartmogul.Customer.modify(cfg, uuid=BEN, data={"city": "Oslo", "attributes": {"tags": ["x"]}}),
        lambda: chartmogul.CustomAttributes.remove(cfg, uuid=BEN, data={"custom": ["CAC", "SalesRep"]}),
        lambda: chartmogul.Customer.retrieve(cfg, uuid=BEN),
    ]
    answers = [as_data(call().get()) for call in calls]
    with pytest.raises(chartmogul.APIError) as raised:
        chartmogul.Customer.retrieve(cfg, uuid="cus_missing").get()
    return [*answers, raised.value.args[0]]


def test_the_official_client_gets_the_same_answers_through_the_proxy(server_url: str, start_proxy: Any) -> None:
    proxy = start_proxy({"chartmogul": f"{server_url}/chartmogul"})
    direct = client_session(f"{server_url}/chartmogul/v1", "direct-key")
    proxied = client_session(f"{proxy}/chartmogul/v1", "proxied-key")
    assert proxied == direct
    assert '"city": "Oslo"' in proxied[4] and proxied[5] == "null"
    entries = journal(proxy)
    assert [e["operation"] for e in entries] == [
        "retrieve", "add", "update", "tags_add", "customer_update", "remove", "customer_get", "customer_get"
    ]  # fmt: skip
    assert [e["status"] for e in entries] == [200, 200, 200, 200, 200, 204, 200, 404]
    assert all(e["drift"] == [] and e["violations"] == [] for e in entries), entries
    assert entries[1]["headers"]["Authorization"] == "[redacted]"
    upstream = requests.get(f"{server_url}/__mockattr/requests", params={"vendor": "chartmogul"}, timeout=10).json()
    sent = [e["path"] for e in upstream["requests"]]
    assert sent.count(f"/chartmogul/v1/customers/{BEN}") == 4, "the upstream saw both runs' customer calls"


def test_health_names_the_upstreams_so_check_holds_the_open_level(server_url: str, start_proxy: Any) -> None:
    proxy = start_proxy({"chartmogul": f"{server_url}/chartmogul", "bunce": f"{server_url}/bunce"})
    health = requests.get(f"{proxy}/__mockattr/health", timeout=10).json()
    assert health["upstreams"] == {"chartmogul": f"{server_url}/chartmogul", "bunce": f"{server_url}/bunce"}
    assert health["vendors"] == {"chartmogul": "/chartmogul", "bunce": "/bunce"}
    assert requests.get(f"{proxy}/invisible_collector/customers/x", timeout=10).status_code == 404
    assert Target(proxy).is_mock is False and Target(server_url).is_mock is True


def test_admin_on_a_proxy_resets_the_journal_and_has_no_state(server_url: str, start_proxy: Any) -> None:
    proxy = start_proxy({"chartmogul": f"{server_url}/chartmogul"})
    requests.get(f"{proxy}/chartmogul{RETRIEVE}", headers=basic("k"), timeout=10)
    assert len(journal(proxy)) == 1
    assert requests.post(f"{proxy}/__mockattr/reset", timeout=10).status_code == 200
    assert journal(proxy) == []
    for method, path in [("GET", "state"), ("POST", "seed")]:
        answer = requests.request(method, f"{proxy}/__mockattr/{path}?vendor=chartmogul", json={}, timeout=10)
        assert answer.status_code == 409 and "proxy" in answer.json()["error"], answer.text


# --- drift, violations, an upstream down -----------------------------------------------------------


def test_drift_is_journaled_and_the_answer_passes_through_unchanged(drifting: Any, start_proxy: Any) -> None:
    upstream, received = drifting
    proxy = start_proxy({"chartmogul": upstream})

    shape = requests.get(f"{proxy}/chartmogul{RETRIEVE}?x=1", headers=basic("k"), timeout=10)
    assert shape.status_code == 200 and shape.json() == {"tags": "vip", "custom": {}}
    assert shape.headers["X-Vendor-Trace"] == "trace-42"
    status = requests.put(f"{proxy}/chartmogul{UPDATE}", json={"custom": {"a": 1}}, headers=basic("k"), timeout=10)
    assert status.status_code == 418 and status.json() == {"teapot": True}
    html = requests.get(f"{proxy}/chartmogul/v1/customers/{ADAM}", headers=basic("k"), timeout=10)
    assert html.status_code == 200 and html.text == "<html>maintenance</html>"
    assert html.headers["Content-Type"] == "text/html"

    assert [(method, path) for method, path, _, _ in received] == [
        ("GET", f"/vendor-prefix/v1/customers/{ADAM}/attributes?x=1"),
        ("PUT", f"/vendor-prefix/v1/customers/{ADAM}/attributes/custom"),
        ("GET", f"/vendor-prefix/v1/customers/{ADAM}"),
    ]
    assert received[0][2]["Host"] == upstream.split("/")[2], "Host names the upstream"
    retrieve, update, customer = journal(proxy)
    assert any(d.startswith("body tags:") and "array" in d for d in retrieve["drift"]), retrieve["drift"]
    assert any("stripe" in d for d in retrieve["drift"]), retrieve["drift"]
    assert update["drift"] == ["status 418: not documented for update (documented: 200, 400, 401, 404, 413)"]
    assert customer["drift"] and "not JSON" in customer["drift"][0]
    assert all(e["violations"] == [] for e in (retrieve, update, customer))
    assert retrieve["response_body"] == {"tags": "vip", "custom": {}}


def test_one_vendor_at_the_root(drifting: Any, start_proxy: Any) -> None:
    upstream, received = drifting
    proxy = start_proxy({"chartmogul": upstream}, root_vendor="chartmogul")
    assert requests.get(f"{proxy}{RETRIEVE}", headers=basic("k"), timeout=10).status_code == 200
    assert received[0][1] == f"/vendor-prefix{RETRIEVE}"
    assert [(e["path"], e["operation"]) for e in journal(proxy)] == [(RETRIEVE, "retrieve")]


def test_a_compressed_answer_passes_through_as_sent_and_is_checked_decoded(drifting: Any, start_proxy: Any) -> None:
    proxy = start_proxy({"chartmogul": drifting[0]})
    answer = requests.get(f"{proxy}/chartmogul/v1/customers/gzipped", headers=basic("k"), stream=True, timeout=10)
    assert answer.headers["Content-Encoding"] == "gzip" and answer.raw.read(decode_content=False) == GZIPPED
    [entry] = journal(proxy)
    assert entry["response_body"] == {"code": 404, "message": "gone", "param": None} and entry["drift"] == []


def test_a_request_that_breaks_the_contract_is_forwarded_and_journaled(drifting: Any, start_proxy: Any) -> None:
    upstream, received = drifting
    proxy = start_proxy({"chartmogul": upstream})
    answer = requests.put(f"{proxy}/chartmogul{UPDATE}", json={"custom": ["pro"]}, timeout=10)  # no credential
    assert answer.status_code == 418, "the vendor answered, not the proxy"
    [(method, _, headers, body)] = received
    assert method == "PUT" and json.loads(body) == {"custom": ["pro"]} and "Authorization" not in headers
    [entry] = journal(proxy)
    assert entry["violations"] == ["credential: missing or malformed", "custom: must be of type object, not array"]
    unrouted = requests.post(f"{proxy}/chartmogul/v1/not/an/operation", data=b"raw", timeout=10)
    assert unrouted.status_code == 200 and received[-1][1] == "/vendor-prefix/v1/not/an/operation"
    last = journal(proxy)[-1]
    assert last["operation"] is None and last["drift"] == [] and last["violations"] == []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_upstream_that_is_down_is_a_quick_502_in_the_vendors_body(start_proxy: Any) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    proxy = start_proxy({"chartmogul": down, "bunce": down})
    started = time.monotonic()
    answer = requests.get(f"{proxy}/chartmogul{RETRIEVE}", headers=basic("k"), timeout=10)
    assert time.monotonic() - started < 3
    assert answer.status_code == 502
    assert answer.json() == {"code": 502, "message": f"Upstream {down} unreachable: connection refused", "param": None}
    bunce = requests.get(f"{proxy}/bunce/v1/attributes", headers={"X-Authorization": "k"}, timeout=10)
    assert bunce.status_code == 502 and bunce.json()["success"] is False and "refused" in bunce.json()["message"]
    assert [e["status"] for e in journal(proxy)] == [502, 502]


def test_an_upstream_that_refuses_tls_is_a_502_naming_the_tls_error(drifting: Any, start_proxy: Any) -> None:
    """https to a server that speaks plain HTTP, on an operation's path and on one no operation serves."""
    upstream, _ = drifting
    proxy = start_proxy({"chartmogul": upstream.replace("http://", "https://")})
    for path in (RETRIEVE, "/v1/plans"):
        answer = requests.get(f"{proxy}/chartmogul{path}", headers=basic("k"), timeout=10)
        assert answer.status_code == 502, answer.text
        message = answer.json()["message"]
        assert "TLS refused" in message and "SSL" in message and "set()" not in message, message


def test_an_upstream_that_never_answers_is_a_502_after_the_timeout(start_proxy: Any) -> None:
    with socket.socket() as silent:  # accepts connections (the backlog does) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        upstream = f"http://127.0.0.1:{silent.getsockname()[1]}"
        proxy = start_proxy({"chartmogul": upstream}, timeout=0.5)
        started = time.monotonic()
        answer = requests.get(f"{proxy}/chartmogul{RETRIEVE}", headers=basic("k"), timeout=10)
        assert time.monotonic() - started < 3
    assert answer.status_code == 502 and answer.json()["message"].endswith("unreachable: no answer within 0.5 s")


def test_an_https_upstream_that_never_completes_the_handshake_says_so(start_proxy: Any) -> None:
    with socket.socket() as silent:  # takes the connection, never answers the TLS hello
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        proxy = start_proxy({"chartmogul": f"https://127.0.0.1:{silent.getsockname()[1]}"}, timeout=30)
        answer = requests.get(f"{proxy}/chartmogul{RETRIEVE}", headers=basic("k"), timeout=20)
    assert answer.status_code == 502 and answer.json()["message"].endswith("no TLS handshake within 5 s"), answer.text


# --- the CLI and the HAR file ----------------------------------------------------------------------


HAR_ENTRY_FIELDS = {"startedDateTime", "time", "request", "response", "cache", "timings"}
HAR_REQUEST_FIELDS = {"method", "url", "httpVersion", "cookies", "headers", "queryString", "headersSize", "bodySize"}
HAR_RESPONSE_FIELDS = {"status", "statusText", "httpVersion", "cookies", "headers", "content", "redirectURL"}


def test_the_cli_records_every_exchange_as_har_without_credentials(server_url: str, tmp_path: Path) -> None:
    har, key = tmp_path / "traffic.har", "sk-proxy-secret-0042"
    upstreams = {vendor: f"{server_url}/{vendor}" for vendor in ("chartmogul", "bunce")}
    process = subprocess.Popen(
        [sys.executable, "-m", "mockattr", "proxy", "--port", "0", "--record", str(har)]
        + [arg for vendor, url in upstreams.items() for arg in ("--upstream", f"{vendor}={url}")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("mockattr proxy"), first
        proxy = first.split()[-1]
        sent = [
            requests.get(f"{proxy}/chartmogul{RETRIEVE}?page=1", headers=basic(key), timeout=10),
            requests.put(f"{proxy}/chartmogul{UPDATE}", json={"custom": {"salesRep": "Al"}}, headers=basic(key)),
            requests.post(f"{proxy}/chartmogul/v1/no/such/path", headers=basic(key), timeout=10),
            requests.get(f"{proxy}/bunce/v1/attributes", headers={"X-Authorization": key}, timeout=10),
        ]  # fmt: skip
        assert [r.status_code for r in sent] == [200, 200, 404, 200]
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Traceback" not in err and "mockattr proxy stopped" in out
    text = har.read_text(encoding="utf-8")
    log = json.loads(text)["log"]
    assert log["version"] == "1.2" and log["creator"]["name"] == "mockattr"
    entries = log["entries"]
    assert len(entries) == len(sent)
    for entry, response, vendor in zip(entries, sent, ["chartmogul"] * 3 + ["bunce"], strict=True):
        assert HAR_ENTRY_FIELDS <= set(entry) and {"send", "wait", "receive"} <= set(entry["timings"])
        assert HAR_REQUEST_FIELDS <= set(entry["request"]) and HAR_RESPONSE_FIELDS <= set(entry["response"])
        assert entry["request"]["url"].startswith(upstreams[vendor] + "/v1/"), "the upstream's absolute URL"
        assert entry["response"]["status"] == response.status_code
        assert json.loads(entry["response"]["content"]["text"]) == response.json()
    assert entries[0]["request"]["queryString"] == [{"name": "page", "value": "1"}]
    assert json.loads(entries[1]["request"]["postData"]["text"]) == {"custom": {"salesRep": "Al"}}
    assert {"name": "Authorization", "value": "[redacted]"} in entries[1]["request"]["headers"]
    assert {"name": "X-Authorization", "value": "[redacted]"} in entries[3]["request"]["headers"]
    assert entries[2]["_mockattr"]["operation"] is None
    assert key not in text and base64.b64encode(f"{key}:".encode()).decode() not in text
    verified = CliRunner().invoke(main, ["verify", str(har)])
    assert verified.exit_code == 0, verified.output
    assert "4 exchanges: 3 ok, 0 failed, 1 skipped" in verified.output


def test_a_har_recorded_in_front_of_a_drifting_vendor_fails_verify(
    drifting: Any, start_proxy: Any, tmp_path: Path
) -> None:
    """The upstream is no vendor host and its path no /<vendor id>/ layout: the HAR's own note of the vendor
    and upstream says whose exchanges they are."""
    upstream, _ = drifting
    har = tmp_path / "drift.har"
    proxy = start_proxy({"chartmogul": upstream}, record=har)
    requests.get(f"{proxy}/chartmogul{RETRIEVE}", headers=basic("k"), timeout=10)
    requests.put(f"{proxy}/chartmogul{UPDATE}", json={"custom": {"a": 1}}, headers=basic("k"), timeout=10)
    verified = CliRunner().invoke(main, ["verify", str(har)])
    assert verified.exit_code == 1, verified.output
    assert "response tags:" in verified.output and "status: 418" in verified.output
    assert "2 exchanges: 0 ok, 2 failed, 0 skipped" in verified.output


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--upstream", "chartmogul"], "is not VENDOR=URL"),
        (["--upstream", "acme=http://127.0.0.1:1"], "'acme' is not a vendor"),
        (["--upstream", "chartmogul=ftp://example.com"], "is not an http:// or https:// base URL"),
        (["--upstream", "chartmogul=api.chartmogul.com"], "is not an http:// or https:// base URL"),
        (["--upstream", "bunce=http://a", "--upstream", "bunce=http://b"], "bunce is given twice"),
        (["--upstream", "bunce=https://user:pw@api.bunce.so"], "carries a user name or password"),
        (["--upstream", "bunce=http://a", "--vendor", "chartmogul"], "with --vendor chartmogul"),
        ([], "Missing option '--upstream'"),
    ],
)
def test_bad_upstream_values_are_usage_errors(args: list[str], says: str) -> None:
    result = CliRunner().invoke(main, ["proxy", "--port", "0", *args])
    assert result.exit_code == 2, result.output
    assert says in result.output


# --- the pytest plugin through a proxy ---------------------------------------------------------------


PLUGIN_TESTS = f"""
import pytest, requests
from mockattr import AdminError

def test_the_journal_holds_real_traffic(mockattr):
    answer = requests.get(mockattr.url("chartmogul") + "{RETRIEVE}", auth=("key", ""))
    assert answer.status_code == 200
    [entry] = mockattr.requests("chartmogul")
    assert (entry.operation, entry.status, entry.violations, entry.drift) == ("retrieve", 200, [], [])
    with pytest.raises(AdminError, match="proxy"):
        mockattr.seed("chartmogul", {{}})

def test_each_test_starts_with_an_empty_journal(mockattr):
    assert mockattr.requests() == []

@pytest.mark.mockattr(strict=True)
def test_strict_catches_a_bad_request(mockattr):
    requests.put(mockattr.url("chartmogul") + "{UPDATE}", json={{"custom": ["pro"]}}, auth=("key", ""))
"""


def test_the_plugin_drives_a_session_through_a_proxy(
    pytester: pytest.Pytester, server_url: str, drifting: Any, start_proxy: Any
) -> None:
    pytester.makepyfile(PLUGIN_TESTS)
    proxy = start_proxy({"chartmogul": f"{server_url}/chartmogul"})
    result = pytester.runpytest_inprocess(f"--mockattr-base-url={proxy}", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*mockattr strict: requests broke the contract:*", "*PUT *-> 400: custom*"])

    drifty = start_proxy({"chartmogul": drifting[0]})
    result = pytester.runpytest_inprocess(
        f"--mockattr-base-url={drifty}", "--mockattr-strict", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*mockattr strict: the vendor's answers broke the contract (drift):*"])
