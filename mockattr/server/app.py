"""``create_app``: the mock server as a WSGI app, the router (``mockattr.server.routing``) in front of the
Flask app that serves the admin API."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from flask import Flask, Response
from werkzeug.exceptions import HTTPException

from mockattr import VENDOR_IDS
from mockattr.contract.errors import ApiError
from mockattr.server.admin import admin_blueprint
from mockattr.server.proxy import ProxySettings
from mockattr.server.routing import OperationRouter
from mockattr.server.runtime import Runtime
from mockattr.server.shared import SharedState
from mockattr.server.store import DEFAULT_MAX_TENANTS


def create_app(
    vendor_ids: Iterable[str] | None = None,
    *,
    root_vendor: str | None = None,
    fixtures_dir: Path | str | None = None,
    api_keys: Iterable[str] | None = None,
    max_tenants: int = DEFAULT_MAX_TENANTS,
    state_file: Path | str | None = None,
    proxy: ProxySettings | None = None,
    admin_token: str | None = None,
    journal: bool = True,
    shared_folder: Path | None = None,
) -> Flask:
    """The mock server as a WSGI app. Every vendor path is answered by ``mockattr.server.routing`` ahead of
    Flask, so Flask (its hooks and signals) sees only the admin API.

    Serves every vendor (or those in ``vendor_ids``) under ``/<vendor id>``; with ``root_vendor``, serves
    only that vendor, at the root. ``fixtures_dir`` replaces the embedded fixtures (per vendor file);
    ``api_keys``, when given, is the only credentials accepted; past ``max_tenants`` the least recently
    used tenant is dropped; with ``state_file``, every tenant's world is kept in that SQLite file and a
    tenant past ``max_tenants`` is refused with the vendor's 429. Raises ``FixtureError`` for bad fixtures,
    ``VendorError`` for a vendor missing a piece and ``StateFileError`` for a state file that cannot be used.

    With ``journal=False`` (``serve --no-journal``, for load tests) nothing is journaled, and the admin
    API's ``requests`` answers 409 saying so.

    With ``admin_token``, every admin call but ``health`` needs the header ``X-Mockattr-Admin-Token``,
    or is limited to the caller's own tenant (``mockattr.server.admin``).

    With ``proxy``, the app is ``mockattr proxy``: it serves the vendors of ``proxy.upstreams`` (or
    ``root_vendor``) and forwards every request to them (``mockattr.server.proxy``).

    With ``shared_folder`` (``serve --workers``: an empty private folder), the state lives in files there
    (``mockattr.server.shared``), so processes forked from this app share tenants, seeds, namespaces,
    journal and faults.
    """
    app = Flask("mockattr")
    app.config["PROPAGATE_EXCEPTIONS"] = True  # to the router, whose one handler answers them
    runtime = Runtime(
        [root_vendor] if root_vendor else list(vendor_ids or (proxy.upstreams if proxy else VENDOR_IDS)),
        root_vendor=root_vendor,
        fixtures_dir=Path(fixtures_dir) if fixtures_dir else None,
        api_keys=api_keys,
        max_tenants=max_tenants,
        state_file=Path(state_file) if state_file else None,
        logger=app.logger,
        proxy=proxy,
        admin_token=admin_token,
        journal=journal,
        shared=SharedState(shared_folder) if shared_folder else None,
    )
    app.extensions["mockattr"] = runtime
    app.register_blueprint(admin_blueprint)
    app.wsgi_app = OperationRouter(runtime, app.wsgi_app)  # type: ignore[method-assign]

    @app.errorhandler(HTTPException)
    def admin_http_error(exc: HTTPException) -> Response:
        """An admin path or method that does not exist: ``{"error": reason}``."""
        return runtime.renderer.error(None, ApiError(exc.code or 500, exc.name))  # type: ignore[return-value]

    return app
