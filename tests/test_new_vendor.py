"""A vendor is three pieces, found where they lie: a throwaway vendor written into a temporary folder
(``MOCKATTR_VENDOR_PATH``) is served, documented, drawn from and checked with no other file edited, the
way CONTRIBUTING.md says to start one. And every discovered vendor is whole."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import requests
from support import ServeProcesses

from mockattr import VENDOR_IDS
from mockattr.strategies import drawing_problems
from mockattr.vendors import vendor_problems

ERROR = {"$ref": "error.json"}
INDEX = {
    "vendor": "acme",
    "title": "Acme widgets (a throwaway vendor)",
    "auth": {"openapi": {"type": "apiKey", "in": "header", "name": "X-Acme-Token"}},
    "errors": {
        name: {"status": status, "message": message}
        for name, status, message in [
            ("unauthorized", 401, "bad token"),
            ("malformed_json", 400, "not JSON"),
            ("not_an_object", 400, "not an object"),
            ("missing_parameter", 400, "{field} is missing"),
            ("invalid_parameter", 400, "{field} is invalid: {detail}"),
            ("route_not_found", 404, "no such route"),
            ("method_not_allowed", 405, "no such method"),
            ("too_large", 413, "too large"),
            ("internal", 500, "oops"),
            ("upstream_unavailable", 502, "{upstream} unreachable: {reason}"),
            ("widget_not_found", 404, "no widget {id}"),
        ]
    },
    "operations": [
        {
            "id": "widget_get",
            "method": "GET",
            "path": "/v2/widgets/{widget_id}",
            "request": None,
            "query": "widget_get.query.json",
            "responses": {"200": "widget.json", "400": "error.json", "401": "error.json", "404": "error.json"},
        },
        {
            "id": "widget_create",
            "method": "POST",
            "path": "/v2/widgets",
            "request": "widget_create.request.json",
            "responses": {"201": "widget.json", "400": "error.json", "401": "error.json", "413": "error.json"},
        },
    ],
}
SCHEMAS = {
    "widget_get.query.json": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"fields": {"type": "string", "maxLength": 10}},
    },
    "widget_create.request.json": {
        "type": "object",
        "required": ["name", "size"],
        "additionalProperties": False,
        "maxProperties": 3,
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 20},
            "size": {"type": "integer", "exclusiveMinimum": 0, "multipleOf": 5},
            "owner": {"type": "string", "format": "email"},
            "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        },
    },
    "widget.json": {
        "type": "object",
        "required": ["widget_id", "name", "size"],
        "properties": {
            "widget_id": {"type": "string"},
            "name": {"type": "string"},
            "size": {"type": "integer"},
            "owner": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
    },
    "error.json": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
    },
    "fixture.json": {
        "type": "object",
        "required": ["widgets"],
        "properties": {"widgets": {"type": "array", "items": {"$ref": "widget.json"}}},
    },
}
FIXTURE = {"widgets": [{"widget_id": "w1", "name": "one", "size": 1}, {"widget_id": "w2", "name": "two", "size": 2}]}
MODULE = '''
"""Acme: widgets by id."""

from mockattr.vendors import Call, Reply, Touched, Vendor


class AcmeWorld:
    def __init__(self, data, contract):
        self.touched = Touched()
        self.widgets = {w["widget_id"]: w for w in data["widgets"]}

    def to_data(self):
        return {"widgets": list(self.widgets.values())}

    def merge(self, data):
        self.widgets.update({w["widget_id"]: w for w in data["widgets"]})


def widget_get(call: Call) -> Reply:
    widget = call.world.widgets.get(call.params["widget_id"])
    if widget is None:
        raise call.fail("widget_not_found", id=call.params["widget_id"])
    return Reply(200, widget)


def widget_create(call: Call) -> Reply:
    widget = {"widget_id": f"w{100 + len(call.world.widgets)}", **call.body}  # the world's: kept with it
    call.world.widgets[widget["widget_id"]] = widget
    return Reply(201, widget)


VENDOR = Vendor(id="acme", new_world=AcmeWorld, handlers={"widget_get": widget_get, "widget_create": widget_create})
'''


def write_vendor(root: Path, module: str | None = MODULE) -> Path:
    """The three pieces of ``acme`` under ``root``, laid out as MOCKATTR_VENDOR_PATH wants."""
    schemas = root / "schemas" / "acme"
    schemas.mkdir(parents=True)
    (schemas / "index.json").write_text(json.dumps(INDEX))
    for name, schema in SCHEMAS.items():
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": name, **schema}
        (schemas / name).write_text(json.dumps(schema))
    (root / "fixtures").mkdir()
    (root / "fixtures" / "acme.json").write_text(json.dumps(FIXTURE))
    (root / "vendors").mkdir()
    if module is not None:
        (root / "vendors" / "acme.py").write_text(module)
    return root


@pytest.fixture
def acme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A throwaway vendor in a temporary folder, named in MOCKATTR_VENDOR_PATH for every process started."""
    root = write_vendor(tmp_path / "acme-vendor")
    monkeypatch.setenv("MOCKATTR_VENDOR_PATH", str(root))
    return root


