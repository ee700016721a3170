"""``mockattr serve`` as a newcomer runs it: a real process, its output, its signals."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from support import AUTH_HEADERS, basic, fixture_read, serve_fails, start_serve

from mockattr import VENDOR_IDS

ADAM = "cus_de305d54-75b4-431b-adb2-eb6b9e546012"


def start(*args: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    process, urls = start_serve(*args)
    urls.pop("base")
    return process, urls


@pytest.fixture
def served() -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    process, urls = start()
    yield process, urls
    process.kill()
    process.wait(5)


def test_serve_prints_each_vendor_and_stops_cleanly_on_sigterm(served) -> None:
    process, urls = served
    assert set(urls) == {*VENDOR_IDS, "admin"}
    response = requests.get(f"{urls['chartmogul']}/v1/customers/{ADAM}/attributes", headers=basic("k"), timeout=5)
    assert response.status_code == 200
    process.send_signal(signal.SIGTERM)
    assert process.wait(10) == 0


def test_serve_tls_prints_the_ca_to_trust() -> None:
    process, urls = start("--tls")
    try:
        ca = urls.pop("CA certificate")
        assert all(url.startswith("https://") for url in urls.values())
        response = requests.get(f"{urls['chartmogul']}/v1/customers/{ADAM}", headers=basic("k"), verify=ca, timeout=5)
        assert response.status_code == 200
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"{urls['admin']}/health", timeout=5)  # not trusted without the CA
    finally:
        process.terminate()
        assert process.wait(10) == 0
    assert not Path(ca).exists(), "the generated CA goes with the server"


def test_serve_stops_cleanly_on_ctrl_c(served) -> None:
    process, _ = served
    process.send_signal(signal.SIGINT)
    assert process.wait(10) == 0


@pytest.mark.parametrize("vendor", VENDOR_IDS)
def test_vendor_option_serves_one_vendor_at_the_root(vendor: str) -> None:
    process, urls = start("--vendor", vendor)
    try:
        assert set(urls) == {vendor, "admin"}
        root = urls[vendor]
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", root)
        response = requests.get(root + fixture_read(vendor), headers=AUTH_HEADERS[vendor]("k"), timeout=5)
        assert response.status_code == 200, response.text
        assert requests.get(f"{root}/__mockattr/health", timeout=5).status_code == 200
        assert (
            requests.get(
                f"{root}/{vendor}{fixture_read(vendor)}", headers=AUTH_HEADERS[vendor]("k"), timeout=5
            ).status_code
            == 404
        ), "the prefixed path is not served too"
    finally:
        process.terminate()
        assert process.wait(10) == 0


def test_fixtures_option_seeds_new_tenants(tmp_path: Path) -> None:
    from mockattr.contract.discovery import data_dir

    data = json.loads((data_dir("fixtures") / "chartmogul.json").read_text())
    data["customers"][0]["attributes"]["custom"]["salesRep"] = "From my fixtures"
    (tmp_path / "chartmogul.json").write_text(json.dumps(data))
    process, urls = start("--fixtures", str(tmp_path))
    try:
        response = requests.get(f"{urls['chartmogul']}/v1/customers/{ADAM}/attributes", headers=basic("k"), timeout=5)
        assert response.json()["custom"]["salesRep"] == "From my fixtures"
    finally:
        process.terminate()
        process.wait(10)


def test_a_broken_fixture_is_a_clear_error_at_start(tmp_path: Path) -> None:
    (tmp_path / "chartmogul.json").write_text('{"attribute_definitions": {}, "customers": "none"}')
    stderr = serve_fails("--fixtures", str(tmp_path))
    assert "chartmogul.json" in stderr and "customers" in stderr


def test_a_fixture_value_that_contradicts_its_definition_is_a_clear_error(tmp_path: Path) -> None:
    from mockattr.contract.discovery import data_dir

    data = json.loads((data_dir("fixtures") / "chartmogul.json").read_text())
    data["customers"][0]["attributes"]["custom"]["age"] = "old"
    data["customers"][1]["attributes"]["custom"]["never_defined"] = 1
    (tmp_path / "chartmogul.json").write_text(json.dumps(data))
    stderr = serve_fails("--fixtures", str(tmp_path))
    assert "chartmogul.json" in stderr and "custom.age" in stderr


def test_api_key_option(tmp_path: Path) -> None:
    process, urls = start("--api-key", "one", "--api-key", "two")
    try:
        url = f"{urls['chartmogul']}/v1/customers/{ADAM}/attributes"
        assert requests.get(url, headers=basic("two"), timeout=5).status_code == 200
        assert requests.get(url, headers=basic("three"), timeout=5).status_code == 401
    finally:
        process.terminate()
        process.wait(10)


def test_help_lists_the_options() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mockattr", "serve", "--help"], capture_output=True, text=True, timeout=30
    )
    for option in ("--host", "--port", "--fixtures", "--api-key", "--vendor", "--log-requests"):
        assert option in result.stdout


def test_sigterm_lets_a_request_in_flight_finish() -> None:
    process, urls = start()
    try:
        fault = {"vendor": "chartmogul", "operation": "retrieve", "delay": 1.5}
        assert requests.post(f"{urls['admin']}/faults", json=fault, timeout=5).status_code == 201
        answers: list[int] = []
        url = f"{urls['chartmogul']}/v1/customers/{ADAM}/attributes"
        worker = threading.Thread(
            target=lambda: answers.append(requests.get(url, headers=basic("k"), timeout=10).status_code)
        )
        worker.start()
        time.sleep(0.5)  # the request is in flight, waiting out its delay
        process.send_signal(signal.SIGTERM)
        worker.join(10)
        assert answers == [200], "the request in flight was answered"
        assert process.wait(10) == 0
    finally:
        process.kill()


@pytest.mark.parametrize("tls", [False, True], ids=["http", "tls"])
def test_log_requests_prints_one_plain_line_per_request(servers, tls: bool) -> None:
    process, urls = servers.start("--log-requests", *(["--tls"] if tls else []))
    verify = urls.get("CA certificate", True)
    requests.get(f"{urls['chartmogul']}/v1/customers/{ADAM}/attributes", headers=basic("k"), verify=verify, timeout=5)
    requests.put(
        f"{urls['chartmogul']}/v1/customers/{ADAM}/attributes/custom",
        json={"custom": ["x"]},
        headers=basic("k"),
        verify=verify,
        timeout=5,
    )
    requests.get(f"{urls['admin']}/health", verify=verify, timeout=5)
    deadline = time.monotonic() + 5
    while servers.stderr(process).count("\n") < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = servers.stderr(process).splitlines()
    assert len(lines) == 2, lines  # the admin call is not a vendor request
    assert re.fullmatch(rf"GET /chartmogul/v1/customers/{ADAM}/attributes chartmogul retrieve 200 [\d.]+ ms", lines[0])
    assert re.fullmatch(
        rf"PUT /chartmogul/v1/customers/{ADAM}/attributes/custom chartmogul update 400 [\d.]+ ms "
        r"violations: custom: must be of type object, not array",
        lines[1],
    )
    assert "\x1b[" not in servers.stderr(process)


def test_without_log_requests_serve_prints_no_request_lines(servers) -> None:
    process, urls = servers.start()
    requests.get(f"{urls['chartmogul']}/v1/customers/{ADAM}/attributes", headers=basic("k"), timeout=5)
    time.sleep(0.2)
    assert servers.stderr(process) == ""


def test_no_journal_keeps_no_journal_and_says_so_while_state_and_faults_work(servers) -> None:
    _, urls = servers.start("--no-journal")
    url = f"{urls['chartmogul']}/v1/customers/{ADAM}/attributes"
    changed = requests.put(f"{url}/custom", json={"custom": {"salesRep": "Zoe"}}, headers=basic("k"), timeout=5)
    assert changed.status_code == 200, changed.text
    assert requests.get(url, headers=basic("k"), timeout=5).json()["custom"]["salesRep"] == "Zoe"
    fault = {"vendor": "chartmogul", "operation": "retrieve", "status": 503, "times": 1}
    assert requests.post(f"{urls['admin']}/faults", json=fault, timeout=5).status_code in (200, 201)
    assert requests.get(url, headers=basic("k"), timeout=5).status_code == 503
    journal = requests.get(f"{urls['admin']}/requests", timeout=5)
    assert journal.status_code == 409 and "--no-journal" in journal.json()["error"]
    namespaced = requests.get(urls["admin"].replace("/__mockattr", "/__ns/n1/__mockattr") + "/requests", timeout=5)
    assert namespaced.status_code == 409, "a namespace has no journal either"


@pytest.mark.parametrize("tls", [False, True], ids=["http", "tls"])
def test_serve_leaves_nothing_in_the_temporary_directory(tmp_path: Path, tls: bool) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "mockattr", "serve", "--port", "0", *(["--tls"] if tls else [])],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(temporary)},
    )
    assert process.stdout is not None
    started = [process.stdout.readline() for _ in range(5)]
    assert "listening" in started[0]
    while_serving = [p.name for p in temporary.iterdir()]
    assert len(while_serving) == tls and all(name.startswith("mockattr-tls-") for name in while_serving)
    process.send_signal(signal.SIGTERM)
    assert process.wait(10) == 0
    assert list(temporary.iterdir()) == [], "nothing left behind"
