"""`mockattr check` against a real `mockattr serve`, and against servers broken three ways."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest
import requests
from click.testing import CliRunner
from support import start_serve

from mockattr.cli import main
from mockattr.contract import SchemaValidator
from mockattr.server.app import create_app
from mockattr.server.runtime import runtime_of
from mockattr.serving.werkzeug_server import start_background
from mockattr.vendors import Call, Reply

ADAM = "cus_de305d54-75b4-431b-adb2-eb6b9e546012"


def test_check_passes_against_mockattr_serve_and_leaves_nothing_behind(tmp_path: Path) -> None:
    server, urls = start_serve()
    try:
        url = urls["base"]
        requests.get(f"{urls['chartmogul']}/v1/customers/{ADAM}", auth=("someone-elses", ""), timeout=5)
        before = requests.get(urls["admin"] + "/health", timeout=5).json()["tenants"]
        report = tmp_path / "junit.xml"
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "mockattr",
                "check",
                "--base-url",
                url,
                "--max-examples",
                "2",
                "--junit",
                str(report),
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        health = requests.get(urls["admin"] + "/health", timeout=5).json()
        namespaces = requests.get(urls["admin"] + "/namespaces", timeout=5).json()["namespaces"]
        journal = requests.get(urls["admin"] + "/requests", timeout=5).json()["requests"]
    finally:
        server.terminate()
        server.wait(10)
    assert (before, health["tenants"], namespaces) == (1, 1, []), "the run's tenants went with its namespace"
    assert [e["headers"].get("Authorization") for e in journal] == ["[redacted]"], "only the other user's call"
    assert "0 failed" in result.stdout
    suite = ElementTree.parse(report).getroot()
    assert suite.get("failures") == "0" and int(suite.get("tests")) >= 30


def broken(vendor: str, operation: str, handler: Callable[..., Reply], validates: bool = True) -> Callable[[], str]:
    """A mockattr whose ``operation`` is answered by ``handler(call, original)`` (and whose request body
    is not checked against its schema, without ``validates``)."""

    def start() -> str:
        app = create_app()
        runtime = runtime_of(app)
        original = runtime.vendors[vendor].handlers[operation]
        handlers = {**runtime.vendors[vendor].handlers, operation: lambda call: handler(call, original)}
        runtime.vendors[vendor] = dataclasses.replace(runtime.vendors[vendor], handlers=handlers)
        if not validates:
            operations = runtime.contracts[vendor].operations
            operations[operation] = dataclasses.replace(operations[operation], request=SchemaValidator({}))
        return start_background(app)

    return start


def wrong_shape(call: Call, original: Callable[[Call], Reply]) -> Reply:
    reply = original(call)
    return Reply(reply.status, {"attributes": reply.body})  # wrapped, as the vendor never does


def stores_anything(call: Call, original: Callable[[Call], Reply]) -> Reply:
    attributes = call.world.customer(call)["attributes"]
    attributes.update(call.body if isinstance(call.body, dict) else {})
    return Reply(200, attributes)


def forgets(call: Call, original: Callable[[Call], Reply]) -> Reply:
    world = call.world
    saved = {uuid: dict(c["attributes"]["custom"]) for uuid, c in world.customers.items()}
    reply = original(call)
    answer = Reply(reply.status, {"custom": dict(reply.body["custom"])})
    for uuid, custom in saved.items():  # the answer is right, but nothing is kept
        world.customers[uuid]["attributes"]["custom"] = custom
    return answer


BROKEN = {
    "wrong shape": (broken("chartmogul", "retrieve", wrong_shape), "chartmogul", "chartmogul.retrieve: valid requests"),
    # the machine reads back through retrieve too, so it fails as well, naming retrieve
    "wrong status for a bad value": (
        broken("invisible_collector", "attributes_set", stores_anything, validates=False),
        "invisible_collector",
        "invisible_collector.attributes_set: invalid requests",
    ),
    "forgets state": (broken("chartmogul", "update", forgets), "chartmogul", "chartmogul: state machine"),
}


@pytest.fixture(params=list(BROKEN))
def broken_server(request: pytest.FixtureRequest) -> Iterator[tuple[str, str, str]]:
    start, vendor, names = BROKEN[request.param]
    server = start()
    yield server.url, vendor, names
    server.stop()


def test_check_fails_naming_the_broken_operation(broken_server: tuple[str, str, str]) -> None:
    url, vendor, broken_check = broken_server
    result = CliRunner().invoke(main, ["check", "--base-url", url, "--vendor", vendor, "--max-examples", "5"])
    assert result.exit_code == 1, result.output
    failed = [line.removeprefix("FAILED ") for line in result.output.splitlines() if line.startswith("FAILED")]
    assert broken_check in failed
    operation = broken_check.split(":")[0].split(".")[-1]
    reports = result.output.split("\nFAILED ")[1:]
    assert all(operation in report for report in reports), "every failure is about the broken operation"
    assert "curl -X" in result.output


def test_check_with_a_fixed_api_key_against_an_allow_list(tmp_path: Path) -> None:
    server, urls = start_serve("--api-key", "k1")
    try:
        url = urls["base"]
        refused = CliRunner().invoke(main, ["check", "--base-url", url, "--vendor", "bunce", "--max-examples", "2"])
        assert refused.exit_code == 1 and "want --api-key" in refused.output and "passed" not in refused.output
        accepted = CliRunner().invoke(main, ["check", "--base-url", url, "--api-key", "k1", "--max-examples", "2"])
        assert accepted.exit_code == 0, accepted.output[-3000:]
    finally:
        server.terminate()
        server.wait(10)


def test_check_says_at_once_when_nothing_answers() -> None:
    result = CliRunner().invoke(main, ["check", "--base-url", "http://127.0.0.1:1"])
    assert result.exit_code == 1 and "cannot connect" in result.output
    assert "passed" not in result.output


def test_a_base_url_without_a_scheme_is_a_one_line_usage_error() -> None:
    result = CliRunner().invoke(main, ["check", "--base-url", "127.0.0.1:12111"])
    assert result.exit_code == 2 and result.exception is None or isinstance(result.exception, SystemExit)
    assert result.output == (
        "Error: --base-url '127.0.0.1:12111' is not an http:// or https:// URL (e.g. http://127.0.0.1:12111)\n"
    )
    other = CliRunner().invoke(main, ["check", "--base-url", "ftp://x"])
    assert other.exit_code == 2 and other.output == "Error: --base-url 'ftp://x' is not an http:// or https:// URL\n"