def mockattr(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mockattr", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("vendor", VENDOR_IDS)
def test_every_discovered_vendor_has_all_its_pieces(vendor: str) -> None:
    assert vendor_problems(vendor) == []
    assert drawing_problems(vendor) == []


def test_limits_without_saying_whose_rule_they_are_are_named_as_a_missing_piece(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_vendor(tmp_path / "acme-vendor")
    index = root / "schemas" / "acme" / "index.json"
    index.write_text(json.dumps({**INDEX, "limits": {"widgets": 10}}))
    monkeypatch.setenv("MOCKATTR_VENDOR_PATH", str(root))
    result = subprocess.run(
        [sys.executable, "-c", "from mockattr.vendors import vendor_problems; print(vendor_problems('acme'))"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "schemas/acme/index.json: limits: '$comment' is a required property" in result.stdout, result.stderr
    assert "schemas/acme/index.json: errors: 'limit_reached' is a required property" in result.stdout


UNDRAWABLE = """
from mockattr.strategies import drawing_problems, valid_requests
print(drawing_problems("acme"))
try:
    valid_requests("acme", "widget_create")
except ValueError as err:
    print(err)
"""


def test_a_schema_keyword_the_strategies_cannot_draw_is_named_with_its_vendor_and_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_vendor(tmp_path / "acme-vendor")
    request = root / "schemas" / "acme" / "widget_create.request.json"
    request.write_text(request.read_text().replace('"maxProperties": 3', '"not": {"required": ["owner"]}'))
    monkeypatch.setenv("MOCKATTR_VENDOR_PATH", str(root))
    result = subprocess.run([sys.executable, "-c", UNDRAWABLE], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "schemas/acme/widget_create.request.json: keywords ['not']" in result.stdout
    assert "acme widget_create.request.json: the strategies cannot draw from not" in result.stdout


def test_serve_answers_the_new_vendor_with_its_own_auth_errors_and_redaction(
    acme: Path, servers: ServeProcesses
) -> None:
    _, urls = servers.start()
    url, token = urls["acme"], {"X-Acme-Token": "secret-acme-token"}
    created = requests.post(f"{url}/v2/widgets", json={"name": "new", "size": 15}, headers=token, timeout=10)
    assert created.status_code == 201 and created.json()["name"] == "new"
    fetched = requests.get(f"{url}/v2/widgets/{created.json()['widget_id']}", headers=token, timeout=10)
    assert fetched.json() == created.json()
    assert requests.get(f"{url}/v2/widgets/w1", timeout=10).json() == {"code": 401, "message": "bad token"}
    missing = requests.get(f"{url}/v2/widgets/nope", headers=token, timeout=10)
    assert (missing.status_code, missing.json()) == (404, {"code": 404, "message": "no widget nope"})
    bad = requests.post(f"{url}/v2/widgets", json={"name": "x"}, headers=token, timeout=10)
    assert bad.status_code == 400 and bad.json()["message"] == "size is missing"
    journal = requests.get(urls["admin"] + "/requests?vendor=acme", timeout=10).text
    assert "secret-acme-token" not in journal and "[redacted]" in journal


def test_a_state_file_keeps_the_new_vendors_world_across_restarts(
    acme: Path, servers: ServeProcesses, tmp_path: Path
) -> None:
    state, token = str(tmp_path / "state.db"), {"X-Acme-Token": "t"}
    process, urls = servers.start("--state-file", state)
    created = requests.post(f"{urls['acme']}/v2/widgets", json={"name": "kept", "size": 10}, headers=token, timeout=10)
    assert created.status_code == 201, created.text
    process.terminate()
    assert process.wait(timeout=30) == 0
    _, urls = servers.start("--state-file", state)
    fetched = requests.get(f"{urls['acme']}/v2/widgets/{created.json()['widget_id']}", headers=token, timeout=10)
    assert (fetched.status_code, fetched.json()) == (200, created.json())
    assert requests.get(f"{urls['acme']}/v2/widgets/w1", headers=token, timeout=10).json()["size"] == 1


def test_openapi_documents_the_new_vendor(acme: Path) -> None:
    result = mockattr("openapi", "--vendor", "acme")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert {"/v2/widgets", "/v2/widgets/{widget_id}"} <= set(document["paths"])
    assert document["components"]["securitySchemes"]["acme"]["name"] == "X-Acme-Token"


STRATEGIES = """
from hypothesis import given, settings
from mockattr.strategies import invalid_requests, valid_requests
from mockattr.contract import load_contract

create = load_contract("acme").operations["widget_create"].request
seen = set()

@settings(max_examples=40, database=None)
@given(
    valid_requests("acme", "widget_get"),
    valid_requests("acme", "widget_create"),
    invalid_requests("acme", "widget_create"),
    invalid_requests("acme", "widget_get"),
)
def run(get, good, bad, bad_query):
    seen.add(get.path())
    assert create.is_valid(good.body) and not create.is_valid(bad[0].body) and bad[1] == 400
    assert good.body["size"] % 5 == 0 and good.body["size"] > 0 and len(good.body) <= 3
    query = bad_query[0].query
    assert len(query.get("fields", "")) > 10 or query == {"unexpected_parameter": "x"}, query
    assert bad_query[1] == 400

run()
print(sorted(seen))
"""


def test_the_strategies_draw_the_new_vendors_requests_from_its_schemas_and_fixture(acme: Path) -> None:
    result = subprocess.run([sys.executable, "-c", STRATEGIES], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.replace("'", '"')) == ["/v2/widgets/w1", "/v2/widgets/w2"]


def test_check_passes_against_the_new_vendor_with_the_default_state_machine(
    acme: Path, servers: ServeProcesses
) -> None:
    _, urls = servers.start()
    result = mockattr("check", "--base-url", urls["base"], "--vendor", "acme", "--max-examples", "5")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "acme.widget_create: invalid requests" in result.stdout and "acme: state machine" in result.stdout


def test_the_plugin_serves_the_new_vendor(acme: Path, pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        textwrap.dedent(
            """
            import requests

            def test_acme(mockattr):
                url = mockattr.url("acme") + "/v2/widgets/w2"
                assert requests.get(url, headers={"X-Acme-Token": "t"}, timeout=10).json()["size"] == 2
                assert [r.operation for r in mockattr.requests(vendor="acme")] == ["widget_get"]
            """
        )
    )
    assert pytester.runpytest_subprocess("-p", "no:cacheprovider").ret == 0


def test_a_vendor_missing_a_piece_is_refused_naming_the_vendor_and_the_piece(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOCKATTR_VENDOR_PATH", str(write_vendor(tmp_path / "acme-vendor", module=None)))
    result = mockattr("serve", "--port", "0")
    assert result.returncode == 1
    assert "vendor 'acme' is incomplete" in result.stderr and "mockattr.vendors.acme" in result.stderr
    assert "Traceback" not in result.stderr
