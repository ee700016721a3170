"""The contract against what the vendors showed: the documents' examples and real recorded exchanges
(kept in tests/vectors/) fit the schemas and replay against a fresh server.

A vector names where it comes from: ``document`` (one of the five vendor documents) or ``source``
(``real: ...`` for traffic recorded against the live API, ``sdk: ...`` for an official client's own
cassette). A vector with a ``seed`` has its tenant seeded with it first (the fixture format), so an
exchange recorded against some other account replays as it was.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support import VendorClient

from mockattr.contract import check, load_contract
from mockattr.testing.plugin import MockattrHandle

VECTORS = sorted((Path(__file__).parent / "vectors").glob("*/*.json"))
REAL = [path for path in VECTORS if "source" in json.loads(path.read_text(encoding="utf-8"))]


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
    elif isinstance(documented, list) and any(isinstance(item, dict) for item in documented):
        assert isinstance(actual, list) and len(actual) == len(documented), f"{path}: answered {actual!r}"
        for index, (item, answered) in enumerate(zip(documented, actual, strict=True)):
            assert_documented(item, answered, ignore, f"{path}[{index}]")
    else:
        assert actual == documented, f"{path}: documented {documented!r}, answered {actual!r}"


def assert_same_shape(recorded: Any, actual: Any, path: str = "") -> None:
    """The answer has every field the recording has, each of the same JSON type (null matches any)."""
    if recorded is None or actual is None:
        return
    if isinstance(recorded, dict):
        assert isinstance(actual, dict), f"{path}: recorded an object, answered {actual!r}"
        for key, value in recorded.items():
            child = f"{path}.{key}" if path else key
            assert key in actual, f"{child}: in the recording, missing from the answer"
            assert_same_shape(value, actual[key], child)
    elif isinstance(recorded, list):
        assert isinstance(actual, list), f"{path}: recorded an array, answered {actual!r}"
        if recorded and actual:
            assert_same_shape(recorded[0], actual[0], f"{path}[0]")
    else:
        assert type(actual) is type(recorded) or {type(actual), type(recorded)} <= {int, float}, (
            f"{path}: recorded {recorded!r}, answered {actual!r}"
        )


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_vector_request_and_response_fit_the_schemas(path: Path) -> None:
    vector = _load(path)
    operation = load_contract(path.parent.name).operations[vector["operation"]]
    assert check(operation.request, vector["request"]) is None if operation.request else vector["request"] is None
    assert vector["status"] in operation.responses, f"status {vector['status']} is not documented"
    validator = operation.responses[vector["status"]]
    if validator is None:
        assert vector["response"] is None
    else:
        assert check(validator, vector["response"]) is None


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_vector_replays_against_a_fresh_server(mockattr: MockattrHandle, path: Path) -> None:
    vector = _load(path)
    vendor = path.parent.name
    client = VendorClient(vendor, mockattr.url(vendor))
    if "seed" in vector:
        mockattr.seed(vendor, vector["seed"], key=client.key)
    response = client.call(vector["operation"], vector["request"], **vector["path_params"])
    assert response.status_code == vector["status"], response.text
    answered = response.json() if response.content else None
    if vector.get("compare") == "shape":
        assert_same_shape(vector["response"], answered)
    else:
        assert_documented(vector["response"], answered, vector["ignore"])
    if vector.get("exact"):
        assert answered == vector["response"]


def test_every_vector_names_its_source_and_an_operation() -> None:
    assert VECTORS, "no vectors found"
    for path in VECTORS:
        vector = _load(path)
        named = vector.get("document", "").endswith(".txt") or vector.get("source", "").startswith(("real:", "sdk:"))
        assert named and vector["operation"], path


def test_real_traffic_is_kept_for_every_operation_it_shows() -> None:
    """The recordings cover the operations below; a vector lost from tests/vectors/ fails here."""
    covered = {(path.parent.name, _load(path)["operation"]) for path in REAL}
    assert {("chartmogul", op) for op in load_contract("chartmogul").operations} <= covered


REAL_CUSTOMERS = [
    _load(path)["response"] for path in REAL if _load(path)["operation"] in ("customer_get", "customer_update")
]


def test_the_mocks_customers_carry_every_field_the_live_api_returns(mockattr: MockattrHandle) -> None:
    client = VendorClient("chartmogul", mockattr.url("chartmogul"))
    uuid = client.state()["customers"][0]["uuid"]
    answered = client.call("customer_get", uuid=uuid).json()
    live = set().union(*(customer.keys() for customer in REAL_CUSTOMERS))
    assert live - answered.keys() == set()
    assert live >= {"owner", "website_url"}


@pytest.mark.parametrize("customer", REAL_CUSTOMERS, ids=lambda c: c["uuid"])
def test_a_customer_fetched_from_the_live_api_and_sent_back_whole_is_a_200(
    mockattr: MockattrHandle, customer: dict
) -> None:
    """The Ruby client's update! and a modify() of a fetched object send every field back."""
    client = VendorClient("chartmogul", mockattr.url("chartmogul"))
    custom = customer["attributes"]["custom"]
    mockattr.seed("chartmogul", {"attribute_definitions": dict.fromkeys(custom, "Boolean"), "customers": [customer]})
    response = client.call("customer_update", customer, key="another-key", uuid=customer["uuid"])
    assert response.status_code == 200, response.text
    assert response.json()["name"] == customer["name"]
