"""The vendors layer: what every vendor provides, what its handlers receive, and loading it.

Each vendor is a module or package below this one, ``mockattr.vendors.<id>`` (moto's shape): its state
model (a ``World``) and one handler per operation id of its ``index.json``, exposed as a module-level
``VENDOR = Vendor(...)``; a package may add a ``testing`` module (CONTRIBUTING.md). Vendors of the folders
in ``MOCKATTR_VENDOR_PATH`` are found here too (``mockattr.contract.discovery``). Nothing here or below
names a vendor.
"""

from __future__ import annotations

import copy
import importlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from jsonschema import Draft202012Validator

from mockattr import VENDOR_IDS
from mockattr.contract import Contract, check, fast_twin, load_contract, with_twin
from mockattr.contract.discovery import data_dir, fixture_file, schema_folder, vendor_module_dirs
from mockattr.contract.errors import ApiError

__path__ += vendor_module_dirs()

if TYPE_CHECKING:
    from types import ModuleType

    from werkzeug.wrappers import Request


class Touched:
    """The customers a world's handlers looked up or added since the store last asked: with
    ``--state-file`` only those are written back, so a write costs the same with 10 or 10,000 customers.
    A world notes each customer its lookups hand out (``note``) and, when it changes wholesale (a
    merge), ``note_all``. Notes are kept only while ``tracking`` (a durable store sets it); in memory
    nothing is kept."""

    def __init__(self) -> None:
        self.tracking = False
        self._all = False
        self._records: list[Any] = []

    def note(self, record: Any) -> Any:
        """Note ``record`` (a customer dict a handler may change; None is ignored); returns it."""
        if self.tracking and record is not None:
            self._records.append(record)
        return record

    def note_all(self) -> None:
        """Any customer may have changed."""
        self._all = self.tracking

    def take(self) -> list[Any] | None:
        """The customers noted since the last call (None: any may have changed), and start afresh."""
        records, self._records = (None if self._all else self._records), []
        self._all = False
        return records


class World(Protocol):
    """One tenant's state for one vendor. Its data has a ``customers`` list (a row each with
    ``--state-file``) beside the rest."""

    touched: Touched

    def to_data(self) -> dict[str, Any]:
        """The world as plain data, in the shape of the vendor's fixture file."""
        ...

    def merge(self, data: dict[str, Any]) -> None:
        """Add fixture-shaped data: new records are added, records with the same id replaced.
        Raises ValueError (changing nothing) when the data contradicts the world. A world that replaces
        a customer where it is in ``to_data``'s list, and adds new ones at its end, is brought up to date
        from the rows another server changed; one that moves them is rebuilt (``DurableStore._catch_up``)."""
        ...


@dataclass
class Call:
    """One validated request as a handler sees it."""

    contract: Contract
    world: Any
    params: dict[str, str]
    body: Any
    query: Mapping[str, str] = field(default_factory=dict)

    def fail(self, name: str, /, param: str | None = None, **values: Any) -> ApiError:
        """The vendor's error ``name`` (from index.json), ready to raise."""
        return self.contract.error(name, param=param, **values)

    def within_limit(self, name: str, count: int) -> None:
        """Raise the vendor's ``limit_reached`` error when a tenant would hold ``count`` of ``name``,
        more than index.json's ``limits`` allow (the mock's caps, so a tenant's memory stays bounded)."""
        limit = self.contract.index["limits"][name]
        if count > limit:
            raise self.fail("limit_reached", limit=limit, what=name.replace("_", " "))


@dataclass(frozen=True)
class Reply:
    """A handler's answer: status and JSON body (None for no body)."""

    status: int
    body: Any = None


Handler = Callable[[Call], Reply]


def flat_error_body(err: ApiError) -> dict[str, Any]:
    """``{"code", "message"}``: the error body of a vendor that says no more."""
    return {"code": err.status, "message": err.message}


@dataclass(frozen=True)
class Vendor:
    """Everything the shared machinery needs to serve one vendor. Only the state model and the handlers
    are required; the rest has defaults that fit a plain JSON API."""

    id: str
    new_world: Callable[[dict[str, Any], Contract], Any]
    """Build a World from fixture-shaped data (already valid against ``fixture.json``)."""
    handlers: Mapping[str, Handler]
    """One handler per operation id of index.json."""
    error_body: Callable[[ApiError], dict[str, Any]] = flat_error_body
    complete_seed: Callable[[dict[str, Any]], dict[str, Any]] = lambda data: data
    """Fill the fields a seed left out with defaults, so it fits ``fixture.json`` (default: none)."""
    usage: Callable[[Any], dict[str, int]] = lambda world: {}
    """How much of each of index.json's ``limits`` a world holds (a per-customer limit: the most any
    one customer holds); a vendor with limits must say."""
    credential: Callable[[Request], str | None] | None = None
    """The request's credential (its tenant), or None when missing or malformed; default: as index.json's
    ``auth`` block says (``mockattr.contract.auth``)."""


def fresh_copy(data: Any) -> Any:
    """A deep copy of fixture data, so no world shares a mutable object with another."""
    return copy.deepcopy(data)


class FixtureError(ValueError):
    """Fixture or seed data that does not fit its vendor's ``fixture.json`` schema."""


class VendorError(ValueError):
    """A vendor missing one of its pieces; the message names the vendor and each piece."""


