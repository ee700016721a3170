"""The admin API under ``/__mockattr/``: health, reset, state, seed, the journal and faults.

The pytest plugin drives a server through these endpoints only, so ``mockattr serve`` gives SDK tests
in any language the same powers. Under ``/__ns/<name>/__mockattr/`` each acts on that namespace only.
Where an endpoint acts on one tenant, the tenant is the credential
the request carries in the vendor's own auth header, or a ``key`` query parameter.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator
from dataclasses import dataclass

from flask import Blueprint, Response, current_app, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from mockattr import __version__
from mockattr.contract.admin_api import ADMIN_PREFIX, ADMIN_TOKEN_HEADER
from mockattr.contract.errors import ApiError
from mockattr.server.faults import Fault, TooManyFaults
from mockattr.server.journal import JournalEntry
from mockattr.server.jsonio import JSON, dump_json, json_response, parse_json
from mockattr.server.pipeline import MalformedBody, read_limited_body
from mockattr.server.runtime import RUNTIME_ENVIRON_KEY, Runtime, runtime_of
from mockattr.server.store import TenantLimit
from mockattr.vendors import FixtureError

admin_blueprint = Blueprint("mockattr_admin", __name__, url_prefix=ADMIN_PREFIX)

TENANT_ENDPOINTS = frozenset(
    {"state", "reset", "seed", "requests_list", "requests_clear", "faults_list", "faults_add", "faults_clear"}
)
"""What a tenant's own credential may call without the token, each limited to that tenant."""


class BadAdminRequest(Exception):
    """A bad admin request: answered 400 (or ``status``) with ``{"error": message}``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@admin_blueprint.errorhandler(BadAdminRequest)
def admin_error(err: BadAdminRequest) -> Response:
    return json_response({"error": str(err)}, err.status)


@admin_blueprint.errorhandler(TenantLimit)
def tenant_limit(err: TenantLimit) -> Response:
    """A new tenant past --max-tenants with --state-file: refused, as on the vendor endpoints."""
    return json_response({"error": f"no new tenant: {err}"}, 429)


@dataclass(frozen=True)
class OwnTenant:
    """A tenant-scoped admin call: the caller's vendor and the credential it presented."""

    vendor: str
    credential: str


@admin_blueprint.before_request
def authorize() -> None:
    """With ``--admin-token``: the token (compared in constant time) opens everything; a vendor
    credential in that vendor's own auth header opens ``TENANT_ENDPOINTS`` for its own tenant; anything
    else but ``health`` is a 401. Without a token (a loopback server), everything is open."""
    g.own_tenant = None
    runtime = _runtime()
    if runtime.admin_token is None or request.endpoint == "mockattr_admin.health":
        return
    sent = request.headers.get(ADMIN_TOKEN_HEADER)
    if sent is not None and hmac.compare_digest(sent.encode("latin-1"), runtime.admin_token.encode("latin-1")):
        return
    own = _own_tenant(runtime)
    if own is None or (request.endpoint or "").split(".")[-1] not in TENANT_ENDPOINTS:
        raise BadAdminRequest(
            f"this admin call needs the header {ADMIN_TOKEN_HEADER} (the server's --admin-token); "
            "without it, a vendor credential reaches its own tenant only: state, reset, seed, requests and faults "
            "with ?vendor=ID",
            401,
        )
    g.own_tenant = own


def _own_tenant(runtime: Runtime) -> OwnTenant | None:
    """The tenant a token-less admin call may act on: the accepted credential it carries in the vendor's
    own auth header (the vendor from ``?vendor=``, or a fault's body), when it names no other (``?key=``)."""
    vendor_id = request.args.get("vendor")
    if vendor_id is None and request.endpoint == "mockattr_admin.faults_add":
        body = _json_body()
        vendor_id = body.get("vendor") if isinstance(body, dict) else None
    if vendor_id not in runtime.vendors or "key" in request.args:
        return None
    presented = runtime.pipeline.presented_credential(request, vendor_id)
    if presented is None or (runtime.api_keys is not None and presented not in runtime.api_keys):
        return None
    return OwnTenant(vendor_id, presented)


def _runtime() -> Runtime:
    """The runtime of the request's namespace (``/__ns/<name>``), else the server's own."""
    return request.environ.get(RUNTIME_ENVIRON_KEY) or runtime_of(current_app)


def _stateful() -> Runtime:
    """The runtime, when it keeps tenants' state: a proxy keeps none (409)."""
    runtime = _runtime()
    if runtime.upstreams:
        raise BadAdminRequest(
            "this is a proxy (mockattr proxy): it keeps no state to seed or show; the state is the vendor's", 409
        )
    return runtime


