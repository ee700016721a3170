"""A handle on a running mockattr server, through its admin API (``/__mockattr/``): state, seeds, the
journal, faults, and assertions on what the code under test sent.

The pytest plugin's ``mockattr`` fixture is one of these; it works the same against the server the
plugin starts and against a ``mockattr serve`` elsewhere (``--mockattr-base-url``).
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, NoReturn

from mockattr.contract.admin_api import ADMIN_TOKEN_HEADER, NAMESPACE_PREFIX, admin_path
from mockattr.contract.matching import contains, mismatches


class AdminError(RuntimeError):
    """The admin API refused a call; the message is its answer."""


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received, from its journal."""

    vendor: str
    operation: str | None
    method: str
    path: str
    query: str
    headers: dict[str, str]
    """As sent, credentials redacted."""
    request_body: Any
    status: int
    response_body: Any
    violations: list[str] = field(default_factory=list)
    """What in the request broke the contract; empty when nothing did."""
    drift: list[str] = field(default_factory=list)
    """What in the vendor's answer broke the contract, through ``mockattr proxy``; always empty on the mock."""
    fault: bool = False
    """True when the answer was an injected fault (``fail``), not the mock's own."""
    id: int = 0
    """Its place in the server's journal, counting from 1."""
    network: str | None = None
    """The injected network fault, if any; after ``reset`` and ``empty`` ``status`` is 0 (no answer)."""
    time: float = 0.0

    def summary(self) -> str:
        """One line: method, path, operation and status."""
        answered = str(self.status) if self.status else f"no answer ({self.network})"
        return f"{self.method} {self.path} ({self.vendor} {self.operation or 'no operation'}) -> {answered}"


