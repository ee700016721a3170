"""`mockattr verify`, run as a user runs it, on recordings built from the real ChartMogul exchanges in
tests/vectors/chartmogul/real_*.json: HAR 1.2, vcrpy YAML and Ruby VCR YAML (``!binary`` and gzip bodies)."""

from __future__ import annotations

import base64
import copy
import gzip
import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import yaml
from click.testing import CliRunner, Result

from mockattr.cli import main
from mockattr.contract import load_contract

VENDOR = "chartmogul"
VECTOR_DIR = Path(__file__).parent / "vectors" / VENDOR
HOST = load_contract(VENDOR).index["hosts"][0]


def real_exchanges() -> list[dict[str, Any]]:
    """Each real vector as method, url, request and response text and status."""
    operations = load_contract(VENDOR).operations
    found = []
    for path in sorted(VECTOR_DIR.glob("real_*.json")):
        vector = json.loads(path.read_text(encoding="utf-8"))
        operation = operations[vector["operation"]]
        found.append(
            {
                "name": path.stem,
                "operation": operation.id,
                "method": operation.method,
                "path": operation.path.format(**vector["path_params"]),
                "request": "" if vector["request"] is None else json.dumps(vector["request"]),
                "status": vector["status"],
                "response": "" if vector["response"] is None else json.dumps(vector["response"]),
            }
        )
    return found


EXCHANGES = real_exchanges()


def har(exchanges: list[dict[str, Any]], base: str = f"https://{HOST}") -> str:
    """A HAR 1.2 log, as a browser or mitmproxy writes it."""
    entries = []
    for ex in exchanges:
        request: dict[str, Any] = {
            "method": ex["method"],
            "url": base + ex["path"],
            "httpVersion": "HTTP/1.1",
            "headers": [{"name": "Accept", "value": "application/json"}],
            "queryString": [],
            "cookies": [],
            "headersSize": -1,
            "bodySize": len(ex["request"]),
        }
        if ex["request"]:
            request["postData"] = {"mimeType": "application/json", "text": ex["request"]}
        response = {
            "status": ex["status"],
            "statusText": "",
            "httpVersion": "HTTP/1.1",
            "headers": [{"name": "Content-Type", "value": "application/json; charset=utf-8"}],
            "cookies": [],
            "content": {"size": len(ex["response"]), "mimeType": "application/json", "text": ex["response"]},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
        }
        entries.append(
            {
                "startedDateTime": "2023-10-30T00:47:16.000Z",
                "time": 1,
                "request": request,
                "response": response,
                "cache": {},
                "timings": {"send": 0, "wait": 1, "receive": 0},
            }
        )
    return json.dumps({"log": {"version": "1.2", "creator": {"name": "test", "version": "1"}, "entries": entries}})


def vcrpy(exchanges: list[dict[str, Any]]) -> str:
    """A vcrpy cassette: ``request.uri``, a bare request body, ``response.body.string``."""
    interactions = [
        {
            "request": {
                "body": ex["request"] or None,
                "headers": {"Content-Type": ["application/json"]},
                "method": ex["method"],
                "uri": f"https://{HOST}{ex['path']}",
            },
            "response": {
                "body": {"string": ex["response"]},
                "headers": {"Content-Type": ["application/json"]},
                "status": {"code": ex["status"], "message": "OK"},
            },
        }
        for ex in exchanges
    ]
    return yaml.safe_dump({"interactions": interactions, "version": 1})


def go_vcr(exchanges: list[dict[str, Any]]) -> str:
    """A go-vcr cassette, as chartmogul-go's integration_tests/fixtures: ``request.url``, string bodies,
    ``response.status`` a reason line and ``response.code`` the number."""
    interactions = [
        {
            "request": {
                "body": ex["request"],
                "form": {},
                "headers": {"Content-Type": ["application/json"]},
                "url": f"https://{HOST}{ex['path']}",
                "method": ex["method"],
            },
            "response": {
                "body": ex["response"],
                "headers": {"Content-Type": ["application/json"]},
                "status": f"{ex['status']} Whatever",
                "code": ex["status"],
                "duration": "",
            },
        }
        for ex in exchanges
    ]
    return yaml.safe_dump({"version": 1, "interactions": interactions})


