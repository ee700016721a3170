"""The contract: each vendor's JSON Schemas and operation index, loaded and compiled once.

Schemas live in ``schemas/<vendor>/``; ``index.json`` there lists every operation (id, method,
path, request schema, response schema per status) and the texts of every error the vendor answers.
``$ref``s between files resolve from a local ``referencing`` registry, never over the network.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path
from typing import Any

import jsonschema_rs
import regress
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError, best_match
from jsonschema.protocols import Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from mockattr.contract.discovery import schema_folder
from mockattr.contract.errors import ApiError

SCHEMA_BASE_URI = "https://schemas.mockattr.invalid/"
"""Base URI the local registry files schemas under; the .invalid domain never resolves."""


@cache
def ecma_regex(pattern: str) -> regress.Regex:
    """``pattern`` compiled as JSON Schema means it: an ECMA-262 regular expression (compiled once)."""
    return regress.Regex(pattern)


def _ecma_pattern(validator: Any, pattern: str, instance: Any, schema: dict[str, Any]) -> Any:
    """``pattern`` with ECMA 262 semantics, as JSON Schema means it (Python's ``re`` lets ``$`` match
    before a trailing newline and ``\\d`` match any Unicode digit)."""
    if validator.is_type(instance, "string") and ecma_regex(pattern).find(instance) is None:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


SchemaValidator = validators.extend(Draft202012Validator, {"pattern": _ecma_pattern})
"""Draft 2020-12 with ECMA 262 patterns: every schema of the contract is checked with it."""


@dataclass(frozen=True)
class Violation:
    """What in a JSON document broke its schema: the field (None for the document itself) and why."""

    param: str | None
    detail: str
    missing: bool = False
    wrong_root_type: bool = False

    def __str__(self) -> str:
        return f"{self.param or 'body'}: {self.detail}"


@dataclass(frozen=True)
class Operation:
    """One operation of the index, with its compiled validators (``responses`` at the contract's level of
    strictness: the vendor's guarantee, or with ``strict`` exactly what the mock sends)."""

    id: str
    method: str
    path: str
    request: Validator | None
    responses: dict[int, Validator | None]
    query: Validator | None = None
    empty_body: Any = None
    description: str = ""

    def url_rule(self, prefix: str) -> str:
        """werkzeug's URL rule for this operation below ``prefix``."""
        return url_rule(prefix + self.path)


PATH_PARAMETER = re.compile(r"\{(\w+)\}")
"""A path parameter in index.json's paths: ``{uuid}``."""


def path_parameters(path: str) -> list[str]:
    """The names of ``path``'s parameters, in order."""
    return PATH_PARAMETER.findall(path)


def url_rule(path: str) -> str:
    """werkzeug's URL rule for an index.json path ({uuid} becomes <uuid>)."""
    return PATH_PARAMETER.sub(r"<\1>", path)


@dataclass
class Contract:
    """A vendor's compiled contract: operations by id, error texts by name, schema lookup."""

    vendor: str
    index: dict[str, Any]
    registry: Registry
    strict_registry: Registry | None = None
    """The same files with every response object closed (``strict_overlay``); None for the vendor's level."""
    operations: dict[str, Operation] = field(default_factory=dict)
    _validators: dict[tuple[str, bool], Validator] = field(default_factory=dict, repr=False)

    def validator(self, ref: str, strict: bool = False) -> Validator:
        """A validator for ``ref``, a file name with optional fragment, e.g. ``common.json#/$defs/Integer``;
        with ``strict``, of its strict overlay (what the mock itself sends).

        Compiled on first use and kept, so no request compiles a schema twice.
        """
        found = self._validators.get((ref, strict))
        if found is None:
            uri = SCHEMA_BASE_URI + f"{self.vendor}/{ref}"
            registry = self.strict_registry if strict and self.strict_registry is not None else self.registry
            found = self._validators[ref, strict] = SchemaValidator({"$ref": uri}, registry=registry)
            _TWINS.pop(id(found), None)  # a twin left by a validator that had this id before
            _TWIN_SCHEMAS[id(found)] = partial(self.resolved, ref, strict)
        return found

    def error(
        self, name: str, /, param: str | None = None, extra: dict[str, Any] | None = None, **values: Any
    ) -> ApiError:
        """The ApiError named ``name`` in index.json's ``errors``, its message filled with ``values``.

        Messages may use ``{field}``: ``param``, or "request body" when the error is about the whole body.
        """
        spec = self.index["errors"][name]
        message = spec["message"].format(field=param or "request body", **values)
        return ApiError(spec["status"], message, param if param is not None else spec.get("param"), extra)

    def resolved(self, ref: str, strict: bool = False) -> dict[str, Any]:
        """The schema at ``ref`` with every ``$ref`` inlined and ``$defs`` dropped: a self-contained
        document (for schema walkers and OpenAPI); with ``strict``, of the strict overlay."""
        skip = ("$defs", "$schema", "$id")

        def walk(node: Any, resolver: Any) -> Any:
            if isinstance(node, list):
                return [walk(item, resolver) for item in node]
            if not isinstance(node, dict):
                return node
            if "$ref" in node:
                found = resolver.lookup(node["$ref"])
                target = walk(found.contents, found.resolver)
                rest = {k: walk(v, resolver) for k, v in node.items() if k != "$ref" and k not in skip}
                if not rest:
                    return target
                # in place, so unevaluatedProperties beside the $ref still sees what the target evaluates
                return {**rest, "allOf": [target, *rest.get("allOf", [])]}
            return {k: walk(v, resolver) for k, v in node.items() if k not in skip}

        registry = self.strict_registry if strict and self.strict_registry is not None else self.registry
        return walk({"$ref": ref}, registry.resolver(base_uri=f"{SCHEMA_BASE_URI}{self.vendor}/"))

    def violation_error(self, violation: Violation) -> ApiError:
        """The vendor's answer to a request body that broke its schema."""
        if violation.wrong_root_type:
            return self.error("not_an_object")
        if violation.missing:
            return self.error("missing_parameter", param=violation.param)
        return self.error("invalid_parameter", param=violation.param, detail=violation.detail)


_TWINS: dict[int, Any] = {}
"""A jsonschema-rs twin of every contract validator, by the validator's id (contract validators live as
long as the process). It answers "valid?" about ten times faster; the Python validator, with its error
paths and messages, only runs when the answer is no. A test checks that the twin accepts nothing the
Python validator rejects."""
_TWIN_SCHEMAS: dict[int, Callable[[], dict[str, Any]]] = {}
"""How to make each twin's schema. Twins are compiled on first use: compiling them all made up most of
the start-up of an app (bench/README.md)."""


def with_twin(validator: Validator, schema: dict[str, Any]) -> Validator:
    """``validator`` (of the self-contained ``schema``), given a jsonschema-rs twin like a contract
    validator's, for a schema read outside a contract (e.g. ``index.schema.json``)."""
    _TWIN_SCHEMAS[id(validator)] = lambda: schema
    return validator


def fast_twin(validator: Validator) -> Any:
    """The jsonschema-rs twin of a contract validator, compiled on first use; None for other validators.
    Two threads may compile one twin at once: both get an equal twin, and one is kept."""
    twin = _TWINS.get(id(validator))
    if twin is None and id(validator) in _TWIN_SCHEMAS:
        twin = _TWINS[id(validator)] = jsonschema_rs.Draft202012Validator(_TWIN_SCHEMAS[id(validator)]())
    return twin


def check(validator: Validator, instance: Any) -> Violation | None:
    """The most relevant way ``instance`` breaks ``validator``'s schema, or None when it is valid."""
    fast = fast_twin(validator)
    if fast is not None and fast.is_valid(instance):
        return None
    error = best_match(validator.iter_errors(instance))
    if error is None:
        return None
    return _violation(error)


def violations(validator: Validator, instance: Any) -> list[Violation]:
    """Every way ``instance`` breaks ``validator``'s schema, the most relevant first; empty when valid."""
    fast = fast_twin(validator)
    if fast is not None and fast.is_valid(instance):
        return []
    errors = list(validator.iter_errors(instance))
    if not errors:
        return []
    best = best_match(errors)
    return [_violation(best)] + [_violation(error) for error in errors if error is not best]


def _violation(error: ValidationError) -> Violation:
    path = list(error.absolute_path)
    if error.validator == "required":
        absent = [name for name in error.validator_value if name not in error.instance]
        missing = next((name for name in absent if error.message.startswith(repr(name))), absent[0])
        return Violation(_param(path + [missing]), error.message, missing=True)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = error.schema.get("properties", {})
        extra = sorted(name for name in error.instance if name not in known)
        return Violation(_param(path + extra[:1]), "this field is not permitted")
    if error.validator == "unevaluatedProperties" and isinstance(error.instance, dict):
        extra = sorted(name for name in error.instance if repr(name) in error.message)
        return Violation(_param(path + extra[:1]), "this field is not permitted")
    if "propertyNames" in error.absolute_schema_path:
        return Violation(_param(path), f"the key {json.dumps(error.instance)} is not allowed: {error.message}")
    if error.validator in ("anyOf", "oneOf") and "description" in error.schema:
        return Violation(_param(path), error.schema["description"])
    if error.validator == "type":
        expected = (
            error.validator_value if isinstance(error.validator_value, str) else " or ".join(error.validator_value)
        )
        if path or error.validator_value != "object":
            return Violation(_param(path), f"must be of type {expected}, not {_json_type(error.instance)}")
    if error.validator == "pattern":
        expected = error.schema.get("description", f"the pattern {error.validator_value}")
        return Violation(_param(path), f"{json.dumps(error.instance)} is not in the expected format: {expected}")
    if not path and error.validator == "type":
        return Violation(None, error.message, wrong_root_type=True)
    return Violation(_param(path), error.message)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), type(value).__name__)


