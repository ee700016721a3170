"""The router: the server's outermost WSGI app. It answers every vendor path itself and hands the admin
API to Flask.

Vendor operations are the mock's hot path (every call an SDK makes). werkzeug's router matches them to
operations and the request pipeline (``mockattr.server.pipeline``) serves them with a plain werkzeug
``Request``; Flask's per-request machinery (contexts, URL adapter, hooks) was a quarter of the server's
time for each of them (bench/README.md → "Before and after"). A vendor path no operation serves is the
vendor's 404 or 405, answered here too. Only ``/__mockattr/`` goes to the Flask app. Every answer gets the
version header here. An unexpected exception outside a vendor operation is answered here, by the one
renderer of such answers (``ErrorRenderer.unexpected``; the pipeline calls it for its own, to journal them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.wrappers import Request, Response

from mockattr import __version__
from mockattr.contract.admin_api import NAMESPACE_PREFIX, is_admin_path
from mockattr.contract.errors import ApiError
from mockattr.contract.routes import operation_routes
from mockattr.server.faults import ON_LOOP_ENVIRON_KEY, WouldWait
from mockattr.server.rendering import VERSION_HEADER
from mockattr.server.runtime import (
    NAMESPACE_NAME,
    RUNTIME_ENVIRON_KEY,
    Runtime,
)

REPEATED_SLASHES = re.compile("//+")
BAD_NAMESPACE = (
    "a namespace (/__ns/<name>) is 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit"
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


ROUTES_KEPT = 4096
"""Matched paths the router remembers (past it, it starts again: memory stays bounded)."""


class OperationRouter:
    """A WSGI app serving every vendor path of ``runtime``, and the admin API through ``admin_app``."""

    def __init__(self, runtime: Runtime, admin_app: WSGIApplication) -> None:
        self.runtime = runtime
        self.admin_app = admin_app
        self.routes = operation_routes(runtime.contracts, runtime.prefix)
        """Bound once: matching reads only the path and method, so every thread can share it."""
        self._matched: dict[tuple[str, str], tuple[tuple[str, str | None], dict[str, str]]] = {}
        """Paths matched to an operation, by method and path: a client calls the same few again and again."""

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        try:
            runtime = self._namespace(environ)
        except Exception:  # the shared namespaces' file (serve --workers) could not be read
            response = self.runtime.renderer.unexpected(Request(environ), None)
            response.headers[VERSION_HEADER] = __version__
            return response(environ, start_response)
        request = Request(environ)
        try:
            if runtime is None:
                response = self.runtime.renderer.error(None, ApiError(404, BAD_NAMESPACE))
            elif is_admin_path(request.path):
                if ON_LOOP_ENVIRON_KEY in environ:
                    raise WouldWait("admin API")  # a journal read may be long: a thread serves it
                return self.admin_app(environ, _with_version(start_response))
            else:
                response = self._serve(request, runtime)
        except WouldWait:
            raise
        except HTTPException as exc:  # raised while serving (e.g. a body cut short)
            runtime = runtime or self.runtime
            response = runtime.pipeline.http_error(request, runtime.vendor_for_path(request.path), exc)
        except Exception:
            response = self.runtime.renderer.unexpected(request, self.runtime.vendor_for_path(request.path))
        response.headers[VERSION_HEADER] = __version__
        return response(environ, start_response)

    def _namespace(self, environ: WSGIEnvironment) -> Runtime | None:
        """The runtime of the request's namespace (``/__ns/<name>``, taken off the path, which then
        reads as on the server's own), the server's own without one; None for a bad name."""
        path = environ.get("PATH_INFO", "")
        if not path.startswith(NAMESPACE_PREFIX):
            return self.runtime
        name, slash, rest = path[len(NAMESPACE_PREFIX) :].partition("/")
        raw = environ.get("REQUEST_URI") or environ.get("RAW_URI")  # as sent: `a%2Fb` is no name `a`
        if (
            not NAMESPACE_NAME.fullmatch(name)
            or not slash
            or (raw and not raw.startswith(f"{path[: len(NAMESPACE_PREFIX)]}{name}/"))
        ):
            return None
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + NAMESPACE_PREFIX + name
        environ["PATH_INFO"] = "/" + rest
        runtime = environ[RUNTIME_ENVIRON_KEY] = self.runtime.namespaces.get(name)
        return runtime

    def _serve(self, request: Request, runtime: Runtime) -> Response:
        """The operation the path and method name, or the vendor's 404 or 405; a 404 outside any vendor."""
        pipeline = runtime.pipeline
        path = REPEATED_SLASHES.sub("/", request.path)  # as nginx's merge_slashes: `base/` + `/customers`
        try:
            (vendor_id, operation_id), params = self._match(path, request.method)
        except MethodNotAllowed as exc:
            vendor_id = runtime.vendor_for_path(path)
            assert vendor_id is not None  # the path is one of its operations'
            response = pipeline.unrouted(request, vendor_id, "method_not_allowed")
            if response.status_code == 405 and exc.valid_methods:  # RFC 9110: a 405 says what is allowed
                response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
            return response
        except HTTPException:  # no operation's path
            vendor_id = runtime.vendor_for_path(path)
            if vendor_id is None:
                return runtime.renderer.error(None, ApiError(404, "Not Found"))
            return pipeline.unrouted(request, vendor_id, "route_not_found")
        if operation_id is None:  # an endpoint of the vendor's that the mock does not serve (index.json unserved)
            return pipeline.unrouted(request, vendor_id, "route_not_found")
        return pipeline.serve(request, vendor_id, operation_id, params)

    def _match(self, path: str, method: str) -> tuple[tuple[str, str | None], dict[str, str]]:
        """``routes.match``, remembered for paths it matched (up to ``ROUTES_KEPT``; misses raise as ever)."""
        key = (method, path)
        found = self._matched.get(key)
        if found is None:
            found = self.routes.match(path, method)
            if len(self._matched) >= ROUTES_KEPT:
                self._matched.clear()
            self._matched[key] = found
        endpoint, params = found
        return endpoint, dict(params)


def _with_version(start_response: StartResponse) -> StartResponse:
    """``start_response`` adding the version header (for the admin app's answers)."""

    def start(status: str, headers: list[tuple[str, str]], exc_info=None):  # type: ignore[no-untyped-def]
        return start_response(status, [*headers, (VERSION_HEADER, __version__)], exc_info)

    return start  # type: ignore[return-value]
