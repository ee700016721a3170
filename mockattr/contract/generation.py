"""Hypothesis strategies from JSON Schemas: a walker for the keywords mockattr's contract uses.

(hypothesis-jsonschema no longer runs on current Hypothesis, so the contract gets its own walker.)
Every value it draws is checked against the schema's real validator, so where the walker is looser
than the schema the check decides. Keywords outside ``DRAWN_KEYWORDS`` raise ``UnsupportedSchema``;
``unsupported_keywords`` finds them in a schema beforehand.
"""

from __future__ import annotations

import json
import math
import string
from datetime import UTC, datetime
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st
from jsonschema.protocols import Validator

from mockattr.contract import ecma_regex

JSON_TYPES = ("null", "boolean", "integer", "number", "string", "array", "object")
DRAWN_KEYWORDS = {
    "type",
    "properties",
    "required",
    "additionalProperties",
    "propertyNames",
    "pattern",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "items",
    "enum",
    "const",
    "anyOf",
    "oneOf",
    "allOf",
    "minimum",
    "maximum",
    "patternProperties",
    "title",
    "description",
    "$comment",
    "examples",
    "if",
    "then",
    "else",
    "unevaluatedProperties",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minProperties",
    "maxProperties",
    "uniqueItems",
    "format",
    "dependentRequired",
    "default",
    "readOnly",
    "writeOnly",
    "deprecated",
}
"""The JSON Schema keywords the walker draws from (CONTRIBUTING.md lists them for new vendors). Where it
only approximates one (``dependentRequired``, an unknown ``format``), the validator's check decides."""
_SUBSCHEMA_KEYWORDS = ("items", "additionalProperties", "propertyNames", "if", "then", "else", "unevaluatedProperties")
_SUBSCHEMA_MAPS = ("properties", "patternProperties")
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf")


class UnsupportedSchema(ValueError):
    """A schema keyword the walker does not know."""


def unsupported_keywords(schema: Any) -> set[str]:
    """The keywords of ``schema`` (a resolved one, its subschemas included) the walker cannot draw from."""
    if not isinstance(schema, dict):
        return set()
    found = set(schema) - DRAWN_KEYWORDS
    for key in _SUBSCHEMA_KEYWORDS:
        found |= unsupported_keywords(schema.get(key))
    for key in _SUBSCHEMA_MAPS:
        for sub in schema.get(key, {}).values():
            found |= unsupported_keywords(sub)
    for key in _SUBSCHEMA_LISTS:
        for sub in schema.get(key, []):
            found |= unsupported_keywords(sub)
    return found


def from_schema(schema: Any, validator: Validator | None = None) -> st.SearchStrategy[Any]:
    """Values valid against ``schema`` (an already resolved one); ``validator`` filters the result."""
    strategy = _draw(schema)
    return strategy.filter(validator.is_valid) if validator is not None else strategy


def _merge(schemas: list[dict[str, Any]]) -> dict[str, Any]:
    """allOf as one schema: properties merged, required unioned, the rest (if/then, anyOf...) kept aside."""
    merged: dict[str, Any] = {}
    for schema in schemas:
        if "allOf" in schema:
            schema = {**{k: v for k, v in schema.items() if k != "allOf"}, **_merge(schema["allOf"])}
        for key, value in schema.items():
            if key == "properties":
                props = merged.setdefault("properties", {})
                for name, sub in value.items():
                    props[name] = _merge([props[name], sub]) if name in props else sub
            elif key == "required":
                merged["required"] = sorted(set(merged.get("required", [])) | set(value))
            elif key == "conditions":
                merged.setdefault("conditions", []).extend(value)
            elif key in ("if", "then", "else"):
                pass
            elif key in merged and key in ("anyOf", "oneOf"):
                raise UnsupportedSchema(f"two {key} in one allOf")
            else:
                merged[key] = value
        if "if" in schema:
            merged.setdefault("conditions", []).append((schema["if"], schema.get("then", {}), schema.get("else", {})))
    return merged