def _vendor(required: bool = True) -> str | None:
    runtime = _runtime()
    vendor_id = request.args.get("vendor")
    if vendor_id is None and not required:
        return None
    if vendor_id not in runtime.vendors:
        raise BadAdminRequest(f"query parameter vendor must be one of: {', '.join(runtime.vendors)}")
    return vendor_id


def _tenant(vendor_id: str) -> str | None:
    """The credential the admin request names (vendor auth header, else ``?key=``), or None."""
    runtime = _runtime()
    if runtime.pipeline.presented_credential(request, vendor_id) is not None:
        try:
            return runtime.pipeline.credential(request, vendor_id)
        except ApiError as err:
            raise BadAdminRequest(err.message, err.status) from err
    key = request.args.get("key")
    if key is not None and (not key or (runtime.api_keys is not None and key not in runtime.api_keys)):
        raise BadAdminRequest("key is not an accepted credential", 401)
    return key


def _json_body() -> object:
    """The request's JSON body, read once (``authorize`` may have read it already)."""
    if "json_body" not in g:
        g.json_body = _read_json_body()
    return g.json_body


def _read_json_body() -> object:
    try:
        return parse_json(read_limited_body(request) or b"null")
    except RequestEntityTooLarge as err:
        raise BadAdminRequest("the body is larger than 1 MiB", 413) from err
    except MalformedBody as err:
        raise BadAdminRequest(f"the body is {err}") from err
    except (ValueError, RecursionError) as err:
        raise BadAdminRequest("the body is not valid JSON") from err


@admin_blueprint.get("/health")
def health() -> Response:
    """``{"status": "ok", "version", "vendors": {id: path prefix}, "tenants", "max_tenants", "pid"}`` (and
    ``"namespace"`` in one; ``pid``: the process that answered, one of ``serve --workers``); a proxy
    says ``"upstreams": {id: url}`` in place of the tenants."""
    runtime = _runtime()
    health = {
        "status": "ok",
        "version": __version__,
        "vendors": {vendor_id: runtime.prefix(vendor_id) for vendor_id in runtime.vendors},
        "pid": os.getpid(),
    }
    if runtime.namespace_name is not None:
        health["namespace"] = runtime.namespace_name
    if runtime.upstreams:
        health["upstreams"] = runtime.upstreams
    else:
        health["tenants"] = runtime.tenants.store.tenant_count()
        health["max_tenants"] = runtime.tenants.store.max_tenants
    return json_response(health)


@admin_blueprint.get("/namespaces")
def namespaces() -> Response:
    """``{"namespaces": [names]}``: the server's namespaces, least recently used first (on the server's
    own admin API only: a namespace does not see the others)."""
    if _runtime().namespace_name is not None:
        raise BadAdminRequest("Not Found", 404)
    return json_response({"namespaces": runtime_of(current_app).namespaces.names()})


@admin_blueprint.delete("/namespace")
def namespace_delete() -> Response:
    """Forget this namespace (``/__ns/<name>/__mockattr/namespace``): its tenants, seeds, journal and faults."""
    runtime = _runtime()
    if runtime.namespace_name is None:
        raise BadAdminRequest("this is the server's own namespace: POST reset instead (/__ns/<name>/... names one)")
    runtime.namespaces.drop(runtime.namespace_name)
    return json_response({"status": "ok"})


@admin_blueprint.get("/openapi.json")
def openapi() -> Response:
    """The served vendors as one OpenAPI 3.1 document, at the paths this server serves them."""
    from mockattr.contract.openapi import openapi_document

    runtime = _runtime()
    prefixes = {vendor_id: runtime.prefix(vendor_id) for vendor_id in runtime.vendors}
    return json_response(openapi_document(list(runtime.vendors), prefixes))


@admin_blueprint.post("/reset")
def reset() -> Response:
    """Every tenant back to the fixtures; seeds, the journal and pending faults dropped. With ``?key=``,
    only that credential's tenants (of every vendor) go back to the fixtures (and seeds); called with a
    tenant's own credential and no token, only that tenant (``?vendor=``). On a proxy this
    empties the journal and drops pending faults: the vendor's own state is not reset."""
    own: OwnTenant | None = g.own_tenant
    if own is not None:
        _runtime().tenants.store.drop(own.credential, own.vendor)
        return json_response({"status": "ok"})
    key = request.args.get("key")
    if key is not None:
        _runtime().tenants.store.drop(key)
    else:
        _runtime().reset()
    return json_response({"status": "ok"})