def binary(data: bytes) -> str:
    """A Ruby ``!binary`` block scalar, base64 in lines of 60 as psych writes it."""
    encoded = base64.b64encode(data).decode("ascii")
    return "!binary |-\n" + "".join(f"        {encoded[i : i + 60]}\n" for i in range(0, len(encoded), 60)).rstrip("\n")


def ruby_vcr(exchanges: list[dict[str, Any]]) -> str:
    """A Ruby VCR cassette: bodies as ``!binary`` base64, every other response gzip-encoded, some plain."""
    lines = ["---", "http_interactions:"]
    for i, ex in enumerate(exchanges):
        response = ex["response"].encode()
        gzipped = i % 3 == 1 and bool(response)
        plain = i % 3 == 2
        body = gzip.compress(response) if gzipped else response
        lines += [
            "- request:",
            f"    method: {ex['method'].lower()}",
            f"    uri: https://{HOST}{ex['path']}",
            "    body:",
            "      encoding: UTF-8",
            f"      string: {binary(ex['request'].encode()) if ex['request'] else json.dumps('')}",
            "    headers:",
            "      Content-Type:",
            "      - application/json",
            "  response:",
            "    status:",
            f"      code: {ex['status']}",
            "      message: OK",
            "    headers:",
            *(["      Content-Encoding:", "      - gzip"] if gzipped else []),
            "      Content-Type:",
            "      - application/json; charset=utf-8",
            "    body:",
            "      encoding: ASCII-8BIT",
            f"      string: {yaml.safe_dump(ex['response'], width=10**6).strip() if plain else binary(body)}",
            "  recorded_at: Mon, 30 Oct 2023 00:47:16 GMT",
        ]
    lines.append("recorded_with: VCR 6.1.0")
    return "\n".join(lines) + "\n"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, ["verify", *map(str, args)])


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def changed(name: str, status: int | None = None, **response: Any) -> dict[str, Any]:
    """The real exchange ``name`` with its status or fields of its response replaced (None: dropped)."""
    ex = copy.deepcopy(next(e for e in EXCHANGES if e["name"] == name))
    body = json.loads(ex["response"])
    for key, value in response.items():
        if value is None:
            del body[key]
        else:
            body[key] = value
    ex["response"] = json.dumps(body)
    if status is not None:
        ex["status"] = status
    return ex


GET = "real_customer_get_retrieves_the_customer_correctly"
UPDATE = "real_update_updates_custom_attributes_correctly"


def test_the_vectors_cover_several_operations() -> None:
    assert len({ex["operation"] for ex in EXCHANGES}) >= 8 and len(EXCHANGES) >= 19


@pytest.mark.parametrize(
    ("name", "build"),
    [("real.har", har), ("vcrpy.yaml", vcrpy), ("ruby_vcr.yml", ruby_vcr), ("go_vcr.yaml", go_vcr)],
    ids=["har", "vcrpy", "ruby", "go"],
)
def test_every_real_exchange_passes_in_every_format(tmp_path: Path, name: str, build: Any) -> None:
    result = run(write(tmp_path, name, build(EXCHANGES)))
    assert result.exit_code == 0, result.output
    oks = [line for line in result.output.splitlines() if line.startswith("ok ")]
    assert len(oks) == len(EXCHANGES)
    for ex, line in zip(EXCHANGES, oks, strict=True):
        assert line.split()[1:6] == [VENDOR, ex["operation"], ex["method"], ex["path"], str(ex["status"])]
    assert f"{len(EXCHANGES)} exchanges: {len(EXCHANGES)} ok, 0 failed, 0 skipped" in result.output


