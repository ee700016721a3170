"""``mockattr proxy``: the forwarding handler that takes the place of the vendors' handlers.

The router, the request pipeline (the request checked against the contract, its violations journaled),
the journal and the admin API are the mock's; only the last step differs. The request goes on, unchanged
but for hop-by-hop headers and Host, to the vendor's upstream URL; the upstream's answer comes back
unchanged but for hop-by-hop headers, and what in it breaks the contract at the open level (the vendor's
guarantee, ``load_contract(strict=False)``) is journaled as ``drift``. An upstream that cannot be reached,
refuses TLS or does not answer in time is the vendor's 502 (``upstream_unavailable`` in index.json).
"""

from __future__ import annotations

import socket
import time
import urllib.parse
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from werkzeug.wrappers import Request, Response

from mockattr.contract import Contract, Operation, violations
from mockattr.server.har import HarWriter, har_entry
from mockattr.server.journal import JournalEntry, redact, redacted_pairs
from mockattr.server.jsonio import parse_json
from mockattr.server.rendering import ErrorRenderer

CONNECT_TIMEOUT = 5.0
"""Seconds to connect to an upstream (TLS handshake included)."""
READ_TIMEOUT = 30.0
"""Seconds an upstream may stay silent while answering (``--timeout``)."""
BODY_LIMIT = 8 * 1024 * 1024
"""A proxy forwards request bodies up to 8 MiB (the server refuses larger ones itself)."""
POOL_SIZE = 8
"""Connections kept open per upstream: one per server thread."""
HOP_BY_HOP = frozenset(
    [
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    ]
)
"""Headers that belong to one connection (RFC 9110 7.6.1), never forwarded either way."""


@dataclass(frozen=True)
class ProxySettings:
    """What ``mockattr proxy`` is given: each vendor's upstream base URL, a CA file to trust for them,
    the read timeout, and the HAR file to record into."""

    upstreams: Mapping[str, str]
    ca_bundle: str | None = None
    timeout: float = READ_TIMEOUT
    record: Path | None = None


def upstream_session(ca_bundle: str | None) -> requests.Session:
    """A connection pool for one upstream that sends exactly what the client sent: no default headers, no
    proxy, credential or CA from the environment, no cookie kept between clients, no retry."""
    session = requests.Session()
    session.trust_env = False
    session.headers.clear()
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    session.verify = ca_bundle or True
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=POOL_SIZE, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def end_to_end(headers: Any) -> list[tuple[str, str]]:
    """``headers`` (name, value pairs) without hop-by-hop ones, those ``Connection`` names, Host and
    Content-Length (the client library sets both for the hop it makes)."""
    pairs = list(headers.items())
    named = {n.strip().lower() for name, value in pairs if name.lower() == "connection" for n in value.split(",")}
    dropped = HOP_BY_HOP | named | {"host", "content-length"}
    return [(name, value) for name, value in pairs if name.lower() not in dropped]


def decoded(raw: bytes, encoding: str) -> bytes | None:
    """A body as sent, decoded from its Content-Encoding (gzip, deflate); None when it cannot be."""
    encoding = encoding.strip().lower()
    try:
        if encoding in ("", "identity"):
            return raw
        if encoding in ("gzip", "x-gzip"):
            return zlib.decompress(raw, 16 + zlib.MAX_WBITS)
        if encoding == "deflate":
            try:
                return zlib.decompress(raw)
            except zlib.error:
                return zlib.decompress(raw, -zlib.MAX_WBITS)
    except zlib.error:
        return None
    return None


def drift(contract: Contract, operation: Operation | None, status: int, content_type: str, body: bytes) -> list[str]:
    """What in an upstream's answer to ``operation`` breaks the contract: a status neither the operation
    nor the vendor documents, no body where one is documented or one where none is, non-JSON where JSON is
    documented, a body that fails the status's schema. A path no operation serves has no contract."""
    if operation is None:
        return []
    if status not in operation.responses:
        if status in contract.index.get("documented_error_statuses", {}).get("statuses", []):
            return []  # a vendor-wide error (429, 5xx): its body is the vendor's to choose
        listed = ", ".join(str(s) for s in sorted(operation.responses))
        return [f"status {status}: not documented for {operation.id} (documented: {listed})"]
    validator = operation.responses[status]
    if validator is None:
        return [f"body: {status} has no body in the contract; got {len(body)} bytes"] if body.strip() else []
    try:
        data = parse_json(body)
    except (ValueError, RecursionError):
        return [f"body: not JSON where {operation.id} {status} is documented as JSON ({content_type or 'no type'})"]
    found = [f"body {violation}" for violation in violations(validator, data)]
    if "json" not in content_type.lower():
        found.insert(0, f"Content-Type: {content_type or 'none'} where {operation.id} {status} is JSON")
    return found


def unreachable_reason(err: Exception, timeout: float) -> str:
    """Why an upstream gave no answer, in a few words."""
    if isinstance(err, requests.exceptions.SSLError):
        return "TLS refused" + (f" ({_innermost(err)})" if _innermost(err) else "")
    if isinstance(err, requests.exceptions.ConnectTimeout):
        return f"no connection within {CONNECT_TIMEOUT:g} s"
    if isinstance(err, (requests.exceptions.ReadTimeout, urllib3.exceptions.ReadTimeoutError)):
        if "read timeout" in str(err) and f"read timeout={timeout:g})" not in str(err):
            return f"no TLS handshake within {CONNECT_TIMEOUT:g} s"  # the handshake runs under the connect timeout
        return f"no answer within {timeout:g} s"
    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "host name not found"
        cause = cause.__cause__ or cause.__context__
    return _innermost(err) or type(err).__name__


