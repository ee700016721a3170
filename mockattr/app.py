"""The Flask app: routes every operation of every vendor's index to its handler.

The request path is the same for all vendors: authenticate, read and validate the body against the
operation's request schema, run the handler under the tenant's lock, answer JSON. Errors of every kind
(bad credential, bad body, unknown route, body too large, a bug) answer with the vendor's error body.
"""

from __future__ import annotations

import importlib
import json
import math
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from mockattr import VENDOR_IDS, __version__
from mockattr.contract import Contract, Operation, check, data_dir, load_contract
from mockattr.errors import ApiError
from mockattr.store import TenantStore, fresh_copy
from mockattr.vendor import Call, Vendor

MAX_BODY_BYTES = 1024 * 1024
"""Request bodies above 1 MiB answer 413 (the mock's choice, the same for every vendor)."""

JSON = "application/json"
VERSION_HEADER = "X-Mockattr-Version"


class FixtureError(ValueError):
    """A fixture file that does not fit its vendor's ``fixture.json`` schema."""


def load_vendor(vendor_id: str) -> Vendor:
    """The ``VENDOR`` of ``mockattr.vendors.<vendor_id>``."""
    if vendor_id not in VENDOR_IDS:
        raise ValueError(f"unknown vendor {vendor_id!r}; known: {', '.join(VENDOR_IDS)}")
    return importlib.import_module(f"mockattr.vendors.{vendor_id}").VENDOR


def load_fixture(vendor_id: str, contract: Contract, fixtures_dir: Path | None = None) -> dict[str, Any]:
    """``<fixtures_dir>/<vendor>.json``, or the embedded one when that folder has none; validated."""
    path = fixtures_dir / f"{vendor_id}.json" if fixtures_dir else None
    if path is None or not path.is_file():
        path = data_dir("fixtures") / f"{vendor_id}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise FixtureError(f"{path}: not valid JSON: {err}") from err
    violation = check(contract.validator("fixture.json"), data)
    if violation:
        raise FixtureError(f"{path}: {violation.param or 'document'}: {violation.detail}")
    return data


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text}")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(raw: bytes) -> Any:
    """Strict JSON: no NaN or Infinity, no number that overflows a float."""
    return json.loads(raw, parse_constant=_reject_constant, parse_float=_finite_float)


def dump_json(body: Any) -> str:
    """Compact JSON, as the vendors send it."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


class Runtime:
    """The served vendors, their contracts, the tenants' state and the API-key allow-list."""

    def __init__(
        self,
        vendor_ids: Iterable[str],
        *,
        root_vendor: str | None = None,
        fixtures_dir: Path | None = None,
        api_keys: Iterable[str] | None = None,
    ) -> None:
        self.vendors: dict[str, Vendor] = {}
        self.contracts: dict[str, Contract] = {}
        self.fixtures: dict[str, dict[str, Any]] = {}
        self.root_vendor = root_vendor
        self.api_keys = frozenset(api_keys) if api_keys else None
        for vendor_id in vendor_ids:
            vendor = self.vendors[vendor_id] = load_vendor(vendor_id)
            contract = self.contracts[vendor_id] = load_contract(vendor_id)
            self.fixtures[vendor_id] = load_fixture(vendor_id, contract, fixtures_dir)
            vendor.new_world(fresh_copy(self.fixtures[vendor_id]), contract)  # fail at start, not later
        self.store = TenantStore({vendor_id: partial(self.new_world, vendor_id) for vendor_id in self.vendors})

    def new_world(self, vendor_id: str) -> Any:
        """A world for one new tenant, from a fresh copy of the vendor's fixtures."""
        return self.vendors[vendor_id].new_world(fresh_copy(self.fixtures[vendor_id]), self.contracts[vendor_id])

    def prefix(self, vendor_id: str) -> str:
        """The URL path under which ``vendor_id`` is served: ``/<vendor id>``, or the root."""
        return "" if vendor_id == self.root_vendor else f"/{vendor_id}"

    def vendor_for_path(self, path: str) -> str | None:
        """Which vendor a request path belongs to, if any (for error bodies of unrouted requests)."""
        if self.root_vendor:
            return None if path.startswith("/__mockattr/") else self.root_vendor
        first = path.lstrip("/").split("/", 1)[0]
        return first if first in self.vendors else None

    def credential(self, vendor_id: str) -> str:
        """The current request's credential for ``vendor_id``, or the vendor's 401."""
        credential = self.vendors[vendor_id].credential(request)
        if not credential or (self.api_keys is not None and credential not in self.api_keys):
            raise self.contracts[vendor_id].error("unauthorized")
        return credential

    def read_body(self, contract: Contract, operation: Operation) -> Any:
        """The request body, parsed and valid against the operation's request schema."""
        raw = request.get_data(cache=False)
        if not raw.strip():
            if operation.empty_body is not None:
                return fresh_copy(operation.empty_body)
            raise contract.error("malformed_json")
        try:
            body = parse_json(raw)
        except (ValueError, RecursionError) as err:
            raise contract.error("malformed_json") from err
        violation = check(operation.request, body)
        if violation:
            raise contract.violation_error(violation)
        return body

    def check_query(self, contract: Contract, operation: Operation) -> None:
        """The query string (first value of each name) must fit the operation's query schema."""
        violation = check(operation.query, request.args.to_dict())
        if violation:
            raise contract.violation_error(violation)

    def dispatch(self, vendor_id: str, operation_id: str, **params: str) -> Response:
        """Serve one vendor operation."""
        contract = self.contracts[vendor_id]
        operation = contract.operations[operation_id]
        try:
            credential = self.credential(vendor_id)
            body = self.read_body(contract, operation) if operation.request else None
            if operation.query:
                self.check_query(contract, operation)
            with self.store.world(vendor_id, credential) as world:
                call = Call(contract=contract, world=world, params=params, body=body, query=request.args)
                reply = self.vendors[vendor_id].handlers[operation_id](call)
                payload = "" if reply.body is None else dump_json(reply.body)
        except RequestEntityTooLarge:
            return self.error_response(vendor_id, contract.error("too_large"))
        except ApiError as err:
            return self.error_response(vendor_id, err)
        return Response(payload, reply.status, mimetype=JSON if payload else None)

    def error_response(self, vendor_id: str | None, err: ApiError) -> Response:
        """``err`` in the vendor's error body (a plain ``{"error": ...}`` outside any vendor)."""
        if vendor_id is None:
            body: dict[str, Any] = {"error": err.message}
        else:
            body = self.vendors[vendor_id].error_body(err)
        return Response(dump_json(body), err.status, mimetype=JSON)


