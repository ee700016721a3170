"""The contract as data: schemas are valid 2020-12, the index is complete, the fixtures fit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from mockattr import VENDOR_IDS
from mockattr.contract import SCHEMA_BASE_URI, check, load_contract
from mockattr.contract.discovery import data_dir
from mockattr.vendors import load_fixture, load_vendor

SCHEMA_FILES = sorted(p for p in data_dir("schemas").glob("*/*.json") if p.name != "index.json")
REQUIRED_ERRORS = {
    "unauthorized",
    "missing_parameter",
    "invalid_parameter",
    "malformed_json",
    "not_an_object",
    "too_large",
    "route_not_found",
    "method_not_allowed",
    "internal",
    "upstream_unavailable",
}


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_schema_files_are_valid_2020_12(path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    assert schema.get("$schema") == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("vendor_id", VENDOR_IDS)
def test_index_is_complete(vendor_id: str) -> None:
    contract = load_contract(vendor_id)
    vendor = load_vendor(vendor_id)
    assert set(vendor.handlers) == set(contract.operations), "one handler per operation, no more"
    assert REQUIRED_ERRORS <= set(contract.index["errors"])
    for operation in contract.operations.values():
        assert any(200 <= status < 300 for status in operation.responses), operation.id
        assert 401 in operation.responses, f"{operation.id}: every operation can answer 401"
        for validator in operation.responses.values():
            if validator is not None:
                validator.check_schema(validator.schema)


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_ref_resolves_from_the_local_registry(path) -> None:
    contract = load_contract(path.parent.name)
    resolver = contract.registry.resolver(base_uri=f"{SCHEMA_BASE_URI}{path.parent.name}/{path.name}")
    for ref in _refs(json.loads(path.read_text(encoding="utf-8"))):
        assert resolver.lookup(ref).contents is not None, ref


@pytest.mark.parametrize("vendor_id", VENDOR_IDS)
def test_embedded_fixture_fits_its_schema(vendor_id: str) -> None:
    contract = load_contract(vendor_id)
    data = load_fixture(vendor_id, contract)
    load_vendor(vendor_id).new_world(data, contract)


TWIN_REFS = [
    (vendor, ref)
    for vendor in VENDOR_IDS
    for ref in sorted(
        {e[k] for e in load_contract(vendor).index["operations"] for k in ("request", "query") if e.get(k)}
        | {
            f"common.json#/$defs/{name}"
            for name in ("String", "Integer", "Decimal", "Timestamp", "Boolean", "key")
            if vendor == "chartmogul"
        }
        | {f"common.json#/$defs/{name}" for name in ("text", "numeric", "timestamp") if vendor == "bunce"}
    )
]


@pytest.mark.parametrize(("vendor", "ref"), TWIN_REFS)
def test_the_fast_twin_accepts_nothing_the_schema_rejects(vendor: str, ref: str) -> None:
    """The server asks jsonschema-rs first: it must agree with the Python validator, both ways."""
    from hypothesis import given
    from hypothesis import strategies as st

    from mockattr.contract import fast_twin
    from mockattr.contract.generation import from_schema, mutants

    contract = load_contract(vendor)
    validator = contract.validator(ref)
    twin = fast_twin(validator)
    valid = from_schema(contract.resolved(ref), validator)

    @given(st.one_of(valid, mutants(valid, validator)))
    def run(value: object) -> None:
        assert twin.is_valid(value) == validator.is_valid(value), value

    run()


VECTOR_RESPONSES = [
    (path.parent.name, vector["operation"], vector["status"], vector["response"])
    for path in sorted((Path(__file__).parent / "vectors").glob("*/*.json"))
    if isinstance((vector := json.loads(path.read_text(encoding="utf-8")))["response"], dict)
    and path.parent.name != "invisible_collector"  # its attribute answers are maps: any key is an attribute
]


def test_vector_responses_are_found() -> None:
    assert len(VECTOR_RESPONSES) >= 20


@pytest.mark.parametrize("vendor, operation, status, body", VECTOR_RESPONSES, ids=lambda v: str(v)[:40])
def test_a_field_the_vendor_adds_later_passes_the_vendors_level_not_the_mocks(
    vendor: str, operation: str, status: int, body: dict
) -> None:
    """Response schemas say what the vendor guarantees; the strict overlay is what the mock may send."""
    grown = {**body, "added_later": {"by": "the vendor"}}
    assert check(load_contract(vendor).operations[operation].responses[status], grown) is None
    violation = check(load_contract(vendor, strict=True).operations[operation].responses[status], grown)
    assert violation is not None and violation.param == "added_later", violation


def test_the_strict_overlay_closes_nested_objects_and_leaves_requests_alone() -> None:
    strict = load_contract("chartmogul", strict=True)
    customer = load_fixture("chartmogul", strict)["customers"][0]
    nested = {**customer, "address": {**customer["address"], "street": "Unter den Linden"}}
    assert check(strict.operations["customer_get"].responses[200], nested).param == "address.street"
    assert check(load_contract("chartmogul").operations["customer_get"].responses[200], nested) is None
    assert strict.operations["update"].request is not None
    assert check(strict.operations["update"].request, {"custom": {}, "unknown": 1}).param == "unknown"


@pytest.mark.parametrize(
    "body",
    [
        # real: chartmogul-python test/integration/fixtures/delete_invoice.yaml (a 400 of the live API)
        {"code": 400, "message": 'Parameter "name" is missing', "param": "name"},
        # real: chartmogul-ruby spec/fixtures/vcr_cassettes/ChartMogul_Customer/API_Actions/
        # raises_a_HTTP_404_if_searching_for_customers_does_not_find_any.yml
        {"code": 404, "message": 'Can\'t find any customers with email: "no@email.com"', "param": "email"},
    ],
)
def test_chartmogul_error_bodies_recorded_from_the_live_api_fit_at_both_levels(body: dict) -> None:
    for strict in (False, True):
        assert check(load_contract("chartmogul", strict=strict).validator("error.json", strict), body) is None