@cache
def _index_validator() -> Draft202012Validator:
    """index.schema.json's validator, with its compiled twin (``fast_twin``) to answer "valid?" at start-up."""
    schema = json.loads((data_dir("schemas") / "index.schema.json").read_text(encoding="utf-8"))
    return with_twin(Draft202012Validator(schema), schema)


def _schema_files(index: dict[str, Any]) -> set[str]:
    """Every schema file the index names, and fixture.json."""
    named = {"fixture.json"}
    for entry in index.get("operations", []):
        named |= {
            ref for ref in (entry.get("request"), entry.get("query"), *entry.get("responses", {}).values()) if ref
        }
    return {ref.split("#")[0] for ref in named}


def _module_problems(vendor_id: str, operation_ids: set[str]) -> list[str]:
    try:
        vendor = load_vendor(vendor_id)
    except ValueError as err:
        return [str(err).removeprefix(f"vendor {vendor_id!r}: ")]
    problems = [f"VENDOR.id is {vendor.id!r}"] if vendor.id != vendor_id else []
    if missing := sorted(operation_ids - set(vendor.handlers)):
        problems.append(f"no handler for operation {', '.join(missing)} (VENDOR.handlers)")
    if extra := sorted(set(vendor.handlers) - operation_ids):
        problems.append(f"a handler for {', '.join(extra)}, which index.json does not list")
    return problems


def vendor_problems(vendor_id: str, *, fixture: bool = True) -> list[str]:
    """What is missing or wrong in the vendor's three pieces (``schemas/<id>/``, ``fixtures/<id>.json``,
    ``mockattr.vendors.<id>``), each naming its piece; empty when the vendor is whole. Without
    ``fixture``, the fixture is only looked for, not checked (a caller that loads it next checks it)."""
    folder = schema_folder(vendor_id)
    try:
        index = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    except ValueError as err:
        return [f"schemas/{vendor_id}/index.json: not JSON: {err}"]
    validator = _index_validator()
    problems = [
        f"schemas/{vendor_id}/index.json: {'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
        for e in (() if fast_twin(validator).is_valid(index) else validator.iter_errors(index))
    ]
    if problems:
        return problems
    if index["vendor"] != vendor_id:
        problems.append(f"schemas/{vendor_id}/index.json: vendor is {index['vendor']!r}, not its folder's name")
    problems += [
        f"schemas/{vendor_id}/{name}: missing" for name in sorted(_schema_files(index)) if not (folder / name).is_file()
    ]
    if problems:
        return problems
    if not fixture_file(vendor_id).is_file():
        problems.append(f"fixtures/{vendor_id}.json: missing")
    elif fixture:
        try:
            load_fixture(vendor_id, load_contract(vendor_id))
        except FixtureError as err:
            problems.append(f"fixtures/{vendor_id}.json: {err}")
    return problems + _module_problems(vendor_id, {entry["id"] for entry in index["operations"]})


def check_vendor(vendor_id: str, *, fixture: bool = True) -> None:
    """Raise ``VendorError`` naming the vendor and every missing piece, if any (``vendor_problems``)."""
    if problems := vendor_problems(vendor_id, fixture=fixture):
        raise VendorError(f"vendor {vendor_id!r} is incomplete:\n  " + "\n  ".join(problems))


def load_vendor(vendor_id: str) -> Vendor:
    """The ``VENDOR`` of ``mockattr.vendors.<vendor_id>``."""
    if vendor_id not in VENDOR_IDS:
        raise ValueError(f"unknown vendor {vendor_id!r}; known: {', '.join(VENDOR_IDS)}")
    try:
        module = importlib.import_module(f"mockattr.vendors.{vendor_id}")
    except ModuleNotFoundError as err:
        if err.name != f"mockattr.vendors.{vendor_id}":
            raise
        missing = f"no module mockattr.vendors.{vendor_id} (vendors/{vendor_id}.py)"
        raise ValueError(f"vendor {vendor_id!r}: {missing}") from err
    if not isinstance(getattr(module, "VENDOR", None), Vendor):
        raise ValueError(f"vendor {vendor_id!r}: mockattr.vendors.{vendor_id} has no VENDOR = Vendor(...)")
    return module.VENDOR


def load_fixture(
    vendor_id: str, contract: Contract, fixtures_dir: Path | None = None, vendor: Vendor | None = None
) -> dict[str, Any]:
    """``<fixtures_dir>/<vendor>.json``, or the embedded one when that folder has none; validated against
    ``fixture.json`` and, given the ``vendor``, by building a world from it."""
    path = fixtures_dir / f"{vendor_id}.json" if fixtures_dir else None
    if path is None or not path.is_file():
        path = fixture_file(vendor_id)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise FixtureError(f"{path}: not valid JSON: {err}") from err
    violation = check(contract.validator("fixture.json"), data)
    if violation:
        raise FixtureError(f"{path}: {violation}")
    if vendor is not None:
        try:
            vendor.new_world(fresh_copy(data), contract)
        except ValueError as err:
            raise FixtureError(f"{path}: {err}") from err
    return data


def vendor_part(vendor_id: str, part: str) -> ModuleType | None:
    """The optional module ``mockattr.vendors.<vendor_id>.<part>`` (e.g. ``testing``), or None when the
    vendor has none (a vendor that is a single module has none)."""
    name = f"mockattr.vendors.{vendor_id}.{part}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name in (name, f"mockattr.vendors.{vendor_id}"):
            return None
        raise
