"""mockattr.strategies: each produces what it promises, and its examples come back from a seed."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from mockattr import VENDOR_IDS
from mockattr.contract import load_contract
from mockattr.strategies import (
    EDGE_VALUES,
    NO_BODY,
    attribute_keys,
    attribute_values,
    dates_exist,
    invalid_requests,
    valid_requests,
)

OPERATIONS = [(vendor, op) for vendor in VENDOR_IDS for op in load_contract(vendor).operations]
TAKING_INPUT = [
    (vendor, op)
    for vendor, op in OPERATIONS
    if load_contract(vendor).operations[op].request or load_contract(vendor).operations[op].query
]
TYPES = [
    (vendor, type_name)
    for vendor in VENDOR_IDS
    for type_name in load_contract(vendor).index.get("testing", {}).get("attribute_types", {})
]


@pytest.mark.parametrize(("vendor", "operation"), OPERATIONS)
def test_valid_requests_fit_the_request_schema(vendor: str, operation: str) -> None:
    contract = load_contract(vendor)
    spec = contract.operations[operation]

    @given(valid_requests(vendor, operation))
    def run(request) -> None:
        assert request.path().count("{") == 0
        if spec.request is not None:
            assert spec.request.is_valid(request.body) and dates_exist(request.body)
            assert json.loads(request.content()) == request.body
        else:
            assert request.body is NO_BODY and not request.has_body and request.content() is None
        if spec.query is not None:
            assert spec.query.is_valid(request.query)

    run()


@pytest.mark.parametrize("well_formed", [True, False])
@pytest.mark.parametrize(("vendor", "operation"), TAKING_INPUT)
def test_invalid_requests_break_the_schema_and_name_the_vendors_status(
    vendor: str, operation: str, well_formed: bool
) -> None:
    contract = load_contract(vendor)
    spec = contract.operations[operation]
    status = contract.index["errors"]["invalid_parameter"]["status"]
    assert status == contract.index["errors"]["missing_parameter"]["status"]
    assert status == contract.index["errors"]["not_an_object"]["status"]
    entry = next(e for e in contract.index["operations"] if e["id"] == operation)
    outer = contract.resolved(entry["request"]).get("type") if spec.request else None
    shapes: set[str] = set()

    @settings(max_examples=60)
    @given(invalid_requests(vendor, operation, well_formed=well_formed))
    def run(pair) -> None:
        request, expected = pair
        assert expected == status and expected in spec.responses
        if request.query:
            assert not spec.query.is_valid(request.query) and request.body is NO_BODY
        else:
            assert not spec.request.is_valid(request.body)
            json.dumps(request.body, allow_nan=False)  # what a client can send
            shapes.add(type(request.body).__name__)
            if well_formed and outer == "object":
                assert isinstance(request.body, dict), request.body

    run()
    if spec.request and not well_formed:
        assert shapes - {"dict"}, "well_formed=False draws bodies of other JSON types too"


@pytest.mark.parametrize(("vendor", "type_name"), TYPES)
def test_attribute_values_are_valid_or_not_as_promised(vendor: str, type_name: str) -> None:
    validator = load_contract(vendor).validator(f"common.json#/$defs/{type_name}")

    @given(attribute_values(vendor, type_name, valid=True), attribute_values(vendor, type_name, valid=False))
    def run(good, bad) -> None:
        json.dumps([good, bad], allow_nan=False)  # what a client can send
        assert validator.is_valid(good) and dates_exist(good)
        assert not (validator.is_valid(bad) and dates_exist(bad))

    run()


def test_edge_cases_sit_on_the_right_side_of_the_rules() -> None:
    def edges(vendor: str, type_name: str, valid: bool) -> list:
        validator = load_contract(vendor).validator(f"common.json#/$defs/{type_name}")
        return [
            v
            for v in EDGE_VALUES[
                {"String": "text", "Boolean": "boolean", "Integer": "number", "Timestamp": "timestamp"}.get(
                    type_name, "number"
                )
            ]
            if (validator.is_valid(v) and dates_exist(v)) == valid
        ]

    assert "x" * 255 in edges("chartmogul", "String", True) and "x" * 256 in edges("chartmogul", "String", False)
    assert {"TRUE", "t", "0"} <= set(edges("chartmogul", "Boolean", True))
    assert {"True ", "yes", "T"} <= set(edges("chartmogul", "Boolean", False))
    assert "2024-02-29T12:00:00Z" in edges("chartmogul", "Timestamp", True)
    assert "2023-02-29T12:00:00Z" in edges("chartmogul", "Timestamp", False)
    assert {"NaN", "Infinity", "1e3"} <= set(edges("chartmogul", "Integer", False))


def test_attribute_keys() -> None:
    validator = load_contract("chartmogul").validator("common.json#/$defs/key")

    @given(attribute_keys(valid=True), attribute_keys(valid=False))
    def run(good: str, bad: str) -> None:
        assert validator.is_valid(good) and not validator.is_valid(bad)

    run()


def test_examples_are_reproducible_from_a_seed() -> None:
    def draw_with(seed_value: int) -> list:
        drawn: list = []

        @seed(seed_value)
        @settings(max_examples=10, database=None)
        @given(st.tuples(valid_requests("chartmogul", "add"), invalid_requests("bunce", "set_values")))
        def run(pair) -> None:
            drawn.append(repr(pair))

        run()
        return drawn

    assert draw_with(7) == draw_with(7)
    assert draw_with(7) != draw_with(8)


@pytest.mark.parametrize(("vendor", "type_name"), TYPES)
@pytest.mark.parametrize("valid", [True, False])
def test_every_attribute_value_serialises_as_strict_json(vendor: str, type_name: str, valid: bool) -> None:
    """requests refuses to send inf or NaN (json.dumps with allow_nan=False)."""
    import json

    @settings(max_examples=200, database=None)
    @given(attribute_values(vendor, type_name, valid))
    def run(value) -> None:
        json.dumps(value, allow_nan=False)

    run()


# --- edges held to the documents' own words, not to the validator the strategies filter with ---------

DOCUMENTED_BOOLEANS = {"TRUE", "true", "t", "1", "FALSE", "false", "f", "0"}
"""ChartMogul's document (seed 000): "Boolean - Can be one of TRUE, true, t, 1, FALSE, false, f, or 0"."""


