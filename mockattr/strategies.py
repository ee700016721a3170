"""Hypothesis strategies for SDK tests and for mockattr's own contract suite, drawn from ``schemas/``.

- ``valid_requests(vendor, operation)``: requests the contract says succeed against a tenant fresh
  from the embedded fixtures (path ids and keys are the fixtures' where the operation needs them).
- ``invalid_requests(vendor, operation, well_formed=True)``: ``(request, status)`` pairs: requests whose
  body or query breaks the operation's schema, with the status the vendor answers for that
  (``index.json``). Well-formed ones keep the body's outer shape (an SDK's typed method can send them);
  ``well_formed=False`` adds bodies of any JSON type, ``null`` among them.
- ``attribute_values(vendor, type_name, valid)`` and ``attribute_keys(valid)``: values per data type,
  weighted toward edges; valid or not as the type's schema (and the calendar) says.

Every rule comes from the schemas: the strategies draw from them and classify edge cases with their
validators. The one rule no schema states is that a date must exist (Feb 30 does not). Every value drawn
serialises with ``json.dumps(value, allow_nan=False)``: what a client can send.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from hypothesis import strategies as st

from mockattr import VENDOR_IDS
from mockattr.contract import Contract, load_contract, path_parameters
from mockattr.contract.generation import DRAWN_KEYWORDS, UnsupportedSchema, from_schema, mutants, unsupported_keywords
from mockattr.vendors import load_fixture, vendor_part

__all__ = [
    "NO_BODY",
    "GeneratedRequest",
    "attribute_keys",
    "attribute_values",
    "invalid_requests",
    "valid_requests",
]


class _NoBody:
    """The type of ``NO_BODY``."""

    def __repr__(self) -> str:
        return "NO_BODY"

    def __reduce__(self) -> str:
        return "NO_BODY"


NO_BODY: Any = _NoBody()
"""A request without a body; ``None`` is the JSON body ``null``."""


@dataclass(frozen=True)
class GeneratedRequest:
    """One request to send: which operation, its path parameters, JSON body and query. ``body`` is
    ``NO_BODY`` when the request has none (``None`` is the JSON body ``null``)."""

    vendor: str
    operation: str
    path_params: dict[str, str] = field(default_factory=dict)
    body: Any = NO_BODY
    query: dict[str, str] = field(default_factory=dict)

    @property
    def has_body(self) -> bool:
        """Whether the request sends a body (``json=request.body`` with requests or httpx)."""
        return self.body is not NO_BODY

    def content(self) -> bytes | None:
        """The body as JSON bytes to send, or None when there is no body."""
        return None if self.body is NO_BODY else json.dumps(self.body, allow_nan=False).encode()

    def path(self) -> str:
        """The path below the vendor's prefix, e.g. ``/v1/customers/cus_.../attributes``."""
        return vendor_contract(self.vendor).operations[self.operation].path.format(**self.path_params)

    def method(self) -> str:
        return vendor_contract(self.vendor).operations[self.operation].method


@cache
def vendor_contract(vendor: str) -> Contract:
    """The vendor's contract (open level), loaded once."""
    return load_contract(vendor)


@cache
def vendor_fixture(vendor: str) -> dict[str, Any]:
    """The vendor's embedded fixture: what a fresh tenant holds."""
    return load_fixture(vendor, vendor_contract(vendor))


@cache
def testing_hints(vendor: str) -> dict[str, Any]:
    """The ``testing`` block of the vendor's index.json (empty when it has none)."""
    return vendor_contract(vendor).index.get("testing", {})


@cache
def resolved(vendor: str, ref: str) -> dict[str, Any]:
    """The schema at ``ref`` of the vendor's contract, its references resolved."""
    return vendor_contract(vendor).resolved(ref)


def from_ref(vendor: str, ref: str) -> st.SearchStrategy[Any]:
    """Values of the schema at ``ref`` (e.g. ``common.json#/$defs/key``) of the vendor's contract;
    ``UnsupportedSchema`` naming the vendor, the schema and the keywords it cannot draw from."""
    _drawable(vendor, ref)
    return from_schema(resolved(vendor, ref), vendor_contract(vendor).validator(ref)).filter(sendable)


def _drawable(vendor: str, ref: str) -> None:
    """``UnsupportedSchema`` naming the vendor, the schema and its keywords, when the walker cannot draw from it."""
    if unknown := unsupported_keywords(resolved(vendor, ref)):
        raise UnsupportedSchema(f"{vendor} {ref}: the strategies cannot draw from {', '.join(sorted(unknown))}")


def drawing_problems(vendor: str) -> list[str]:
    """The vendor's request and query schemas the strategies cannot draw from, each naming the schema
    and its keywords outside ``mockattr.contract.generation.DRAWN_KEYWORDS`` (empty: all drawable)."""
    refs = sorted(
        {
            ref
            for entry in vendor_contract(vendor).index["operations"]
            for ref in (entry.get("request"), entry.get("query"))
            if ref
        }
    )
    return [
        f"schemas/{vendor}/{ref}: keywords {sorted(unknown)} (the strategies draw {len(DRAWN_KEYWORDS)} keywords)"
        for ref in refs
        if (unknown := unsupported_keywords(resolved(vendor, ref)))
    ]