def create_app(
    vendor_ids: Iterable[str] | None = None,
    *,
    root_vendor: str | None = None,
    fixtures_dir: Path | str | None = None,
    api_keys: Iterable[str] | None = None,
) -> Flask:
    """The mock server as a WSGI app.

    Serves every vendor (or those in ``vendor_ids``) under ``/<vendor id>``; with ``root_vendor``, serves
    only that vendor, at the root. ``fixtures_dir`` replaces the embedded fixtures (per vendor file);
    ``api_keys``, when given, is the only credentials accepted.
    """
    from mockattr.admin import admin_blueprint

    ids = [root_vendor] if root_vendor else list(vendor_ids or VENDOR_IDS)
    runtime = Runtime(
        ids,
        root_vendor=root_vendor,
        fixtures_dir=Path(fixtures_dir) if fixtures_dir else None,
        api_keys=api_keys,
    )
    app = Flask("mockattr")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.extensions["mockattr"] = runtime
    for vendor_id, contract in runtime.contracts.items():
        for operation in contract.operations.values():
            app.add_url_rule(
                operation.flask_rule(runtime.prefix(vendor_id)),
                endpoint=f"{vendor_id}.{operation.id}",
                view_func=partial(runtime.dispatch, vendor_id, operation.id),
                methods=[operation.method],
            )
    app.register_blueprint(admin_blueprint)

    @app.after_request
    def add_version_header(response: Response) -> Response:
        response.headers[VERSION_HEADER] = __version__
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        vendor_id = runtime.vendor_for_path(request.path)
        name = {404: "route_not_found", 405: "method_not_allowed", 413: "too_large"}.get(exc.code or 0)
        if vendor_id is None or name is None:
            return runtime.error_response(vendor_id, ApiError(exc.code or 500, exc.name))
        return runtime.error_response(vendor_id, runtime.contracts[vendor_id].error(name))

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception) -> Response:
        app.logger.exception("mockattr: unexpected error on %s %s", request.method, request.path)
        vendor_id = runtime.vendor_for_path(request.path)
        if vendor_id is None:
            return runtime.error_response(None, ApiError(500, "Internal Server Error"))
        return runtime.error_response(vendor_id, runtime.contracts[vendor_id].error("internal"))

    return app


def runtime_of(app: Flask) -> Runtime:
    """The Runtime behind an app made by ``create_app``."""
    return app.extensions["mockattr"]