@admin_blueprint.get("/state")
def state() -> Response:
    """A tenant's world in the fixture format: the named one, else the last one a request used."""
    runtime, vendor_id = _stateful(), _vendor()
    assert vendor_id is not None
    return Response(runtime.tenants.state_json(vendor_id, _tenant(vendor_id)), mimetype=JSON)


@admin_blueprint.post("/seed")
def seed() -> Response:
    """Add fixture-format data to the named tenant, or to every tenant until the next reset."""
    runtime, vendor_id = _stateful(), _vendor()
    assert vendor_id is not None
    try:
        runtime.tenants.seed(vendor_id, _json_body(), _tenant(vendor_id))
    except FixtureError as err:
        raise BadAdminRequest(str(err)) from err
    return json_response({"status": "ok"})


@admin_blueprint.get("/requests")
def requests_list() -> Response:
    """The journal, oldest first, a page at a time: ``{"requests": [...], "next": id or null}``;
    ``?limit=`` (1 to 1000, default 100) and ``?after=ID`` page through it, ``?vendor=`` and
    ``?operation=`` filter it."""
    own: OwnTenant | None = g.own_tenant
    if not _runtime().journal.enabled:
        raise BadAdminRequest("the journal is off (mockattr serve --no-journal): nothing is recorded", 409)
    limit, after = _whole("limit", PAGE_SIZE, 1, MAX_PAGE), _whole("after", 0, 0, None)
    keep = None if own is None else (lambda e: _owned(e, own))
    entries = _runtime().journal.entries(_vendor(required=False), request.args.get("operation"), after, keep, limit + 1)
    page = entries[:limit]
    more = len(entries) > limit

    def stream() -> Iterator[str]:  # one entry at a time: a full journal is never one document in memory
        yield '{"requests": ['
        for n, entry in enumerate(page):
            yield ("," if n else "") + dump_json(entry.to_json())
        yield '], "next": ' + (str(page[-1].id) if more else "null") + "}"

    return Response(stream(), mimetype=JSON)


PAGE_SIZE, MAX_PAGE = 100, 1000
"""Journal entries per read: by default, and at most (``?limit=``)."""


def _whole(name: str, default: int, low: int, high: int | None) -> int:
    """Query parameter ``name`` as a whole number from ``low`` to ``high``; 400 otherwise."""
    text = request.args.get(name)
    if text is None:
        return default
    if not text.isdigit() or int(text) < low or (high is not None and int(text) > high):
        upper = f" to {high}" if high is not None else " or more"
        raise BadAdminRequest(f"{name} must be a whole number from {low}{upper}")
    return int(text)


def _owned(entry: JournalEntry, own: OwnTenant) -> bool:
    return entry.vendor == own.vendor and entry.tenant == own.credential


@admin_blueprint.delete("/requests")
def requests_clear() -> Response:
    """Empty the journal (called with a tenant's own credential: that tenant's entries)."""
    own: OwnTenant | None = g.own_tenant
    _runtime().journal.clear(keep=None if own is None else lambda e: not _owned(e, own))
    return json_response({"status": "ok"})


@admin_blueprint.get("/faults")
def faults_list() -> Response:
    own: OwnTenant | None = g.own_tenant
    faults = _runtime().faults.pending()
    if own is not None:
        faults = [f for f in faults if f.vendor == own.vendor and f.key == own.credential]
    return json_response({"faults": [fault.to_json() for fault in faults]})


@admin_blueprint.post("/faults")
def faults_add() -> Response:
    """Plan a fault: ``{vendor, operation?, status?, times?, retry_after?, delay?, key?, match?, network?}``;
    400 when ``MAX_PENDING`` wait already."""
    runtime = _runtime()
    operations = {vendor_id: set(c.operations) for vendor_id, c in runtime.contracts.items()}
    own: OwnTenant | None = g.own_tenant
    body = _json_body()
    if own is not None and isinstance(body, dict):  # a tenant plans faults for its own calls only
        if body.setdefault("key", own.credential) != own.credential:
            raise BadAdminRequest("a fault for another credential needs the admin token", 401)
    try:
        fault = Fault.from_json(body, operations)
    except (ValueError, TypeError) as err:
        raise BadAdminRequest(f"bad fault: {err}") from err
    try:
        runtime.faults.add(fault)
    except TooManyFaults as err:
        raise BadAdminRequest(str(err)) from err
    return json_response({"fault": fault.to_json()}, 201)


@admin_blueprint.delete("/faults")
def faults_clear() -> Response:
    """Drop the pending faults (called with a tenant's own credential: those limited to it)."""
    own: OwnTenant | None = g.own_tenant
    _runtime().faults.clear(
        keep=None if own is None else lambda f: not (f.vendor == own.vendor and f.key == own.credential)
    )
    return json_response({"status": "ok"})
