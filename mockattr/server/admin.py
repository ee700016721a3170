"""The admin API under ``/__mockattr/``: health, reset, state, seed, the journal and faults.

The pytest plugin drives a server through these endpoints only, so ``mockattr serve`` gives SDK tests
in any language the same powers. Under ``/__ns/<name>/__mockattr/`` each acts on that namespace only.
Where an endpoint acts on one tenant, the tenant is the credential
the request carries in the vendor's own auth header, or a ``key`` query parameter.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from mockattr import __version__
from mockattr.contract.errors import ApiError
from mockattr.server.faults import Fault, TooManyFaults
from mockattr.server.jsonio import JSON, json_response, parse_json
from mockattr.server.pipeline import MalformedBody, read_limited_body
from mockattr.server.runtime import ADMIN_PREFIX, RUNTIME_ENVIRON_KEY, Runtime, runtime_of
from mockattr.server.store import TenantLimit
from mockattr.vendors import FixtureError

admin_blueprint = Blueprint("mockattr_admin", __name__, url_prefix=ADMIN_PREFIX)


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
    """``{"status": "ok", "version", "vendors": {id: path prefix}, "tenants", "max_tenants"}`` (and
    ``"namespace"`` in one); a proxy
    says ``"upstreams": {id: url}`` in place of the tenants."""
    runtime = _runtime()
    health = {
        "status": "ok",
        "version": __version__,
        "vendors": {vendor_id: runtime.prefix(vendor_id) for vendor_id in runtime.vendors},
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
    """``{"namespaces": [names]}``: the server's namespaces, least recently used first."""
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
    only that credential's tenants (of every vendor) go back to the fixtures (and seeds). On a proxy this
    empties the journal and drops pending faults: the vendor's own state is not reset."""
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
    """The journal, oldest first: ``?vendor=`` and ``?operation=`` filter it."""
    entries = _runtime().journal.entries(_vendor(required=False), request.args.get("operation"))
    return json_response({"requests": [entry.to_json() for entry in entries]})


@admin_blueprint.delete("/requests")
def requests_clear() -> Response:
    _runtime().journal.clear()
    return json_response({"status": "ok"})


@admin_blueprint.get("/faults")
def faults_list() -> Response:
    return json_response({"faults": [fault.to_json() for fault in _runtime().faults.pending()]})


@admin_blueprint.post("/faults")
def faults_add() -> Response:
    """Plan a fault: ``{vendor, operation?, status?, times?, retry_after?, delay?, key?, match?, network?}``;
    400 when ``MAX_PENDING`` wait already."""
    runtime = _runtime()
    operations = {vendor_id: set(c.operations) for vendor_id, c in runtime.contracts.items()}
    try:
        fault = Fault.from_json(_json_body(), operations)
    except (ValueError, TypeError) as err:
        raise BadAdminRequest(f"bad fault: {err}") from err
    try:
        runtime.faults.add(fault)
    except TooManyFaults as err:
        raise BadAdminRequest(str(err)) from err
    return json_response({"fault": fault.to_json()}, 201)


@admin_blueprint.delete("/faults")
def faults_clear() -> Response:
    _runtime().faults.clear()
    return json_response({"status": "ok"})