def _innermost(err: BaseException) -> str:
    """The message of the last network error in ``err``'s chain (the one nearest the socket); the chain
    stops at anything else (what was being handled when the request was sent, e.g. a routing miss)."""
    network = (OSError, urllib3.exceptions.HTTPError, requests.RequestException)
    while isinstance(following := err.__cause__ or err.__context__, network):
        err = following
    return str(err)[:200]


class Forwarder:
    """The proxy's handler (``mockattr.server.pipeline.Forward``): one pool per upstream, answers
    checked for drift, exchanges recorded into a HAR file when asked."""

    def __init__(
        self,
        settings: ProxySettings,
        contracts: Mapping[str, Contract],
        renderer: ErrorRenderer,
        prefix: Callable[[str], str],
    ) -> None:
        self.upstreams = {vendor_id: url.rstrip("/") for vendor_id, url in settings.upstreams.items()}
        self.sessions = {vendor_id: upstream_session(settings.ca_bundle) for vendor_id in self.upstreams}
        self.timeout = settings.timeout
        self.contracts, self.renderer, self.prefix = contracts, renderer, prefix
        self.recorder = HarWriter(settings.record) if settings.record else None

    def __call__(self, request: Request, vendor_id: str, operation: Operation | None, entry: JournalEntry) -> Response:
        """Send ``request`` (its body already read into ``entry``) to the vendor's upstream; the answer."""
        url = self.upstreams[vendor_id] + self._target(request, vendor_id)
        body = entry.request_body or b""
        sent = {"Host": urllib.parse.urlsplit(url).netloc, **dict(end_to_end(request.headers))}
        started, clock = time.time(), time.monotonic()
        try:
            answer = self.sessions[vendor_id].request(
                request.method,
                url,
                headers=sent,
                data=body or None,
                timeout=(CONNECT_TIMEOUT, self.timeout),
                allow_redirects=False,
                stream=True,
            )
            wait = time.monotonic() - clock
            try:
                raw = answer.raw.read(decode_content=False)
            except BaseException:
                answer.close()
                raise
            answer.raw.release_conn()  # read in full: the connection goes back to the pool
        except (requests.RequestException, urllib3.exceptions.HTTPError) as err:
            reason = unreachable_reason(err, self.timeout)
            problem = self.contracts[vendor_id].error(
                "upstream_unavailable", upstream=self.upstreams[vendor_id], reason=reason
            )
            response = self.renderer.error(vendor_id, problem)
            self._record(started, clock, clock, url, sent, entry, response, {"unreachable": reason})
            return response
        headers = end_to_end(answer.raw.headers)
        response = Response(raw, status=f"{answer.status_code} {answer.reason or ''}".strip(), headers=headers)
        if not any(name.lower() == "content-type" for name, _ in headers):
            del response.headers["Content-Type"]  # werkzeug's default: the upstream sent none
        plain = decoded(raw, answer.headers.get("Content-Encoding", ""))
        entry.response_body = plain if plain is not None else raw
        if plain is not None:
            content_type = answer.headers.get("Content-Type", "")
            entry.drift = drift(self.contracts[vendor_id], operation, answer.status_code, content_type, plain)
        self._record(started, clock, clock + wait, url, sent, entry, response, {})
        return response

    def _target(self, request: Request, vendor_id: str) -> str:
        """The path below the vendor's prefix and the query, as the client sent them (percent-encoding kept)."""
        sent = request.environ.get("REQUEST_URI") or (
            urllib.parse.quote(request.path, safe="/:@!$&'()*+,;=-._~")
            + ("?" + request.query_string.decode("latin-1") if request.query_string else "")
        )
        if not sent.startswith("/"):  # an absolute URI in the request line
            parts = urllib.parse.urlsplit(sent)
            sent = parts.path + (f"?{parts.query}" if parts.query else "")
        namespace = request.environ.get("SCRIPT_NAME", "")  # /__ns/<name>, plain ASCII: as sent
        if namespace and sent.startswith(namespace):
            sent = sent[len(namespace) :]
        return sent[len(self.prefix(vendor_id)) :]

    def _record(
        self,
        started: float,
        clock: float,
        answered: float,
        url: str,
        sent: dict[str, str],
        entry: JournalEntry,
        response: Response,
        extra: dict[str, Any],
    ) -> None:
        """The exchange (the request as sent upstream) into the HAR file, when recording; credentials redacted."""
        if self.recorder is None:
            return
        done = time.monotonic()
        self.recorder.add(
            har_entry(
                started=started,
                method=entry.method,
                url=url,
                request_headers=redact(sent),
                request_body=entry.request_body or b"",
                status=response.status_code,
                reason=response.status.partition(" ")[2],
                response_headers=redacted_pairs(response.headers.items()),
                response_body=entry.response_body if entry.response_body is not None else response.get_data(),
                wait_ms=(answered - clock) * 1000,
                total_ms=(done - clock) * 1000,
                extra={
                    "vendor": entry.vendor,
                    "upstream": self.upstreams[entry.vendor],
                    "operation": entry.operation,
                    "violations": entry.violations,
                    "drift": entry.drift,
                    **extra,
                },
            )
        )

    def close(self) -> None:
        for session in self.sessions.values():
            session.close()
        if self.recorder is not None:
            self.recorder.close()
