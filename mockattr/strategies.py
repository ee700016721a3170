"""Hypothesis strategies for SDK tests and for mockattr's own contract suite, drawn from ``schemas/``.

- ``valid_requests(vendor, operation)``: requests the contract says succeed against a tenant fresh
  from the embedded fixtures (path ids and keys are the fixtures' where the operation needs them).
- ``invalid_requests(vendor, operation)``: ``(request, status)`` pairs: requests whose body or query
  breaks the operation's schema, with the status the vendor answers for that (``index.json``).
- ``attribute_values(vendor, type_name, valid)`` and ``attribute_keys(valid)``: values per data type,
  weighted toward edges; valid or not as the type's schema (and the calendar) says.

Every rule comes from the schemas: the strategies draw from them and classify edge cases with their
validators. The one rule no schema states is that a date must exist (Feb 30 does not).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from hypothesis import strategies as st

from mockattr.contract import Contract, load_contract
from mockattr.runtime import load_fixture
from mockattr.schemagen import from_schema, mutants

__all__ = ["GeneratedRequest", "attribute_keys", "attribute_values", "invalid_requests", "valid_requests"]


@dataclass(frozen=True)
class GeneratedRequest:
    """One request to send: which operation, its path parameters, JSON body (None: none) and query."""

    vendor: str
    operation: str
    path_params: dict[str, str] = field(default_factory=dict)
    body: Any = None
    query: dict[str, str] = field(default_factory=dict)

    @property
    def has_body(self) -> bool:
        return _contract(self.vendor).operations[self.operation].request is not None

    def path(self) -> str:
        """The path below the vendor's prefix, e.g. ``/v1/customers/cus_.../attributes``."""
        return _contract(self.vendor).operations[self.operation].path.format(**self.path_params)

    def method(self) -> str:
        return _contract(self.vendor).operations[self.operation].method


@cache
def _contract(vendor: str) -> Contract:
    return load_contract(vendor)


@cache
def _fixture(vendor: str) -> dict[str, Any]:
    return load_fixture(vendor, _contract(vendor))


@cache
def _schema(vendor: str, ref: str) -> dict[str, Any]:
    return _contract(vendor).resolved(ref)


def _from_ref(vendor: str, ref: str) -> st.SearchStrategy[Any]:
    return from_schema(_schema(vendor, ref), _contract(vendor).validator(ref))


_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


def dates_exist(value: Any) -> bool:
    """Every string in ``value`` that starts like a date names a day that exists (years 2 to 9998, so an
    offset cannot push it out of range)."""
    if isinstance(value, dict):
        return all(dates_exist(v) for v in value.values())
    if isinstance(value, list):
        return all(dates_exist(v) for v in value)
    if isinstance(value, str) and (match := _DATE.match(value)):
        year, month, day = (int(part) for part in match.groups())
        try:
            datetime(year, month, day)
        except ValueError:
            return False
        return 2 <= year <= 9998
    return True


# --- attribute values and keys ----------------------------------------------------------------

EDGE_VALUES: dict[str, tuple[Any, ...]] = {
    "text": ("", "x", "x" * 255, "x" * 256, "é" * 255, "日本語", "emoji 😀", " padded ", "line\nbreak"),
    "boolean": (
        True,
        False,
        1,
        0,
        "TRUE",
        "true",
        "t",
        "1",
        "FALSE",
        "false",
        "f",
        "0",
        "True ",
        "yes",
        "T",
        "no",
        "",
        2,
        "TRUE\n",
    ),
    "number": (
        0,
        -0,
        1,
        -1,
        9223372036854775807,
        -9223372036854775808,
        9223372036854775808,
        "1e3",
        "-0",
        "0.1234567890123456789",
        "3.14",
        "1.",
        ".5",
        "NaN",
        "Infinity",
        "-Infinity",
        1.5,
        1e300,
        "12a",
        "٣",
        "999999999999999999",
        "9999999999999999999",
    ),
    "timestamp": (
        "2024-01-01T00:00:00Z",
        "2024-01-01T02:00:00+02:00",
        "2024-01-01T02:00:00-0530",
        "2024-01-01T00:00:00.123Z",
        "2024-01-01",
        "2024-02-29T12:00:00Z",
        "2023-02-29T12:00:00Z",
        "2016-01-31 00:00:00 UTC",
        "2024-13-01T00:00:00Z",
        "2024-01-01T25:00:00Z",
        "2024-01-01T00:00",
        "01/02/2024",
        "2024-1-1",
        "yesterday",
        "",
        "2024-01-01T00:00:00Z\n",
        "0000-01-01T00:00:00Z",
    ),
}
TYPE_EDGES = {
    ("chartmogul", "String"): "text",
    ("chartmogul", "Integer"): "number",
    ("chartmogul", "Decimal"): "number",
    ("chartmogul", "Timestamp"): "timestamp",
    ("chartmogul", "Boolean"): "boolean",
    ("bunce", "text"): "text",
    ("bunce", "numeric"): "number",
    ("bunce", "timestamp"): "timestamp",
}
EDGE_KEYS = (
    "a",
    "A_1",
    "_",
    "x" * 200,
    "",
    "with space",
    "dot.ted",
    "dash-ed",
    "ünïcode",
    "日本",
    "new\nline",
    "tab\t",
    "key$",
)