def test_ruby_binary_and_gzip_bodies_are_decoded(tmp_path: Path) -> None:
    """The Ruby cassette really holds what it claims: a gzip body, !binary bodies; and a body that only
    decodes to garbage would fail the check (the same cassette without decoding fails)."""
    text = ruby_vcr(EXCHANGES)
    assert "- gzip" in text and "!binary |-" in text
    broken = text.replace("!binary |-", "|-")  # the base64 read as the body itself
    result = run(write(tmp_path, "raw.yml", broken))
    assert result.exit_code == 1 and "response: not JSON" in result.output


def test_a_changed_type_an_undocumented_status_and_a_missing_field_fail(tmp_path: Path) -> None:
    recording = [
        changed(GET, id="116786131"),
        changed(UPDATE, status=418),
        changed(GET, uuid=None),
        changed(GET),
    ]
    result = run(write(tmp_path, "drift.har", har(recording)))
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    fails = [i for i, line in enumerate(lines) if line.startswith("FAIL")]
    assert len(fails) == 3
    assert f"{VENDOR} customer_get GET" in lines[fails[0]] and "drift.har#0" in lines[fails[0]]
    assert lines[fails[0] + 1].strip() == "response id: must be of type integer, not string"
    assert f"{VENDOR} update PUT" in lines[fails[1]] and "drift.har#1" in lines[fails[1]]
    assert lines[fails[1] + 1].strip() == f"status: 418 is not a documented status of {VENDOR} update"
    assert "drift.har#2" in lines[fails[2]] and lines[fails[2] + 1].strip().startswith("response uuid: ")
    assert "'uuid' is a required property" in lines[fails[2] + 1]
    assert "4 exchanges: 1 ok, 3 failed, 0 skipped" in result.output


def test_a_request_the_vendor_accepted_must_fit_the_request_schema(tmp_path: Path) -> None:
    ex = copy.deepcopy(next(e for e in EXCHANGES if e["name"] == UPDATE))
    ex["request"] = json.dumps({"custom": "not an object"})
    result = run(write(tmp_path, "request.yaml", vcrpy([ex])))
    assert result.exit_code == 1 and "request custom: " in result.output
    ex["status"] = 400
    # the live API's error body (real: chartmogul-python test/integration/fixtures/delete_invoice.yaml)
    ex["response"] = json.dumps({"code": 400, "message": 'Parameter "custom" is missing', "param": "custom"})
    result = run(write(tmp_path, "rejected.yaml", vcrpy([ex])))
    assert result.exit_code == 0, result.output  # the vendor refused it: what it was sent may break the schema


def test_endpoints_we_do_not_serve_are_skipped(tmp_path: Path) -> None:
    plans = {"method": "GET", "path": "/v1/plans", "request": "", "status": 200, "response": '{"plans": []}'}
    other_host = har(EXCHANGES[:1], base="https://api.example.com")
    blocked = changed(GET, status=0)  # a browser's HAR keeps a request that got no answer as status 0
    path = write(tmp_path, "mixed.har", har([plans, *EXCHANGES[:1], blocked]))
    result = run(path, write(tmp_path, "other.har", other_host))
    assert result.exit_code == 0, result.output
    skips = [line for line in result.output.splitlines() if line.startswith("skip")]
    assert len(skips) == 3
    assert f"GET https://{HOST}/v1/plans 200" in skips[0]
    assert "mixed.har#2" in skips[1]
    assert "https://api.example.com/" in skips[2]
    assert "4 exchanges: 1 ok, 0 failed, 3 skipped" in result.output


def test_an_endpoint_the_vendor_has_beside_ours_is_skipped_not_taken_for_ours(tmp_path: Path) -> None:
    """Real: chartmogul-ruby's cassettes search customers at /v1/customers/search, which
    /v1/customers/{uuid} (customer_get) would otherwise take, and fail (index.json ``unserved``)."""
    page = '{"entries": [{"uuid": "cus_1", "email": "a@example.com"}], "has_more": false}'
    search = {"method": "GET", "path": "/v1/customers/search?email=a%40example.com", "request": "", "status": 200}
    result = run(write(tmp_path, "search.har", har([{**search, "response": page}])))
    assert result.exit_code == 0, result.output
    assert "an endpoint the mock does not serve" in result.output
    assert "1 exchanges: 0 ok, 0 failed, 1 skipped" in result.output