def sendable(value: Any) -> bool:
    """Whether ``value`` serialises as JSON a client can send (no NaN or infinity)."""
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        return False
    return True


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


def _attribute_type(vendor: str, type_name: str) -> dict[str, str]:
    types = testing_hints(vendor).get("attribute_types", {})
    if type_name not in types:
        raise ValueError(
            f"{vendor} has no attribute type {type_name!r} (index.json testing.attribute_types): {sorted(types)}"
        )
    return types[type_name]


def _value_fits(vendor: str, type_name: str, value: Any) -> bool:
    ref = _attribute_type(vendor, type_name)["schema"]
    return vendor_contract(vendor).validator(ref).is_valid(value) and dates_exist(value)


def attribute_values(vendor: str, type_name: str, valid: bool = True) -> st.SearchStrategy[Any]:
    """Values of one of the vendor's data types (index.json ``testing.attribute_types``, e.g.
    ChartMogul's String, Integer, Decimal, Timestamp, Boolean), valid or not by the
    type's schema, with the edge cases drawn often."""
    hint = _attribute_type(vendor, type_name)
    edges = [v for v in EDGE_VALUES[hint["edges"]] if _value_fits(vendor, type_name, v) == valid]
    if valid:
        drawn = from_ref(vendor, hint["schema"]).filter(dates_exist)
    else:
        drawn = st.one_of(
            st.text(max_size=30), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.booleans()
        ).filter(lambda v: not _value_fits(vendor, type_name, v))
    return st.one_of(st.sampled_from(edges), drawn) if edges else drawn


def attribute_keys(valid: bool = True, vendor: str | None = None) -> st.SearchStrategy[str]:
    """Custom attribute keys, valid or not by the key schema index.json names (``testing.attribute_key``);
    ``vendor`` may be left out when exactly one vendor names one."""
    if vendor is None:
        named = [v for v in VENDOR_IDS if "attribute_key" in testing_hints(v)]
        if len(named) != 1:
            raise ValueError(f"attribute_keys: say which vendor (vendors with an attribute_key: {named})")
        vendor = named[0]
    ref = testing_hints(vendor)["attribute_key"]
    validator = vendor_contract(vendor).validator(ref)
    edges = [k for k in EDGE_KEYS if validator.is_valid(k) == valid]
    drawn = from_ref(vendor, ref) if valid else st.text(max_size=20).filter(lambda k: not validator.is_valid(k))
    return st.one_of(st.sampled_from(edges), drawn)


# --- valid requests, bound to the fixtures where the operation needs existing things ---------------


def _entry(vendor: str, operation: str) -> dict[str, Any]:
    return next(e for e in vendor_contract(vendor).index["operations"] if e["id"] == operation)


def fixture_values(data: Any, pointer: str) -> list[Any]:
    """The values at ``pointer`` in fixture data: names separated by ``/``, ``*`` for every item of a list
    (``customers/*/uuid``). Missing and null values are left out."""
    found = [data]
    for part in pointer.split("/"):
        step: list[Any] = []
        for value in found:
            if part == "*" and isinstance(value, list):
                step.extend(value)
            elif isinstance(value, dict) and value.get(part) is not None:
                step.append(value[part])
        found = step
    return found


def fixture_path_ids(vendor: str, operation: str) -> list[dict[str, str]]:
    """Every choice of path parameters that names the fixture's records: from the pointers of index.json's
    ``testing.path_params``, or else every ``<list>/*/<name>`` of the fixture."""
    names = path_parameters(_entry(vendor, operation)["path"])
    data, declared = vendor_fixture(vendor), testing_hints(vendor).get("path_params", {})
    choices: list[dict[str, str]] = [{}]
    for name in names:
        pointers = declared.get(name) or [f"{key}/*/{name}" for key, value in data.items() if isinstance(value, list)]
        values = sorted({str(v) for pointer in pointers for v in fixture_values(data, pointer)})
        if not values:
            raise ValueError(
                f"{vendor} {operation}: no fixture value for path parameter {name!r} (index.json testing.path_params)"
            )
        choices = [{**chosen, name: value} for chosen in choices for value in values]
    return choices


def path_ids(vendor: str, operation: str) -> st.SearchStrategy[dict[str, str]]:
    """One of ``fixture_path_ids``."""
    return st.sampled_from(fixture_path_ids(vendor, operation))


def state_reads(vendor: str, operation: str) -> list[GeneratedRequest]:
    """The reads that show whether a rejected ``operation`` changed anything: those it declares
    (``reads`` in its index entry), else the vendor's (``testing.reads``), else every GET operation; each
    for every record of the fixture its path names."""
    declared = _entry(vendor, operation).get("reads") or testing_hints(vendor).get("reads")
    if declared is None:
        declared = [{"operation": o.id} for o in vendor_contract(vendor).operations.values() if o.method == "GET"]
    if not declared:  # an empty snapshot would pass the "changes nothing" check while testing nothing
        raise ValueError(f"{vendor} {operation}: no read shows its state (no GET operation; index.json testing.reads)")
    return [
        GeneratedRequest(vendor, read["operation"], params, NO_BODY, dict(read.get("query", {})))
        for read in declared
        for params in fixture_path_ids(vendor, read["operation"])
    ]