def _value_fits(vendor: str, type_name: str, value: Any) -> bool:
    return _contract(vendor).validator(f"common.json#/$defs/{type_name}").is_valid(value) and dates_exist(value)


def attribute_values(vendor: str, type_name: str, valid: bool = True) -> st.SearchStrategy[Any]:
    """Values of a data type (``chartmogul``: String, Integer, Decimal, Timestamp, Boolean; ``bunce``: text,
    numeric, timestamp), valid or not by the type's schema, with the edge cases drawn often."""
    edges = [v for v in EDGE_VALUES[TYPE_EDGES[(vendor, type_name)]] if _value_fits(vendor, type_name, v) == valid]
    if valid:
        drawn = _from_ref(vendor, f"common.json#/$defs/{type_name}").filter(dates_exist)
    else:
        drawn = st.one_of(st.text(max_size=30), st.integers(), st.floats(allow_nan=False), st.booleans()).filter(
            lambda v: not _value_fits(vendor, type_name, v)
        )
    return st.one_of(st.sampled_from(edges), drawn) if edges else drawn


def attribute_keys(valid: bool = True) -> st.SearchStrategy[str]:
    """ChartMogul custom attribute keys, valid or not by ``common.json#/$defs/key``."""
    validator = _contract("chartmogul").validator("common.json#/$defs/key")
    edges = [k for k in EDGE_KEYS if validator.is_valid(k) == valid]
    drawn = (
        _from_ref("chartmogul", "common.json#/$defs/key")
        if valid
        else st.text(max_size=20).filter(lambda k: not validator.is_valid(k))
    )
    return st.one_of(st.sampled_from(edges), drawn)


# --- valid requests, bound to the fixtures where the operation needs existing things ---------------


def _request_ref(vendor: str, operation: str) -> str | None:
    entry = next(e for e in _contract(vendor).index["operations"] if e["id"] == operation)
    return entry.get("request")


def _path_ids(vendor: str) -> st.SearchStrategy[dict[str, str]]:
    data = _fixture(vendor)
    if vendor == "chartmogul":
        return st.sampled_from([c["uuid"] for c in data["customers"]]).map(lambda u: {"uuid": u})
    if vendor == "invisible_collector":
        ids = [c["gid"] for c in data["customers"]] + [c["externalId"] for c in data["customers"] if c["externalId"]]
        return st.sampled_from(ids).map(lambda i: {"id": i})
    return st.just({})


def _bound_custom(wrappable: bool) -> dict[str, Any]:
    """ChartMogul's custom map with exactly the fixture's defined keys, each value of its type."""
    properties = {}
    for key, type_name in _fixture("chartmogul")["attribute_definitions"].items():
        value = _schema("chartmogul", f"common.json#/$defs/{type_name}")
        wrapped = {
            "type": "object",
            "required": ["value"],
            "additionalProperties": False,
            "properties": {"value": value, "source": {"type": "string"}},
        }
        properties[key] = {"anyOf": [value, wrapped]} if wrappable else value
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _chartmogul_body(operation: str) -> st.SearchStrategy[Any]:
    data = _fixture("chartmogul")
    definitions = data["attribute_definitions"]
    emails = [c["email"] for c in data["customers"] if c["email"]]
    body = _from_ref("chartmogul", _request_ref("chartmogul", operation) or "")
    if operation in ("add", "add_by_email"):

        def consistent(value: dict[str, Any]) -> bool:
            types: dict[str, str] = dict(definitions)
            for item in value["custom"]:
                if types.setdefault(item["key"], item["type"]) != item["type"]:
                    return False
            return True

        body = body.filter(consistent)
    if operation == "update":
        body = from_schema(
            {
                "type": "object",
                "required": ["custom"],
                "additionalProperties": False,
                "properties": {"custom": _bound_custom(wrappable=True)},
            }
        )
    if operation == "customer_update":
        custom = from_schema(_bound_custom(wrappable=True))

        def bind(drawn: tuple[dict[str, Any], dict[str, Any], bool]) -> dict[str, Any]:
            """attributes.custom may only name defined keys: the drawn map is replaced by a bound one, or dropped."""
            patch, bound, keep = drawn
            if "attributes" not in patch and not keep:
                return patch
            attributes = {k: v for k, v in patch.get("attributes", {}).items() if k != "custom"}
            return {**patch, "attributes": {**attributes, **({"custom": bound} if keep else {})}}

        body = st.tuples(body, custom, st.booleans()).map(bind)
    if operation.endswith("by_email"):
        body = st.tuples(body, st.sampled_from(emails)).map(lambda t: {**t[0], "email": t[1]})
    return body


