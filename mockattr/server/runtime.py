"""The running mock: vendors and their contracts, tenants' state, seeds, the journal and faults.

Every vendor request goes the same way: a waiting fault answers first; otherwise authenticate, read and
validate the body (and query) against the operation's schemas, run the handler under the tenant's lock,
answer JSON. Each request is journaled with what in it broke the contract, if anything.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from http import HTTPStatus
from pathlib import Path
from typing import Any

from flask import Response
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Request

from mockattr.contract import Contract, Operation, auth, check, load_contract, violations
from mockattr.contract.errors import ApiError
from mockattr.server.durable import DurableStore
from mockattr.server.faults import Fault, FaultPlan
from mockattr.server.journal import Journal, JournalEntry, redact
from mockattr.server.jsonio import JSON, dump_json, json_response, parse_json
from mockattr.server.store import DEFAULT_MAX_TENANTS, TenantLimit, TenantStore
from mockattr.vendors import Call, FixtureError, Vendor, check_vendor, fresh_copy, load_fixture, load_vendor

UNROUTED = {404: "route_not_found", 405: "method_not_allowed", 413: "too_large"}
"""werkzeug's HTTP errors that are the vendor's own errors (by name in index.json)."""
MAX_BODY_BYTES = 1024 * 1024
"""Request bodies above 1 MiB answer 413 (the mock's choice, the same for every vendor)."""


class MalformedBody(ValueError):
    """A body that cannot be read as sent (e.g. broken chunked encoding)."""


def read_limited_body(request: Request) -> bytes:
    """``request``'s body, or RequestEntityTooLarge past MAX_BODY_BYTES, with or without Content-Length
    (a chunked body is read up to one byte past the limit, never cut short silently); MalformedBody when
    the transfer encoding is broken."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise RequestEntityTooLarge()
    try:
        data = request.stream.read(MAX_BODY_BYTES + 1)
    except (ValueError, OSError) as err:
        raise MalformedBody(f"unreadable ({err})") from err
    if len(data) > MAX_BODY_BYTES:
        raise RequestEntityTooLarge()
    return data


class Runtime:
    """The served vendors, their contracts, the tenants' state, seeds, journal, faults and allow-list."""

    def __init__(
        self,
        vendor_ids: Iterable[str],
        *,
        root_vendor: str | None = None,
        fixtures_dir: Path | None = None,
        api_keys: Iterable[str] | None = None,
        max_tenants: int = DEFAULT_MAX_TENANTS,
        state_file: Path | None = None,
    ) -> None:
        self.vendors: dict[str, Vendor] = {}
        self.contracts: dict[str, Contract] = {}
        self.fixtures: dict[str, dict[str, Any]] = {}
        self.root_vendor = root_vendor
        self.api_keys = frozenset(api_keys) if api_keys else None
        for vendor_id in vendor_ids:
            check_vendor(vendor_id)
            self.vendors[vendor_id] = load_vendor(vendor_id)
            contract = self.contracts[vendor_id] = load_contract(vendor_id)
            self.fixtures[vendor_id] = load_fixture(vendor_id, contract, fixtures_dir, self.vendors[vendor_id])
        self.store: TenantStore | DurableStore
        if state_file is None:
            self.store = TenantStore({vendor_id: self.seeder(vendor_id) for vendor_id in self.vendors}, max_tenants)
        else:
            self.store = DurableStore(state_file, self.new_world, self.stored_world, max_tenants, self.vendors)
        self.journal = Journal()
        self.faults = FaultPlan()
        self.last_tenant: dict[str, str] = {}
        self.generation = 0
        """Counts resets: a request delayed across one must not touch the state or journal after it."""
        self._seeding = threading.Lock()

    # --- state ---------------------------------------------------------------------------------

    def seeder(self, vendor_id: str) -> Any:
        """A function building a new tenant's world of ``vendor_id``."""
        return lambda: self.new_world(vendor_id)

    def new_world(self, vendor_id: str) -> Any:
        """A world for one new tenant: the vendor's fixtures, then the seeds added since the last reset."""
        world = self.vendors[vendor_id].new_world(fresh_copy(self.fixtures[vendor_id]), self.contracts[vendor_id])
        for data in self.store.seeds(vendor_id):
            world.merge(fresh_copy(data))
        return world

    def stored_world(self, vendor_id: str, data: Any) -> Any:
        """A world from stored data (a state file's row); ValueError when it does not fit the vendor."""
        violation = check(self.contracts[vendor_id].validator("fixture.json"), data)
        if violation:
            raise ValueError(violation)
        return self.vendors[vendor_id].new_world(data, self.contracts[vendor_id])

    def reset(self) -> None:
        """Every tenant back to the fixtures; seeds, journal and pending faults dropped."""
        self.generation += 1
        self.store.reset()
        self.journal.clear()
        self.faults.clear()
        self.last_tenant.clear()

    def seed(self, vendor_id: str, data: Any, credential: str | None = None) -> None:
        """Add ``data`` (the fixture format; missing fields get defaults) to one tenant, or when
        ``credential`` is None to every tenant, present and future, until the next reset."""
        vendor, contract = self.vendors[vendor_id], self.contracts[vendor_id]
        if not isinstance(data, dict):
            raise FixtureError("seed data must be a JSON object in the fixture format")
        data = vendor.complete_seed(fresh_copy(data))
        violation = check(contract.validator("fixture.json"), data)
        if violation:
            raise FixtureError(f"seed for {vendor_id}: {violation}")

        def trial(world: Any) -> None:  # on a copy: the seed must fit every world before any takes it
            copy = vendor.new_world(fresh_copy(world.to_data()), contract)
            before = vendor.usage(copy)
            copy.merge(fresh_copy(data))
            self._within_limits(vendor_id, before, copy)

        try:
            with self._seeding:  # two seeds that each fit must not pass their trials together
                trial(self.new_world(vendor_id))  # a world made after the seed
                if credential is not None:
                    with self.store.world(vendor_id, credential) as world:
                        trial(world)
                        world.merge(data)
                    return
                self.store.each(vendor_id, trial)
                self.store.add_seed(vendor_id, data, lambda world, copy: world.merge(copy))
        except ValueError as err:
            raise FixtureError(f"seed for {vendor_id}: {err}") from err

    def _within_limits(self, vendor_id: str, before: dict[str, int], world: Any) -> None:
        """ValueError when ``world`` holds more of a thing than index.json's ``limits`` allow a tenant, and
        more than it held ``before`` (a limit stops growth: fixtures already past one stay usable)."""
        limits = self.contracts[vendor_id].index.get("limits", {})
        for name, count in self.vendors[vendor_id].usage(world).items():
            if count > limits[name] and count > before[name]:
                what = name.replace("_", " ")
                raise ValueError(f"the tenant would hold {count} {what}, past the limit of {limits[name]}")

    def state_json(self, vendor_id: str, credential: str | None) -> str:
        """A tenant's world as JSON: ``credential``'s, else the last one a request used, else fresh fixtures."""
        credential = credential or self.last_tenant.get(vendor_id)
        if credential is None:
            return dump_json(self.new_world(vendor_id).to_data())
        with self.store.world(vendor_id, credential) as world:
            return dump_json(world.to_data())

    # --- requests ------------------------------------------------------------------------------

    def prefix(self, vendor_id: str) -> str:
        """The URL path under which ``vendor_id`` is served: ``/<vendor id>``, or the root."""
        return "" if vendor_id == self.root_vendor else f"/{vendor_id}"

    def vendor_for_path(self, path: str) -> str | None:
        """Which vendor a request path belongs to, if any (for error bodies of unrouted requests)."""
        if path.startswith("/__mockattr/"):
            return None
        if self.root_vendor:
            return self.root_vendor
        first = path.lstrip("/").split("/", 1)[0]
        return first if first in self.vendors else None

    def presented_credential(self, request: Request, vendor_id: str) -> str | None:
        """The credential ``request`` carries for ``vendor_id`` (accepted or not), or None."""
        vendor = self.vendors[vendor_id]
        if vendor.credential is not None:
            return vendor.credential(request)
        return auth.credential(self.contracts[vendor_id].index["auth"]["openapi"], request.headers)

    def credential(self, request: Request, vendor_id: str, noted: list[str] | None = None) -> str:
        """``request``'s credential for ``vendor_id``, or the vendor's 401 (noted in ``noted``)."""
        credential = self.presented_credential(request, vendor_id)
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

    def _body(self, contract: Contract, operation: Operation, raw: bytes, noted: list[str]) -> Any:
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
        found = violations(operation.request, body)
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

    def dispatch(self, request: Request, vendor_id: str, operation_id: str, params: dict[str, str]) -> Response:
        """Serve ``request`` with one vendor operation (``params`` from its path) and journal it, unless a
        reset came while it was delayed."""
        generation = self.generation
        entry = self._entry(request, vendor_id, operation_id)
        response = self._answer(request, vendor_id, operation_id, params, entry, generation)
        if self.generation == generation:
            self._journal(entry, response)
        return response

    def _inspect(self, request: Request, vendor_id: str, operation: Operation, entry: JournalEntry) -> tuple[str, Any]:
        """Read the request and check it against the contract: (credential, body), or the vendor's error.
        What breaks the contract is noted in the journal entry."""
        contract = self.contracts[vendor_id]
        noted = entry.violations
        try:
            raw = entry.request_body = read_limited_body(request)
        except RequestEntityTooLarge as err:
            noted.append("body: larger than 1 MiB")
            raise contract.error("too_large") from err
        except MalformedBody as err:
            noted.append(f"body: {err}")
            raise contract.error("malformed_json") from err
        problem, credential, body = None, "", None
        try:
            credential = self.credential(request, vendor_id, noted)
        except ApiError as err:  # the 401 answers, but the body is checked too, for the journal
            problem = err
        try:
            body = self._body(contract, operation, raw, noted) if operation.request else None
            if operation.query:
                self._query(request, contract, operation, noted)
        except ApiError as err:
            problem = problem or err
        if problem is not None:
            raise problem
        return credential, body

    def _answer(
        self,
        request: Request,
        vendor_id: str,
        operation_id: str,
        params: dict[str, str],
        entry: JournalEntry,
        generation: int,
    ) -> Response:
        contract = self.contracts[vendor_id]
        operation = contract.operations[operation_id]
        fault = self.faults.take(vendor_id, operation_id)
        try:
            credential, body = self._inspect(request, vendor_id, operation, entry)
            problem = None
        except ApiError as err:
            problem = err
        if fault is not None:  # the request was read and checked all the same, for the journal
            entry.fault = True
            if fault.delay:
                time.sleep(fault.delay)
            if self.generation != generation:
                return self.error_response(vendor_id, ApiError(503, "mockattr was reset while this request waited"))
            if fault.status is not None:
                return self.fault_response(vendor_id, fault)
        if problem is not None:
            return self.error_response(vendor_id, problem)
        self.last_tenant[vendor_id] = credential
        try:
            with self.store.world(vendor_id, credential) as world:
                call = Call(contract=contract, world=world, params=params, body=body, query=request.args)
                reply = self.vendors[vendor_id].handlers[operation_id](call)
                payload = "" if reply.body is None else dump_json(reply.body)
        except ApiError as err:
            return self.error_response(vendor_id, err)
        except TenantLimit as err:
            entry.violations.append(f"refused: {err}")
            response = self.fault_response(vendor_id, Fault(vendor_id, status=429))
            response.headers["X-Mockattr-Refused"] = str(err)
            return response
        return Response(payload, reply.status, mimetype=JSON if payload else None)

    def _entry(self, request: Request, vendor_id: str, operation_id: str | None) -> JournalEntry:
        return JournalEntry(
            vendor=vendor_id,
            operation=operation_id,
            method=request.method,
            path=request.path,
            query=request.query_string.decode("latin-1"),
            headers=redact(request.headers),
            request_body=None,
        )

    def _journal(self, entry: JournalEntry, response: Response) -> None:
        entry.status = response.status_code
        entry.response_body = response.get_data()
        self.journal.add(entry)

    def unrouted(self, request: Request, vendor_id: str, name: str) -> Response:
        """Answer (and journal) a request to a vendor path that no operation serves."""
        entry = self._entry(request, vendor_id, None)
        entry.violations.append(f"no operation of {vendor_id} serves {request.method} {request.path}")
        response = self.error_response(vendor_id, self.contracts[vendor_id].error(name))
        self._journal(entry, response)
        return response

    def http_error_response(self, request: Request, exc: HTTPException) -> Response:
        """werkzeug's HTTP error for ``request`` in the body of the vendor its path belongs to: a path or
        method no operation serves is journaled as such; others (e.g. a body cut short) answer as they are."""
        vendor_id = self.vendor_for_path(request.path)
        name = UNROUTED.get(exc.code or 0)
        if vendor_id is None or name is None:
            return self.error_response(vendor_id, ApiError(exc.code or 500, exc.name))
        return self.unrouted(request, vendor_id, name)

    def fault_response(self, vendor_id: str, fault: Fault) -> Response:
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

    def error_response(self, vendor_id: str | None, err: ApiError) -> Response:
        """``err`` in the vendor's error body (a plain ``{"error": ...}`` outside any vendor)."""
        if vendor_id is None:
            return json_response({"error": err.message}, err.status)
        return json_response(self.vendors[vendor_id].error_body(err), err.status)