def _draw(schema: Any) -> st.SearchStrategy[Any]:
    if schema is True or schema == {}:
        return _any_json()
    if schema is False:
        return st.nothing()
    unknown = set(schema) - DRAWN_KEYWORDS - {"conditions"}
    if unknown:
        raise UnsupportedSchema(f"keywords {sorted(unknown)} in {json.dumps(schema)[:200]}")
    if "allOf" in schema:
        return _draw(_merge([{k: v for k, v in schema.items() if k != "allOf"}, *schema["allOf"]]))
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema or "oneOf" in schema:
        branches = schema.get("anyOf") or schema.get("oneOf")
        base = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
        if all(set(b) <= {"required"} for b in branches):
            return _one_of_required(base, branches, exclusive="oneOf" in schema)
        return st.one_of([_draw(_merge([base, b]) if base else b) for b in branches])
    types = schema.get("type", list(JSON_TYPES))
    types = [types] if isinstance(types, str) else types
    return st.one_of([_typed(t, schema) for t in types])


def _one_of_required(base: dict[str, Any], branches: list[dict[str, Any]], exclusive: bool) -> st.SearchStrategy:
    """anyOf / oneOf of ``required`` lists: pick a branch, require its names (oneOf: and none of the others)."""

    def branch(i: int) -> st.SearchStrategy[Any]:
        required = set(base.get("required", [])) | set(branches[i]["required"])
        others = {n for j, b in enumerate(branches) if j != i for n in b["required"]} - required if exclusive else set()
        props = {k: v for k, v in base.get("properties", {}).items() if k not in others}
        return _draw({**base, "properties": props, "required": sorted(required)})

    return st.one_of([branch(i) for i in range(len(branches))])


def _typed(kind: str, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind in ("integer", "number"):
        return _numbers(schema, integers_only=kind == "integer")
    if kind == "string" and schema.get("format") in FORMATS and "pattern" not in schema:
        return FORMATS[schema["format"]]
    if kind == "string":
        if "pattern" in schema:  # Python regex draws; the ECMA 262 regex (as the schema means it) decides
            ecma = ecma_regex(schema["pattern"])
            return st.from_regex(schema["pattern"], fullmatch=True).filter(
                lambda s: (
                    schema.get("minLength", 0) <= len(s) <= schema.get("maxLength", 10**9) and ecma.find(s) is not None
                )
            )
        return st.text(
            min_size=schema.get("minLength", 0),
            max_size=min(schema.get("maxLength", 40), 40)
            if schema.get("maxLength", 40) >= schema.get("minLength", 0)
            else schema.get("minLength", 0),
        )
    if kind == "array":
        items = schema.get("items", {})
        return st.lists(
            _draw(items),
            min_size=schema.get("minItems", 0),
            max_size=max(schema.get("maxItems", 4), schema.get("minItems", 0)),
            unique_by=(lambda item: json.dumps(item, sort_keys=True)) if schema.get("uniqueItems") else None,
        )
    return _object(schema)


def _numbers(schema: dict[str, Any], integers_only: bool) -> st.SearchStrategy[Any]:
    """Numbers within ``minimum``/``maximum`` and their exclusive forms, multiples of ``multipleOf``."""
    low, high = schema.get("minimum"), schema.get("maximum")
    above, below = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    step = schema.get("multipleOf", 1)
    # integers, or multiples k * step: k in [lows, highs]
    lows = [math.ceil(low / step)] if low is not None else []
    lows += [math.floor(above / step) + 1] if above is not None else []
    highs = [math.floor(high / step)] if high is not None else []
    highs += [math.ceil(below / step) - 1] if below is not None else []
    least, most = max(lows, default=None), min(highs, default=None)
    if least is not None and most is not None and least > most:
        multiples: st.SearchStrategy[Any] = st.nothing()
    else:
        multiples = st.integers(least, most).map(lambda k: k * step)
    if integers_only or "multipleOf" in schema:
        return multiples
    floats = st.floats(
        max([v for v in (low, above) if v is not None], default=None),
        min([v for v in (high, below) if v is not None], default=None),
        exclude_min=above is not None and (low is None or above >= low),
        exclude_max=below is not None and (high is None or below <= high),
        allow_nan=False,
        allow_infinity=False,
    )
    return st.one_of(multiples, floats)


FORMATS: dict[str, st.SearchStrategy[str]] = {
    "date-time": st.datetimes(datetime(1970, 1, 2), datetime(2099, 12, 31), timezones=st.just(UTC)).map(
        lambda d: d.isoformat().replace("+00:00", "Z")
    ),
    "date": st.dates(datetime(1970, 1, 2).date(), datetime(2099, 12, 31).date()).map(lambda d: d.isoformat()),
    "email": st.builds(  # not st.emails(): its first draw takes seconds, past Hypothesis's deadline
        "{}@{}.example".format,
        st.text(string.ascii_lowercase + string.digits + "._+-", min_size=1, max_size=12).filter(
            lambda local: local[0] not in ".-" and local[-1] != "." and ".." not in local
        ),
        st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=12),
    ),
    "uuid": st.uuids().map(str),
    "uri": st.sampled_from(["https://example.com/", "https://example.com/a?b=c", "http://localhost:1/x"]),
    "ipv4": st.ip_addresses(v=4).map(str),
    "ipv6": st.ip_addresses(v=6).map(str),
}
"""Strings of the common ``format`` values; any other format draws plain text for the validator to judge."""


