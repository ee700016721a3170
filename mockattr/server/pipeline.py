"""The request pipeline: one linear path for every vendor request (stripe-mock's single handler).

router (``mockattr.server.routing``) → credential → body and query validated against the operation's
schemas → a planned fault, if one applies → the vendor's handler under the tenant's lock → response →
journal.
Each request is journaled with what in it broke the contract, if anything, unless a reset came while it
was delayed.

In a proxy (``mockattr proxy``) a forwarding handler (``mockattr.server.proxy.Forwarder``) takes the
place of the vendor's handler: the request is checked the same way, then sent on to the vendor whatever
the check found, and paths no operation serves are sent on too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from mockattr.contract import Contract, Operation, auth, violations
from mockattr.contract.errors import ApiError
from mockattr.server.faults import (
    ON_LOOP_ENVIRON_KEY,
    DroppedConnection,
    Fault,
    FaultPlan,
    WouldWait,
    network_fault,
    slowed,
)
from mockattr.server.journal import Journal, JournalEntry, decode_body, redacted_environ_headers
from mockattr.server.jsonio import JSON, JSONAnswer, dump_json, json_problems, parse_json
from mockattr.server.rendering import ErrorRenderer
from mockattr.server.store import TenantLimit
from mockattr.server.tenants import Tenants
from mockattr.vendors import Call, fresh_copy

UNROUTED = {404: "route_not_found", 405: "method_not_allowed", 413: "too_large"}
"""werkzeug's HTTP errors that are the vendor's own errors (by name in index.json)."""
REQUEST_LOG = logging.getLogger("mockattr.requests")
"""One INFO line per vendor request (``serve --log-requests`` shows them): method, path, operation,
status, time and what broke the contract."""
MAX_BODY_BYTES = 1024 * 1024
"""Request bodies above 1 MiB answer 413 (the mock's choice, the same for every vendor)."""


Forward = Callable[[Request, str, Operation | None, JournalEntry], Response]
"""A proxy's handler: sends the request (its body read into the journal entry) on to the vendor and
returns the vendor's answer, noting what in it broke the contract (``drift``)."""


class MalformedBody(ValueError):
    """A body that cannot be read as sent (e.g. broken chunked encoding)."""


CREDENTIALS_KEPT = 4096
"""Header values whose credential is kept read (past it, the cache starts again: memory stays bounded)."""


def read_limited_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """``request``'s body, or RequestEntityTooLarge past ``limit`` bytes, with or without Content-Length
    (a chunked body is read up to one byte past the limit, never cut short silently); MalformedBody when
    the transfer encoding is broken."""
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()
    try:
        data = request.stream.read(limit + 1)
    except (ValueError, OSError) as err:
        raise MalformedBody(f"unreadable ({err})") from err
    if len(data) > limit:
        raise RequestEntityTooLarge()
    return data


def log_line(entry: JournalEntry) -> str:
    """``PUT /chartmogul/v1/... chartmogul update 200 1.2 ms``, then the fault and the violations, if any."""
    answered = str(entry.status) if entry.status else "no answer"
    line = f"{entry.method} {entry.path} {entry.vendor} {entry.operation or '-'} {answered}"
    line += f" {(time.time() - entry.time) * 1000:.1f} ms"
    if entry.fault:
        line += f" (fault{': ' + entry.network if entry.network else ''})"
    if entry.violations:
        line += " violations: " + "; ".join(entry.violations)
    return line


def _decoded(entry: JournalEntry) -> Callable[[], Any]:
    """The entry's request body as JSON data, decoded at most once, when first asked for."""
    decoded: list[Any] = []

    def body() -> Any:
        if not decoded:
            decoded.append(decode_body(entry.request_body))
        return decoded[0]

    return body


def new_entry(request: Request, vendor_id: str, operation_id: str | None) -> JournalEntry:
    """A journal entry for ``request``, not yet answered; its headers are copied (credentials redacted)
    only when it is journaled."""
    return JournalEntry(
        vendor=vendor_id,
        operation=operation_id,
        method=request.method,
        path=request.path,
        query=request.query_string.decode("latin-1"),
        headers={},
        request_body=None,
    )


class RequestPipeline:
    """Serves vendor requests against ``tenants``, with ``faults`` first, into ``journal``; with
    ``forward``, sends them on to the vendors instead (a proxy), bodies up to ``body_limit`` bytes."""

    def __init__(
        self,
        tenants: Tenants,
        renderer: ErrorRenderer,
        journal: Journal,
        faults: FaultPlan,
        api_keys: frozenset[str] | None,
        forward: Forward | None = None,
        body_limit: int = MAX_BODY_BYTES,
    ) -> None:
        self.tenants, self.renderer, self.journal, self.faults = tenants, renderer, journal, faults
        self.api_keys = api_keys
        self.contracts: Mapping[str, Contract] = tenants.contracts
        self.forward, self.body_limit = forward, body_limit
        self._credentials: dict[tuple[str, str], str | None] = {}
        """Credentials read from header values, by vendor and value (``presented_credential``)."""

    # --- the path ------------------------------------------------------------------------------

    def serve(self, request: Request, vendor_id: str, operation_id: str, params: dict[str, str]) -> Response:
        """Serve ``request`` with one vendor operation (``params`` from its path) and journal it. Called
        on a server's event loop, ``WouldWait`` where it would wait (a state file, a proxy, a delay)."""
        on_loop = ON_LOOP_ENVIRON_KEY in request.environ
        if on_loop and (self.forward is not None or self.tenants.store.may_wait):
            raise WouldWait("forwarded" if self.forward is not None else "state file")
        generation = self.tenants.generation
        entry = new_entry(request, vendor_id, operation_id)
        try:
            response = self._answer(request, vendor_id, operation_id, params, entry, generation, on_loop)
        except (HTTPException, WouldWait):
            raise  # werkzeug's own (a body cut short): the router answers and journals it
        except Exception:  # a 500 is journaled too (a full disk under --state-file, a bug)
            response = self.renderer.unexpected(request, vendor_id)
        try:
            if self.tenants.generation == generation:
                self._journal(request, entry, response)
        except Exception:  # the answer stands (its change is committed): a retry must not apply it twice
            REQUEST_LOG.exception("mockattr: the journal could not keep %s %s", request.method, request.path)
        return response

    def _answer(
        self,
        request: Request,
        vendor_id: str,
        operation_id: str,
        params: dict[str, str],
        entry: JournalEntry,
        generation: int,
        on_loop: bool = False,
    ) -> Response:
        contract = self.contracts[vendor_id]
        operation = contract.operations[operation_id]
        try:
            credential, body = self._inspect(request, vendor_id, operation, entry)
            problem = None
        except ApiError as err:
            problem = err
        fault = self.faults.take(vendor_id, operation_id, lambda: entry.tenant, _decoded(entry), may_wait=not on_loop)
        if fault is not None:  # the request was read and checked all the same, for the journal
            entry.network = fault.network
            entry.fault = fault.status is not None or fault.network in ("reset", "empty", "malformed")
            if fault.delay and fault.network != "slow":
                time.sleep(fault.delay)
            if self.tenants.generation != generation:
                return self.renderer.error(vendor_id, ApiError(503, "mockattr was reset while this request waited"))
            if fault.network in ("reset", "empty", "malformed"):
                return network_fault(fault.network)
            if fault.status is not None:
                return slowed(self.renderer.fault(vendor_id, fault), fault)
        if self.forward is not None and entry.request_body is not None:  # forwarded whatever the check found
            return slowed(self.forward(request, vendor_id, operation, entry), fault)
        if problem is not None:  # a proxy answers itself only a body it could not read
            return slowed(self.renderer.error(vendor_id, problem), fault)
        self.tenants.last_tenant[vendor_id] = credential
        try:
            with self.tenants.store.world(vendor_id, credential, served=True) as world:
                call = Call(contract=contract, world=world, params=params, body=body, query=request.args)
                reply = self.tenants.vendors[vendor_id].handlers[operation_id](call)
                payload = "" if reply.body is None else dump_json(reply.body)
        except ApiError as err:
            return slowed(self.renderer.error(vendor_id, err), fault)
        except TenantLimit as err:
            entry.violations.append(f"refused: {err}")
            response = self.renderer.fault(vendor_id, Fault(vendor_id, status=429))
            response.headers["X-Mockattr-Refused"] = str(err)
            return response
        return slowed(JSONAnswer(payload, reply.status, mimetype=JSON if payload else None), fault)

    def _journal(self, request: Request, entry: JournalEntry, response: Response) -> None:
        if not self.journal.enabled and not REQUEST_LOG.isEnabledFor(logging.INFO):
            return
        entry.headers = redacted_environ_headers(request.environ)
        entry.status = 0 if isinstance(response, DroppedConnection) else response.status_code
        if entry.response_body is None:  # a proxy has put the vendor's answer there, decoded
            entry.response_body = getattr(response, "sent", None) or response.get_data()
        self.journal.add(entry)
        if REQUEST_LOG.isEnabledFor(logging.INFO):
            REQUEST_LOG.info(log_line(entry))

    # --- reading and checking the request --------------------------------------------------------

    def _inspect(self, request: Request, vendor_id: str, operation: Operation, entry: JournalEntry) -> tuple[str, Any]:
        """Read the request and check it against the contract: (credential, body), or the vendor's error.
        What breaks the contract is noted in the journal entry."""
        contract = self.contracts[vendor_id]
        noted = entry.violations
        presented = entry.tenant = self.presented_credential(request, vendor_id)  # also for a fault's key
        raw = self._read(request, contract, entry)
        if len(raw) > MAX_BODY_BYTES:  # only a proxy reads more: it forwards the body all the same
            noted.append("body: larger than 1 MiB")
        problem, credential, body = None, "", None
        try:
            credential = self.credential(request, vendor_id, noted, presented)
        except ApiError as err:  # the 401 answers, but the body is checked too, for the journal
            problem = err
        try:
            body = self._body(request, contract, operation, raw, noted) if operation.request else None
            if operation.query:
                self._query(request, contract, operation, noted)
        except ApiError as err:
            problem = problem or err
        if problem is not None:
            raise problem
        return credential, body

    def _read(self, request: Request, contract: Contract, entry: JournalEntry) -> bytes:
        """The body, kept in the journal entry; the vendor's 413 or 400 (noted) when it cannot be read."""
        try:
            raw = entry.request_body = read_limited_body(request, self.body_limit)
        except RequestEntityTooLarge as err:
            entry.violations.append(f"body: larger than {self.body_limit // (1024 * 1024)} MiB")
            raise contract.error("too_large") from err
        except MalformedBody as err:
            entry.violations.append(f"body: {err}")
            raise contract.error("malformed_json") from err
        return raw

    def presented_credential(self, request: Request, vendor_id: str) -> str | None:
        """The credential ``request`` carries for ``vendor_id`` (accepted or not), or None. Read from the
        header once per distinct value (a client sends the same one on every request)."""
        vendor = self.tenants.vendors[vendor_id]
        if vendor.credential is not None:
            return vendor.credential(request)
        scheme = self.contracts[vendor_id].index["auth"]["openapi"]
        name = auth.header_name(scheme)
        value = request.headers.get(name, "")
        key = (vendor_id, value)
        if key not in self._credentials:
            if len(self._credentials) >= CREDENTIALS_KEPT:
                self._credentials.clear()
            self._credentials[key] = auth.credential(scheme, {name: value})
        return self._credentials[key]

    def credential(
        self, request: Request, vendor_id: str, noted: list[str] | None = None, presented: str | None = None
    ) -> str:
        """``request``'s credential for ``vendor_id`` (``presented``, when read already), or the vendor's
        401 (noted in ``noted``)."""
        credential = presented if presented is not None else self.presented_credential(request, vendor_id)
        problem = None
        if not credential:
            problem = "credential: missing or malformed"
        elif self.api_keys is not None and credential not in self.api_keys:
            problem = "credential: not one of the server's --api-key values"
        if problem:
            if noted is not None:
                noted.append(problem)
            raise self.contracts[vendor_id].error("unauthorized")
        assert credential is not None
        return credential

    def _body(self, request: Request, contract: Contract, operation: Operation, raw: bytes, noted: list[str]) -> Any:
        """The request body, parsed and valid against the operation's request schema."""
        assert operation.request is not None
        if not raw.strip():
            if operation.empty_body is not None:
                return fresh_copy(operation.empty_body)
            noted.append("body: empty, where the operation needs a JSON body")
            raise contract.error("malformed_json")
        try:
            body = parse_json(raw)
        except (ValueError, RecursionError) as err:
            noted.append("body: not valid JSON")
            raise contract.error("malformed_json") from err
        noted.extend(json_problems(raw, request.content_type))
        try:
            found = violations(operation.request, body)
        except RecursionError as err:  # nested deeper than the checks can follow
            noted.append("body: nested too deep to check")
            raise contract.error("malformed_json") from err
        if found:
            noted.extend(str(v) for v in found)
            raise contract.violation_error(found[0])
        return body

    def _query(self, request: Request, contract: Contract, operation: Operation, noted: list[str]) -> None:
        """The query string (first value of each name) must fit the operation's query schema."""
        assert operation.query is not None
        found = violations(operation.query, request.args.to_dict())
        if found:
            noted.extend(f"query {v}" for v in found)
            raise contract.violation_error(found[0])

    # --- requests no operation serves ------------------------------------------------------------

    def unrouted(self, request: Request, vendor_id: str, name: str) -> Response:
        """Answer (and journal) a request to a vendor path that no operation serves: the vendor's error
        ``name`` (``route_not_found``, ``method_not_allowed``)."""
        entry = new_entry(request, vendor_id, None)
        entry.tenant = self.presented_credential(request, vendor_id)
        if self.forward is None:  # the mock cannot answer it; through a proxy it is an endpoint left uncovered
            entry.violations.append(f"no operation of {vendor_id} serves {request.method} {request.path}")
            response = self.renderer.named(vendor_id, name)
        else:  # a proxy sends it on all the same, if it can read it
            try:
                self._read(request, self.contracts[vendor_id], entry)
                response = self.forward(request, vendor_id, None, entry)
            except ApiError as err:
                response = self.renderer.error(vendor_id, err)
        self._journal(request, entry, response)
        return response

    def http_error(self, request: Request, vendor_id: str | None, exc: HTTPException) -> Response:
        """werkzeug's HTTP error raised while serving ``request``, in the vendor's body: one that is the
        vendor's own (404, 405, 413) is journaled as unrouted; others (e.g. a body cut short) answer as
        they are."""
        name = UNROUTED.get(exc.code or 0)
        if vendor_id is None or name is None:
            return self.renderer.error(vendor_id, ApiError(exc.code or 500, exc.name))
        return self.unrouted(request, vendor_id, name)
