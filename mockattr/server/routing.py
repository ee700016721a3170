"""The router: which vendor operation a request is for, served without Flask's request context.

Vendor operations are the mock's hot path (every call an SDK makes). werkzeug's router matches them to
operations and the ``Runtime`` serves them with a plain werkzeug ``Request``; Flask's per-request
machinery (contexts, URL adapter, hooks) was a quarter of the server's time for each of them
(bench/README.md → "Before and after"). Everything else, the admin API and paths no vendor operation
serves, goes on to the Flask app.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from mockattr import __version__

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from mockattr.server.runtime import Runtime

VERSION_HEADER = "X-Mockattr-Version"
ADMIN_PREFIX = "/__mockattr/"


class OperationRouter:
    """A WSGI app serving every vendor operation of ``runtime``, and a 405 in the vendor's body for a
    method no operation of a path serves; any other request goes to ``fallback``."""

    def __init__(self, runtime: Runtime, fallback: WSGIApplication, logger: logging.Logger) -> None:
        self.runtime = runtime
        self.fallback = fallback
        self.logger = logger
        rules = [
            Rule(
                operation.url_rule(runtime.prefix(vendor_id)),
                endpoint=(vendor_id, operation.id),
                methods=[operation.method],
            )
            for vendor_id, contract in runtime.contracts.items()
            for operation in contract.operations.values()
        ]
        self.routes = Map(rules).bind("mockattr")
        """Bound once: matching reads only the path and method, so every thread can share it."""

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        if request.path.startswith(ADMIN_PREFIX):
            return self.fallback(environ, start_response)
        try:
            (vendor_id, operation_id), params = self.routes.match(request.path, request.method)
        except MethodNotAllowed:
            vendor_id = self.runtime.vendor_for_path(request.path)
            assert vendor_id is not None  # the path is one of its operations'
            response = self._serve(
                request, vendor_id, lambda: self.runtime.unrouted(request, vendor_id, "method_not_allowed")
            )
        except HTTPException:  # no operation's path: Flask answers (404 in the vendor's body)
            return self.fallback(environ, start_response)
        else:
            response = self._serve(
                request, vendor_id, lambda: self.runtime.dispatch(request, vendor_id, operation_id, params)
            )
        response.headers[VERSION_HEADER] = __version__
        return response(environ, start_response)

    def _serve(self, request: Request, vendor_id: str, answer: Callable[[], Response]) -> Response:
        """``answer()``; werkzeug's HTTP error in the vendor's body when it raises one (a body cut short);
        the vendor's 500 (logged) when it raises something unexpected."""
        try:
            return answer()
        except HTTPException as exc:
            return self.runtime.http_error_response(request, exc)
        except Exception:
            self.logger.exception("mockattr: unexpected error on %s %s", request.method, request.path)
            return self.runtime.error_response(vendor_id, self.runtime.contracts[vendor_id].error("internal"))