def test_an_unreadable_file_exits_2_naming_it(tmp_path: Path) -> None:
    cases = {
        "missing.har": (None, "not found"),
        "bad.json": ('{"log": ', "bad JSON"),
        "bad.yml": ("interactions: [\n  - request: {", "bad YAML"),
        "other.json": ('{"name": "package"}', "not a HAR file"),
    }
    for name, (text, why) in cases.items():
        path = tmp_path / name if text is None else write(tmp_path, name, text)
        result = run(write(tmp_path, "good.har", har(EXCHANGES[:1])), path)
        assert result.exit_code == 2, (name, result.output)
        assert str(path) in result.output and why in result.output and "Traceback" not in result.output


def test_a_folder_is_searched_recursively(tmp_path: Path) -> None:
    write(tmp_path, "a/b/one.har", har(EXCHANGES[:2]))
    write(tmp_path, "a/two.yaml", vcrpy(EXCHANGES[2:3]))
    write(tmp_path, "a/c/three.yml", ruby_vcr([changed(GET, id="x")]))
    write(tmp_path, "a/package.json", '{"name": "not a recording"}')
    write(tmp_path, "a/notes.txt", "not read")
    result = run(tmp_path / "a")
    assert result.exit_code == 1, result.output
    assert "4 exchanges: 3 ok, 1 failed, 0 skipped" in result.output
    assert str(tmp_path / "a" / "c" / "three.yml") + "#0" in result.output
    assert run(write(tmp_path, "empty/x.json", "{}").parent).exit_code == 2


def test_root_layout_with_vendor_and_mockattrs_own_layout(tmp_path: Path) -> None:
    local = write(tmp_path, "local.har", har(EXCHANGES, base="http://127.0.0.1:12111"))
    assert run(local).exit_code == 0  # no vendor's host and no /<vendor id>/: all skipped
    assert f"{len(EXCHANGES)} skipped" in run(local).output
    result = run(local, "--vendor", VENDOR)
    assert result.exit_code == 0 and f"{len(EXCHANGES)} ok" in result.output, result.output
    own = write(tmp_path, "own.har", har(EXCHANGES, base=f"http://127.0.0.1:12111/{VENDOR}"))
    result = run(own)
    assert result.exit_code == 0 and f"{len(EXCHANGES)} ok" in result.output, result.output
    assert f"ok   {VENDOR} {EXCHANGES[0]['operation']} {EXCHANGES[0]['method']} /{VENDOR}/v1/" in result.output
    broken = write(tmp_path, "own_broken.har", har([changed(GET, id="x")], base=f"http://localhost/{VENDOR}"))
    assert run(broken).exit_code == 1


def test_junit_has_one_testcase_per_exchange(tmp_path: Path) -> None:
    plans = {"method": "GET", "path": "/v1/plans", "request": "", "status": 200, "response": "{}"}
    recording = write(tmp_path, "r.har", har([*EXCHANGES[:3], changed(UPDATE, status=418), plans]))
    report = tmp_path / "report.xml"
    result = run(recording, "--junit", report)
    assert result.exit_code == 1
    suite = ElementTree.parse(report).getroot()
    cases = suite.findall("testcase")
    assert suite.get("tests") == "5" and len(cases) == 5
    assert suite.get("failures") == "1" and suite.get("skipped") == "1"
    [failed] = [c for c in cases if c.find("failure") is not None]
    assert "r.har#3" in failed.get("name") and "418" in failed.find("failure").get("message")
    assert [c for c in cases if c.find("skipped") is not None][0].get("name").startswith("GET https://")