def _object(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    props: dict[str, Any] = schema.get("properties", {})
    extra_schema = schema.get("additionalProperties", True)
    required = list(schema.get("required", []))
    # properties that only carry a description (read-only fields a PATCH ignores) are left out
    optional = [
        name
        for name in props
        if name not in required and not (isinstance(props[name], dict) and set(props[name]) <= {"description"})
    ]
    names = schema.get("propertyNames", {})
    most = schema.get("maxProperties", 10**9)

    @st.composite
    def build(draw: Any) -> dict[str, Any]:
        value: dict[str, Any] = {}
        for name in required:
            value[name] = draw(_draw(props.get(name, extra_schema if isinstance(extra_schema, dict) else {})))
        for name in optional:
            if name not in value and len(value) < most and draw(st.booleans()):
                value[name] = draw(_draw(props[name]))
        if extra_schema is not False and not props:
            fewest = max(schema.get("minProperties", 0) - len(value), 0)
            keys = draw(
                st.lists(
                    _draw({"type": "string", **names}).filter(lambda key: key not in value),
                    min_size=fewest,
                    max_size=max(min(4, most - len(value)), fewest),
                    unique=True,
                )
            )
            for key in keys:
                value[key] = draw(_draw(extra_schema if isinstance(extra_schema, dict) else {}))
        for condition, then, otherwise in schema.get("conditions", []):
            met = all(value.get(k) == sub.get("const") for k, sub in condition.get("properties", {}).items())
            for name, sub in (then if met else otherwise).get("properties", {}).items():
                if name in value:
                    value[name] = draw(_draw(_merge([props.get(name, {}), sub])))
        return value

    return build()


def _any_json() -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20)
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
        max_leaves=8,
    )


# --- invalid values: mutations of valid ones, kept only when the schema rejects them --------------

WRONG_VALUES: tuple[Any, ...] = (
    None,
    True,
    0,
    -1,
    1.5,
    "",
    "x",
    " padded ",
    "line\n",
    "é" * 300,
    [],
    [None],
    {},
    {"unexpected": 1},
)


def _sites(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path inside ``value`` (the root included)."""
    found = [path]
    if isinstance(value, dict):
        for key, sub in value.items():
            found += _sites(sub, path + (key,))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            found += _sites(sub, path + (index,))
    return found


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = json.loads(json.dumps(value))
    node = copy
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = new
    return copy


def _remove(value: Any, path: tuple[Any, ...]) -> Any:
    copy = json.loads(json.dumps(value))
    node = copy
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    return copy


def mutants(
    valid: st.SearchStrategy[Any], validator: Validator, keep_outer_type: bool = False
) -> st.SearchStrategy[Any]:
    """Values the schema rejects, each one change away from a valid one: a field removed, replaced by a
    value of another type or shape, or an unexpected field added. With ``keep_outer_type``, the root is
    never replaced (an object stays an object: the change is inside it)."""

    @st.composite
    def mutate(draw: Any) -> Any:
        value = draw(valid)
        path = draw(st.sampled_from(_sites(value)))
        target = value
        for part in path:
            target = target[part]
        replace = [] if keep_outer_type and not path else ["replace"]
        choices = replace + (["remove"] if path else []) + (["add"] if isinstance(target, dict) else [])
        assume(choices)  # a scalar root cannot change inside
        how = draw(st.sampled_from(choices))
        if how == "remove":
            return _remove(value, path)
        if how == "add":
            return _replace(value, path, {**target, draw(st.sampled_from(["unexpected", "", "a b"])): "x"})
        return _replace(value, path, draw(st.sampled_from(WRONG_VALUES)))

    return mutate().filter(lambda v: not validator.is_valid(v))
