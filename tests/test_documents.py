"""The vendor documents' examples (kept in tests/vectors/) replay as-is against a fresh server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support import VendorClient

from mockattr.contract import check

VECTORS = sorted((Path(__file__).parent / "vectors").glob("*/*.json"))


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def assert_documented(documented: Any, actual: Any, ignore: dict[str, str], path: str = "") -> None:
    """Everything the document shows is in the answer (which may hold more), but for ``ignore``d paths."""
    if path in ignore:
        return
    if isinstance(documented, dict):
        assert isinstance(actual, dict), f"{path}: expected an object, got {actual!r}"
        for key, value in documented.items():
            child = f"{path}.{key}" if path else key
            assert key in actual or child in ignore, f"{child}: missing from the answer"
            assert_documented(value, actual.get(key), ignore, child)
    else:
        assert actual == documented, f"{path}: documented {documented!r}, answered {actual!r}"


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_vector_request_and_response_fit_the_schemas(path: Path) -> None:
    vector = _load(path)
    client = VendorClient(path.parent.name, "http://unused")
    operation = client.contract.operations[vector["operation"]]
    assert check(operation.request, vector["request"]) is None
    assert check(operation.responses[vector["status"]], vector["response"]) is None


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_vector_replays_against_a_fresh_server(server_url: str, path: Path) -> None:
    vector = _load(path)
    vendor = path.parent.name
    client = VendorClient(vendor, f"{server_url}/{vendor}")
    response = client.call(vector["operation"], vector["request"], **vector["path_params"])
    assert response.status_code == vector["status"], response.text
    assert_documented(vector["response"], response.json(), vector["ignore"])
    if vector.get("exact"):
        assert response.json() == vector["response"]


def test_every_vector_names_a_document_and_an_operation() -> None:
    assert VECTORS, "no vectors found"
    for path in VECTORS:
        vector = _load(path)
        assert vector["document"].endswith(".txt") and vector["operation"], path
