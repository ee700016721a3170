"""Error rendering: every error answer, in the body of the vendor it belongs to."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus

from werkzeug.wrappers import Request, Response

from mockattr.contract import Contract
from mockattr.contract.errors import ApiError
from mockattr.server.faults import Fault
from mockattr.server.jsonio import json_response
from mockattr.vendors import Vendor

VERSION_HEADER = "X-Mockattr-Version"
"""Set on every answer (``mockattr.server.routing``), so a client can tell the mock from the vendor."""


class ErrorRenderer:
    """Errors as the vendor writes them; ``{"error": message}`` outside any vendor (the admin API)."""

    def __init__(self, vendors: Mapping[str, Vendor], contracts: Mapping[str, Contract], logger: logging.Logger):
        self.vendors, self.contracts, self.logger = vendors, contracts, logger

    def error(self, vendor_id: str | None, err: ApiError) -> Response:
        """``err`` in the vendor's error body."""
        if vendor_id is None:
            return json_response({"error": err.message}, err.status)
        return json_response(self.vendors[vendor_id].error_body(err), err.status)

    def named(self, vendor_id: str, name: str) -> Response:
        """The vendor's error ``name`` from index.json."""
        return self.error(vendor_id, self.contracts[vendor_id].error(name))

    def fault(self, vendor_id: str, fault: Fault) -> Response:
        """An injected error: the vendor's recorded body for that status (index.json ``faults``), or its
        error body with the status's reason phrase; ``Retry-After`` when the fault asks for it."""
        assert fault.status is not None
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        known = self.contracts[vendor_id].index.get("faults", {}).get(str(fault.status), {})
        if "text" in known:
            return Response(known["text"], fault.status, headers=headers, mimetype="text/plain")
        try:
            phrase = HTTPStatus(fault.status).phrase
        except ValueError:
            phrase = "Error"
        err = ApiError(fault.status, known.get("message", phrase))
        return json_response(self.vendors[vendor_id].error_body(err), fault.status, headers)

    def unexpected(self, request: Request, vendor_id: str | None) -> Response:
        """The one answer to an exception nothing expected: logged with its traceback, then the vendor's
        500 (``internal`` in index.json), or ``{"error": "Internal Server Error"}`` outside any vendor."""
        self.logger.exception("mockattr: unexpected error on %s %s", request.method, request.path)
        if vendor_id is None:
            return self.error(None, ApiError(500, "Internal Server Error"))
        return self.named(vendor_id, "internal")