class Mockattr:
    """Drive a mockattr server: vendor URLs, state, seeds, the journal and faults."""

    def __init__(
        self, base_url: str, ca_bundle: str | None = None, timeout: float = 10.0, admin_token: str | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.ca_bundle = ca_bundle
        """Path of the CA certificate when the server speaks TLS, else None."""
        self.timeout = timeout
        self.admin_token = admin_token
        """Sent as ``X-Mockattr-Admin-Token`` to a server started with ``--admin-token``."""
        self._context = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else None
        self._prefixes: dict[str, str] | None = None
        self._local = threading.local()
        parts = urllib.parse.urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{base_url!r} is not an http:// or https:// URL")
        self._scheme, self._host, self._port, self._path = parts.scheme, parts.hostname, parts.port, parts.path

    def _connection(self) -> http.client.HTTPConnection:
        """This thread's kept-alive connection to the server (TLS handshakes once, not per call)."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            if self._scheme == "https":
                context = self._context or ssl.create_default_context()
                connection = http.client.HTTPSConnection(self._host, self._port, timeout=self.timeout, context=context)
            else:
                connection = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
            self._local.connection, self._local.used = connection, False
        return connection

    def _exchange(self, method: str, target: str, data: bytes | None, headers: dict[str, str]) -> tuple[int, bytes]:
        """Send one request on the kept-alive connection; once more on a new one when a reused connection
        turns out closed (the server closes connections idle for 10 s)."""
        while True:
            connection, reused = self._connection(), self._local.used
            try:
                connection.request(method, target, body=data, headers=headers)
                response = connection.getresponse()
                payload = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                connection.close()
                self._local.connection = None
                if reused:
                    continue
                raise
            self._local.used = True
            if response.will_close:
                connection.close()
                self._local.connection = None
            return response.status, payload

    def _call(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: Any = None,
        ok: tuple[int, ...] = (200, 201),
    ) -> Any:
        query = urllib.parse.urlencode({k: v for k, v in (params or {}).items() if v is not None})
        target = self._path + admin_path(path) + (f"?{query}" if query else "")
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if data else {}
        if self.admin_token is not None:
            headers[ADMIN_TOKEN_HEADER] = self.admin_token
        status, payload = self._exchange(method, target, data, headers)
        answer = json.loads(payload) if payload else None
        if status not in ok:
            message = answer.get("error", answer) if isinstance(answer, dict) else answer
            raise AdminError(f"{method} {admin_path(path)} answered {status}: {message}")
        return answer

    def health(self) -> dict[str, Any]:
        """``{"status": "ok", "version", "vendors": {id: prefix}}``."""
        return self._call("GET", "health")

    def url(self, vendor: str) -> str:
        """Base URL of ``vendor``, e.g. ``http://127.0.0.1:PORT/chartmogul`` (append ``/v1`` and so on)."""
        if self._prefixes is None:
            self._prefixes = self.health()["vendors"]
        if vendor not in self._prefixes:
            raise ValueError(f"this server serves {', '.join(self._prefixes)}, not {vendor!r}")
        return self.base_url + self._prefixes[vendor]

    def reset(self) -> None:
        """Every tenant back to the fixtures; seeds, the journal and pending faults dropped."""
        self._call("POST", "reset")

    def namespace(self, name: str) -> Mockattr:
        """A handle on namespace ``name`` of the same server (made on first use): tenants, seeds, the
        journal and faults of its own, its vendors under ``<base URL>/__ns/<name>``."""
        return type(self)(f"{self.base_url}{NAMESPACE_PREFIX}{name}", self.ca_bundle, self.timeout, self.admin_token)

    def drop_namespace(self) -> None:
        """Forget this handle's namespace, with its tenants, seeds, journal and faults."""
        self._call("DELETE", "namespace")

    def seed(self, vendor: str, data: dict[str, Any], key: str | None = None) -> None:
        """Add customers / definitions / values in the fixtures' format (missing fields get defaults)
        to every tenant for the rest of the test, or only to the tenant of API key ``key``."""
        self._call("POST", "seed", {"vendor": vendor, "key": key}, data)

    def state(self, vendor: str, key: str | None = None) -> dict[str, Any]:
        """A tenant's world as plain data: ``key``'s, else the one the last request used, else the fixtures."""
        return self._call("GET", "state", {"vendor": vendor, "key": key})

    def requests(self, vendor: str | None = None, operation: str | None = None) -> list[RecordedRequest]:
        """The journal, oldest first, optionally of one vendor or one operation."""
        found: list[RecordedRequest] = []
        after: int | None = None
        while True:  # the server pages its journal
            params = {"vendor": vendor, "operation": operation, "limit": 1000, "after": after}
            answer = self._call("GET", "requests", params)
            found += [RecordedRequest(**entry) for entry in answer["requests"]]
            after = answer.get("next")
            if after is None:
                return found

    def fail(
        self,
        vendor: str,
        operation: str | None = None,
        status: int | None = None,
        *,
        times: int = 1,
        retry_after: int | None = None,
        delay: float | None = None,
        key: str | None = None,
        match: dict[str, Any] | None = None,
        network: str | None = None,
    ) -> None:
        """The next ``times`` calls of ``operation`` (None: any of the vendor's) wait ``delay`` seconds,
        then answer ``status`` with the vendor's error body (and ``Retry-After`` when given). ``key``
        limits the fault to one credential's calls, ``match`` to calls whose JSON body contains it.
        ``network``: ``"reset"`` (the connection is reset), ``"empty"`` (closed with no answer),
        ``"malformed"`` (200 with a cut-off JSON body) or ``"slow"`` (the body takes ``delay`` seconds)."""
        fault = {
            "vendor": vendor,
            "operation": operation,
            "status": status,
            "times": times,
            "retry_after": retry_after,
            "delay": delay,
            "key": key,
            "match": match,
            "network": network,
        }
        self._call("POST", "faults", body={k: v for k, v in fault.items() if v is not None})

    def clear_faults(self) -> None:
        """Drop the faults not yet used."""
        self._call("DELETE", "faults")

    # --- assertions ------------------------------------------------------------------------------

    def assert_called(
        self, vendor: str, operation: str, *, times: int | None = None, body: Any = None
    ) -> list[RecordedRequest]:
        """The calls of ``operation`` whose JSON body contains ``body`` (a subset: the object's named
        members, recursively); AssertionError unless there are ``times`` of them (None: at least one).
        The message shows what was received, the closest call first, with what differs."""
        calls = self.requests(vendor, operation)
        matching = [e for e in calls if body is None or contains(e.request_body, body)]
        if len(matching) == times or (times is None and matching):
            return matching
        wanted = "at least once" if times is None else f"{times} time{'s' * (times != 1)}"
        head = f"expected {vendor} {operation} to be called {wanted}" + (
            f" with a body containing {json.dumps(body)}" if body is not None else ""
        )
        found = f"{len(matching)} matching call{'s' * (len(matching) != 1)} of {len(calls)}"
        received = calls or self.requests(vendor)
        self._fail(f"{head}; got {found}", received, body)

    def assert_not_called(self, vendor: str, operation: str | None = None) -> list[RecordedRequest]:
        """AssertionError when ``vendor`` (or its ``operation``) received any call; else ``[]``."""
        calls = self.requests(vendor, operation)
        if calls:
            self._fail(f"expected no call of {vendor} {operation or '(any operation)'}; got {len(calls)}", calls)
        return calls

    def assert_no_violations(self) -> list[RecordedRequest]:
        """The journal; AssertionError naming each request that broke the contract, and how."""
        entries = self.requests()
        broken = [e for e in entries if e.violations]
        if broken:
            lines = [f"  {e.summary()}\n" + "".join(f"      {v}\n" for v in e.violations) for e in broken]
            raise AssertionError(
                f"{len(broken)} request{'s' * (len(broken) != 1)} broke the contract:\n" + "".join(lines).rstrip()
            )
        return entries

    def _fail(self, head: str, received: list[RecordedRequest], body: Any = None) -> NoReturn:
        """AssertionError: ``head``, then what was received, closest to ``body`` first, with the differences."""
        if not received:
            raise AssertionError(f"{head}\nreceived: nothing")

        def differences(entry: RecordedRequest) -> list[str]:
            return [] if body is None else mismatches(entry.request_body, body)

        shown = sorted(received, key=lambda e: len(differences(e)))[:SHOWN]
        lines = []
        for entry in shown:
            lines.append(f"  {entry.summary()}")
            lines.append("      body: " + ("(none)" if entry.request_body is None else _compact(entry.request_body)))
            lines += [f"      differs: {d}" for d in differences(entry)]
        more = f"\n  ... and {len(received) - SHOWN} more" if len(received) > SHOWN else ""
        raise AssertionError(f"{head}\nreceived (closest first):\n" + "\n".join(lines) + more)


SHOWN = 5
"""Calls an assertion's message shows."""


def _compact(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 200 else text[:197] + "..."
