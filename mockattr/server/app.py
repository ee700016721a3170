"""The Flask app: the admin API and error handling, behind the router that serves every vendor operation
(``mockattr.server.routing``)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from mockattr import VENDOR_IDS, __version__
from mockattr.contract.errors import ApiError
from mockattr.server.routing import VERSION_HEADER, OperationRouter
from mockattr.server.runtime import Runtime
from mockattr.server.store import DEFAULT_MAX_TENANTS


def create_app(
    vendor_ids: Iterable[str] | None = None,
    *,
    root_vendor: str | None = None,
    fixtures_dir: Path | str | None = None,
    api_keys: Iterable[str] | None = None,
    max_tenants: int = DEFAULT_MAX_TENANTS,
    state_file: Path | str | None = None,
) -> Flask:
    """The mock server as a WSGI app. Vendor operations are served by ``mockattr.server.routing`` ahead of
    Flask's request handling, so Flask hooks and signals see only the admin API and unrouted paths.

    Serves every vendor (or those in ``vendor_ids``) under ``/<vendor id>``; with ``root_vendor``, serves
    only that vendor, at the root. ``fixtures_dir`` replaces the embedded fixtures (per vendor file);
    ``api_keys``, when given, is the only credentials accepted; past ``max_tenants`` the least recently
    used tenant is dropped; with ``state_file``, every tenant's world is kept in that SQLite file and a
    tenant past ``max_tenants`` is refused with the vendor's 429. Raises ``FixtureError`` for bad fixtures
    and ``StateFileError`` for a state file that cannot be used.
    """
    from mockattr.server.admin import admin_blueprint

    ids = [root_vendor] if root_vendor else list(vendor_ids or VENDOR_IDS)
    runtime = Runtime(
        ids,
        root_vendor=root_vendor,
        fixtures_dir=Path(fixtures_dir) if fixtures_dir else None,
        api_keys=api_keys,
        max_tenants=max_tenants,
        state_file=Path(state_file) if state_file else None,
    )
    app = Flask("mockattr")
    app.extensions["mockattr"] = runtime
    app.register_blueprint(admin_blueprint)
    app.wsgi_app = OperationRouter(runtime, app.wsgi_app, app.logger)  # type: ignore[method-assign]

    @app.after_request
    def add_version_header(response: Response) -> Response:
        response.headers[VERSION_HEADER] = __version__
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        return runtime.http_error_response(request, exc)

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