def _param(path: list[str | int]) -> str | None:
    """A field path as clients name it: ``custom[0].type``, ``attributes.custom.CAC``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or None


def strict_overlay(schema: Any) -> Any:
    """``schema`` with every object it describes closed: each node with ``"type": "object"`` and
    ``properties`` that says nothing of other properties gets ``"unevaluatedProperties": false``.

    Response schemas state what the vendor guarantees and let through fields it adds later; this overlay
    is the level the mock itself is held to (schemas/README.md).
    """
    if isinstance(schema, list):
        return [strict_overlay(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    closed = {key: strict_overlay(value) for key, value in schema.items()}
    says_nothing = "additionalProperties" not in schema and "unevaluatedProperties" not in schema
    if schema.get("type") == "object" and isinstance(schema.get("properties"), dict) and says_nothing:
        closed["unevaluatedProperties"] = False
    return closed


def _registry(vendor: str, files: dict[str, Any]) -> Registry:
    registry: Registry = Registry()
    for name, contents in files.items():
        resource = Resource.from_contents(contents, default_specification=DRAFT202012)
        registry = registry.with_resource(SCHEMA_BASE_URI + f"{vendor}/{name}", resource)
    return registry.crawl()


def load_contract(vendor: str, schema_root: Path | None = None, *, strict: bool = False) -> Contract:
    """Load ``schemas/<vendor>/``: register every file, compile every operation's validators.

    Response validators hold answers to what the vendor guarantees (fields it adds later pass); with
    ``strict``, to exactly what the mock sends (``strict_overlay``). Request validators are the same in both.
    """
    folder = schema_root / vendor if schema_root else schema_folder(vendor)
    files: dict[str, Any] = {}
    for file in sorted(folder.glob("*.json")):
        contents = json.loads(file.read_text(encoding="utf-8"))
        # Every file declares 2020-12 (a test checks). Dropping "$schema" here keeps jsonschema from
        # switching to its stock validator class, with Python-regex patterns, when a $ref enters the file.
        contents.pop("$schema", None)
        files[file.name] = contents
    index = files["index.json"]
    contract = Contract(vendor=vendor, index=index, registry=_registry(vendor, files))
    if strict:
        contract.strict_registry = _registry(vendor, {name: strict_overlay(doc) for name, doc in files.items()})
    for name in files.get("common.json", {}).get("$defs", {}):  # handlers pick these by name: compile them now
        contract.validator(f"common.json#/$defs/{name}")
    contract.validator("fixture.json")
    for entry in index["operations"]:
        contract.operations[entry["id"]] = Operation(
            id=entry["id"],
            method=entry["method"],
            path=entry["path"],
            request=contract.validator(entry["request"]) if entry.get("request") else None,
            responses={
                int(status): contract.validator(ref, strict) if ref else None
                for status, ref in entry["responses"].items()
            },
            query=contract.validator(entry["query"]) if entry.get("query") else None,
            empty_body=entry.get("empty_body"),
            description=entry.get("description", ""),
        )
    return contract
