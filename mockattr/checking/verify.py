"""Recorded traffic held to the contract offline (``mockattr verify``): match each exchange to a vendor
operation, then check its request, status and response body at the vendor's (open) level.

An exchange is a vendor's when its host is one of the ``hosts`` in the vendor's ``index.json``, or the
recording says so (a ``mockattr proxy`` HAR names the vendor and the upstream URL, whose path is the
vendor's root), or its path is mockattr's own layout ``/<vendor id>/...`` (on any host); with a root
vendor, every path is that vendor's at the root. Paths are matched with the operations' own rules
(``contract.routes``). An exchange no operation serves is skipped, not failed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from werkzeug.exceptions import HTTPException, MethodNotAllowed

from mockattr.checking.junit import CheckResult
from mockattr.checking.recordings import Exchange
from mockattr.contract import Contract, Operation, violations
from mockattr.contract.routes import operation_routes, vendor_hosts


@dataclass
class Verdict:
    """What ``verify`` found of one exchange: its operation, its mismatches (``field: what``), or why
    it was skipped; ``note`` says what was not checked."""

    exchange: Exchange
    vendor: str | None = None
    operation: str | None = None
    mismatches: list[str] = field(default_factory=list)
    skipped: str | None = None
    note: str | None = None

    @property
    def label(self) -> str:
        """``vendor operation METHOD path status``, or for a skipped exchange ``METHOD url status``."""
        ex = self.exchange
        if self.operation is None:
            return f"{ex.method} {ex.url} {ex.status}"
        return f"{self.vendor} {self.operation} {ex.method} {urlsplit(ex.url).path} {ex.status}"

    def result(self) -> CheckResult:
        """This verdict as a JUnit test case."""
        failure = "\n".join(self.mismatches) or None
        return CheckResult(f"{self.label} ({self.exchange.where})", 0.0, failure, self.skipped)


class Matcher:
    """Which vendor operation an exchange is, by host, then by mockattr's ``/<vendor id>/`` layout."""

    def __init__(self, contracts: Mapping[str, Contract], root_vendor: str | None = None) -> None:
        self.contracts = contracts
        self.root_vendor = root_vendor
        self.hosts = vendor_hosts(contracts)
        self.at_root = {vendor: operation_routes({vendor: c}, lambda _: "") for vendor, c in contracts.items()}
        self.layout = operation_routes(contracts, lambda vendor: f"/{vendor}")

    def match(self, exchange: Exchange) -> tuple[str, Operation] | str:
        """The exchange's vendor and operation, or why it has none."""
        url = urlsplit(exchange.url)
        host = (url.hostname or "").lower()
        vendor = self.root_vendor or self.hosts.get(host)
        path = unquote(url.path) or "/"
        if vendor is None and exchange.vendor in self.contracts and exchange.upstream:
            below = unquote(urlsplit(exchange.upstream).path).rstrip("/")
            if path.startswith(below + "/"):
                vendor, path = exchange.vendor, path[len(below) :]
        routes = self.at_root[vendor] if vendor else self.layout
        try:
            (vendor, operation_id), _ = routes.match(path, exchange.method)
        except MethodNotAllowed:
            return f"no operation of {vendor or self._layout_vendor(path)} is {exchange.method} {path}"
        except HTTPException:
            if vendor:
                return f"no operation of {vendor} serves {path}"
            return f"{host or 'no host'} is no vendor's host, and {path} is not below /<vendor id>/"
        if operation_id is None:  # index.json's unserved: the vendor's, not ours
            return f"no operation of {vendor} serves {path} (an endpoint the mock does not serve)"
        operation = self.contracts[vendor].operations[operation_id]
        if operation.method != exchange.method:  # werkzeug lets HEAD match a GET rule
            return f"no operation of {vendor} is {exchange.method} {path}"
        return vendor, operation

    def _layout_vendor(self, path: str) -> str:
        return path.split("/")[1]


def verify(
    exchanges: list[Exchange], contracts: Mapping[str, Contract], root_vendor: str | None = None
) -> list[Verdict]:
    """A verdict per exchange, in order."""
    matcher = Matcher(contracts, root_vendor)
    verdicts = []
    for exchange in exchanges:
        found = matcher.match(exchange) if exchange.status else "no answer was recorded (status 0)"
        if isinstance(found, str):
            verdicts.append(Verdict(exchange, skipped=found))
            continue
        vendor, operation = found
        verdict = Verdict(exchange, vendor, operation.id)
        check_exchange(verdict, contracts[vendor], operation)
        verdicts.append(verdict)
    return verdicts


def check_exchange(verdict: Verdict, contract: Contract, operation: Operation) -> None:
    """Fill ``verdict`` with what in its exchange breaks ``operation``: the request (when the vendor
    accepted it: a 2xx), the status (one the operation or the vendor documents) and the response body."""
    ex, problems = verdict.exchange, verdict.mismatches
    if 200 <= ex.status < 300 and operation.request is not None:
        if ex.request_body.strip():
            body = _json(ex.request_body, "request", problems)
            if body is not _NOT_JSON:
                problems += [f"request {v}" for v in violations(operation.request, body)]
        elif operation.empty_body is None:
            problems.append("request: empty, where the operation takes a JSON body")
    if 200 <= ex.status < 300 and operation.query is not None:
        query = {name: values[0] for name, values in parse_qs(urlsplit(ex.url).query).items()}
        problems += [f"query {v}" for v in violations(operation.query, query)]
    vendor_wide = contract.index.get("documented_error_statuses", {}).get("statuses", [])
    if ex.status not in operation.responses:
        if ex.status in vendor_wide:
            verdict.note = (
                f"{contract.vendor} documents {ex.status}, {operation.id} has no schema for it: body not checked"
            )
        else:
            problems.append(f"status: {ex.status} is not a documented status of {contract.vendor} {operation.id}")
        return
    validator = operation.responses[ex.status]
    if validator is None:
        if ex.response_body.strip():
            problems.append(f"response: a body, where {ex.status} has none")
        return
    body = _json(ex.response_body, "response", problems)
    if body is not _NOT_JSON:
        problems += [f"response {v}" for v in violations(validator, body)]


_NOT_JSON = object()


def _json(raw: bytes, what: str, problems: list[str]) -> object:
    """``raw`` parsed, or ``_NOT_JSON`` with the reason added to ``problems``."""
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        problems.append(f"{what}: not JSON ({err}): {raw[:80]!r}")
        return _NOT_JSON