def _bunce_body(operation: str) -> st.SearchStrategy[Any]:
    data = _fixture("bunce")
    body = _from_ref("bunce", _request_ref("bunce", operation) or "")
    if operation == "attribute_create":
        names = {a["name"].lower() for a in data["attributes"]}
        return body.filter(lambda b: b["name"].lower() not in names)
    if operation == "set_values":  # most rows name a defined attribute, so their values are checked
        ids = st.sampled_from([a["id"] for a in data["attributes"]])
        chosen = st.lists(st.one_of(st.none(), ids, ids, ids), min_size=8, max_size=8)

        def rebind(pair: tuple[dict[str, Any], list[str | None]]) -> dict[str, Any]:
            rows, new_ids = pair[0]["attributes"], pair[1][: len(pair[0]["attributes"])]
            return {"attributes": [{**row, "id": new} if new else row for row, new in zip(rows, new_ids, strict=True)]}

        return st.tuples(body, chosen).map(rebind)
    return body


def _invisible_collector_body(operation: str) -> st.SearchStrategy[Any]:
    body = _from_ref("invisible_collector", _request_ref("invisible_collector", operation) or "")
    if operation == "customer_create":
        taken = {c["externalId"] for c in _fixture("invisible_collector")["customers"]}
        return body.filter(lambda b: b.get("externalId") not in taken)
    return body


_BODIES = {"chartmogul": _chartmogul_body, "bunce": _bunce_body, "invisible_collector": _invisible_collector_body}


def valid_requests(vendor: str, operation: str) -> st.SearchStrategy[GeneratedRequest]:
    """Requests the contract says succeed on a tenant fresh from the embedded fixtures."""
    entry = next(e for e in _contract(vendor).index["operations"] if e["id"] == operation)
    body: st.SearchStrategy[Any] = _BODIES[vendor](operation).filter(dates_exist) if entry.get("request") else st.none()
    query: st.SearchStrategy[dict[str, str]] = st.just({})
    if entry.get("query"):  # cursors are only valid when a server gave them out: none here
        query = _from_ref(vendor, entry["query"]).map(lambda q: {k: v for k, v in q.items() if k != "cursor"})
    return st.builds(GeneratedRequest, st.just(vendor), st.just(operation), _path_ids(vendor), body, query)


def invalid_requests(vendor: str, operation: str) -> st.SearchStrategy[tuple[GeneratedRequest, int]]:
    """Requests whose body or query breaks the operation's schema, each with the status the vendor
    answers for that; ``st.nothing()`` for an operation that takes neither."""
    contract = _contract(vendor)
    entry = next(e for e in contract.index["operations"] if e["id"] == operation)
    status = contract.index["errors"]["invalid_parameter"]["status"]
    strategies = []
    if entry.get("request"):
        validator = contract.validator(entry["request"])
        bodies = st.one_of(
            mutants(_BODIES[vendor](operation), validator),
            st.one_of(st.lists(st.integers(), max_size=2), st.text(max_size=5), st.integers()),
        )
        strategies.append(
            st.builds(
                GeneratedRequest,
                st.just(vendor),
                st.just(operation),
                _path_ids(vendor),
                bodies.filter(lambda b: not validator.is_valid(b)),
            )
        )
    if entry.get("query"):
        validator = contract.validator(entry["query"])
        names = sorted(_schema(vendor, entry["query"]).get("properties", {}))
        query = st.builds(lambda name, value: {name: value}, st.sampled_from(names), st.text(max_size=8)).filter(
            lambda q: not validator.is_valid(q)
        )
        strategies.append(
            st.builds(GeneratedRequest, st.just(vendor), st.just(operation), _path_ids(vendor), st.none(), query)
        )
    if not strategies:
        return st.nothing()
    return st.one_of(strategies).map(lambda request: (request, status))
