"""A handle on a running mockattr server, through its admin API (``/__mockattr/``).

The pytest plugin's ``mockattr`` fixture is one of these; it works the same against the server the
plugin starts and against a ``mockattr serve`` elsewhere (``--mockattr-base-url``).
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any


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
    time: float = 0.0


class Mockattr:
    """Drive a mockattr server: vendor URLs, state, seeds, the journal and faults."""

    def __init__(self, base_url: str, ca_bundle: str | None = None, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.ca_bundle = ca_bundle
        """Path of the CA certificate when the server speaks TLS, else None."""
        self.timeout = timeout
        self._context = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else None
        self._prefixes: dict[str, str] | None = None

    def _call(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: Any = None,
        ok: tuple[int, ...] = (200, 201),
    ) -> Any:
        query = urllib.parse.urlencode({k: v for k, v in (params or {}).items() if v is not None})
        url = f"{self.base_url}/__mockattr/{path}" + (f"?{query}" if query else "")
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            url, data=data, method=method, headers={"Content-Type": "application/json"} if data else {}
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout, context=self._context) as response:
                payload = response.read()
                status = response.status
        except urllib.error.HTTPError as err:
            payload, status = err.read(), err.code
        answer = json.loads(payload) if payload else None
        if status not in ok:
            message = answer.get("error", answer) if isinstance(answer, dict) else answer
            raise AdminError(f"{method} /__mockattr/{path} answered {status}: {message}")
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

    def seed(self, vendor: str, data: dict[str, Any], key: str | None = None) -> None:
        """Add customers / definitions / values in the fixtures' format (missing fields get defaults)
        to every tenant for the rest of the test, or only to the tenant of API key ``key``."""
        self._call("POST", "seed", {"vendor": vendor, "key": key}, data)

    def state(self, vendor: str, key: str | None = None) -> dict[str, Any]:
        """A tenant's world as plain data: ``key``'s, else the one the last request used, else the fixtures."""
        return self._call("GET", "state", {"vendor": vendor, "key": key})

    def requests(self, vendor: str | None = None, operation: str | None = None) -> list[RecordedRequest]:
        """The journal, oldest first, optionally of one vendor or one operation."""
        answer = self._call("GET", "requests", {"vendor": vendor, "operation": operation})
        return [RecordedRequest(**entry) for entry in answer["requests"]]

    def fail(
        self,
        vendor: str,
        operation: str | None,
        status: int | None = None,
        times: int = 1,
        retry_after: int | None = None,
        delay: float | None = None,
    ) -> None:
        """The next ``times`` calls of ``operation`` (None: any of the vendor's) wait ``delay`` seconds,
        then answer ``status`` with the vendor's error body (and ``Retry-After`` when given)."""
        fault = {
            "vendor": vendor,
            "operation": operation,
            "status": status,
            "times": times,
            "retry_after": retry_after,
            "delay": delay,
        }
        self._call("POST", "faults", body=fault)

    def clear_faults(self) -> None:
        """Drop the faults not yet used."""
        self._call("DELETE", "faults")