def request_bodies(vendor: str, operation: str) -> st.SearchStrategy[Any]:
    """Bodies the operation's request schema accepts, refined by the vendor's ``testing`` module when it
    has one (``refine_body(operation, drawn)``: bind them to the fixtures where state decides)."""
    drawn = from_ref(vendor, _entry(vendor, operation)["request"])
    hooks = vendor_part(vendor, "testing")
    refine = getattr(hooks, "refine_body", None)
    return refine(operation, drawn) if refine else drawn


def valid_requests(vendor: str, operation: str) -> st.SearchStrategy[GeneratedRequest]:
    """Requests the contract says succeed on a tenant fresh from the embedded fixtures."""
    entry = _entry(vendor, operation)
    body: st.SearchStrategy[Any] = (
        request_bodies(vendor, operation).filter(dates_exist) if entry.get("request") else st.just(NO_BODY)
    )
    query: st.SearchStrategy[dict[str, str]] = st.just({})
    if entry.get("query"):  # what only a server's earlier answer makes valid (index.json) is left out
        issued = set(testing_hints(vendor).get("server_issued_query", []))
        query = from_ref(vendor, entry["query"]).map(lambda q: {k: v for k, v in q.items() if k not in issued})
    return st.builds(GeneratedRequest, st.just(vendor), st.just(operation), path_ids(vendor, operation), body, query)


def invalid_requests(
    vendor: str, operation: str, well_formed: bool = True
) -> st.SearchStrategy[tuple[GeneratedRequest, int]]:
    """Requests whose body or query breaks the operation's schema, each with the status the vendor
    answers for that; ``st.nothing()`` for an operation that takes neither. Well-formed bodies keep the
    outer JSON type of a valid one (an object stays an object) with the fault inside: a wrong type, a
    missing field, an unexpected one, a value that breaks its rule. ``well_formed=False`` also draws
    bodies of other types (``null``, strings, numbers, lists)."""
    contract = vendor_contract(vendor)
    entry = _entry(vendor, operation)
    status = contract.index["errors"]["invalid_parameter"]["status"]
    strategies = []
    if entry.get("request"):
        validator = contract.validator(entry["request"])
        bodies = mutants(request_bodies(vendor, operation), validator, keep_outer_type=well_formed)
        if not well_formed:
            bodies = st.one_of(
                bodies, st.one_of(st.none(), st.lists(st.integers(), max_size=2), st.text(max_size=5), st.integers())
            )
        strategies.append(
            st.builds(
                GeneratedRequest,
                st.just(vendor),
                st.just(operation),
                path_ids(vendor, operation),
                bodies.filter(lambda b: not validator.is_valid(b) and sendable(b)),
            )
        )
    if entry.get("query") and (query := _invalid_queries(vendor, entry["query"])) is not None:
        strategies.append(
            st.builds(
                GeneratedRequest,
                st.just(vendor),
                st.just(operation),
                path_ids(vendor, operation),
                st.just(NO_BODY),
                query,
            )
        )
    if not strategies:
        return st.nothing()
    return st.one_of(strategies).map(lambda request: (request, status))


QUERY_PROBES = ("", "x", "0", "-1", "1.5", "true", "a b", "%", "9" * 20, "x" * 300)
"""Query values tried on each parameter: a parameter no probe breaks is left out of invalid queries."""
UNKNOWN_PARAMETER = {"unexpected_parameter": "x"}
"""A query the schema refuses when it takes no other parameters."""


def _invalid_queries(vendor: str, ref: str) -> st.SearchStrategy[dict[str, str]] | None:
    """Queries the schema at ``ref`` rejects: one parameter with a probe or drawn text that breaks it, or
    an unknown parameter where the schema takes none (None: no query breaks it)."""
    _drawable(vendor, ref)
    validator = vendor_contract(vendor).validator(ref)
    names = sorted(resolved(vendor, ref).get("properties", {}))
    breakable = {name: [v for v in QUERY_PROBES if not validator.is_valid({name: v})] for name in names}
    breakable = {name: probes for name, probes in breakable.items() if probes}
    choices: list[st.SearchStrategy[dict[str, str]]] = []
    if not validator.is_valid(UNKNOWN_PARAMETER):
        choices.append(st.just(dict(UNKNOWN_PARAMETER)))
    if breakable:
        values = st.one_of(st.text(max_size=8), st.text(min_size=1, max_size=400))
        choices.append(
            st.sampled_from(sorted(breakable)).flatmap(
                lambda name: st.one_of(st.sampled_from(breakable[name]), values).map(lambda value: {name: value})
            )
        )
    return st.one_of(choices).filter(lambda q: not validator.is_valid(q)) if choices else None