def test_chartmogul_booleans_drawn_are_the_documents_literals() -> None:
    @given(attribute_values("chartmogul", "Boolean", True), attribute_values("chartmogul", "Boolean", False))
    def run(good, bad) -> None:
        assert isinstance(good, bool) or str(good) in DOCUMENTED_BOOLEANS, good
        assert not isinstance(bad, bool) and str(bad) not in DOCUMENTED_BOOLEANS, bad

    run()


def test_chartmogul_strings_drawn_are_at_most_255_characters() -> None:
    """The document (seed 000): String "Maximum of 255 characters allowed"."""

    @given(attribute_values("chartmogul", "String", True), attribute_values("chartmogul", "String", False))
    def run(good, bad) -> None:
        assert isinstance(good, str) and len(good) <= 255
        assert not (isinstance(bad, str) and len(bad) <= 255)

    run()


def test_bunce_timestamps_drawn_are_the_documents_format() -> None:
    """Doc 003: YYYY-MM-DDTHH:MM:SSZ (UTC); its row error's own example adds +00:00."""
    import re

    documented = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|\+00:00)")

    def is_a_moment(text: str) -> bool:  # the day exists, and so does the time (no hour 25)
        try:
            datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return False
        return dates_exist(text)

    @given(attribute_values("bunce", "timestamp", True), attribute_values("bunce", "timestamp", False))
    def run(good, bad) -> None:
        assert documented.fullmatch(good), good
        assert not (isinstance(bad, str) and documented.fullmatch(bad) and is_a_moment(bad)), bad

    run()
