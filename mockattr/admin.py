"""The admin API under ``/__mockattr/``: health, reset and the caller's state."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from mockattr import __version__
from mockattr.app import JSON, dump_json, runtime_of
from mockattr.errors import ApiError

ADMIN_PREFIX = "/__mockattr"

admin_blueprint = Blueprint("mockattr_admin", __name__, url_prefix=ADMIN_PREFIX)


def _json(body: object, status: int = 200) -> Response:
    return Response(dump_json(body), status, mimetype=JSON)


@admin_blueprint.get("/health")
def health() -> Response:
    """``{"status": "ok", "version": ...}``."""
    return _json({"status": "ok", "version": __version__})


@admin_blueprint.post("/reset")
def reset() -> Response:
    """Every tenant of every vendor back to the fixtures."""
    runtime_of(current_app).store.reset()
    return _json({"status": "ok"})


@admin_blueprint.get("/state")
def state() -> Response:
    """The world of the tenant whose credential (in the vendor's own auth header) the request carries."""
    runtime = runtime_of(current_app)
    vendor_id = request.args.get("vendor", "")
    if vendor_id not in runtime.vendors:
        known = ", ".join(runtime.vendors)
        return runtime.error_response(None, ApiError(400, f"query parameter vendor must be one of: {known}"))
    try:
        credential = runtime.credential(vendor_id)
    except ApiError as err:
        return runtime.error_response(vendor_id, err)
    with runtime.store.world(vendor_id, credential) as world:
        return _json(world.to_data())
