"""A server under test, seen from outside: vendor base URLs, each vendor's auth header, and requests
as a client sends them (also written out as curl commands for reports)."""

from __future__ import annotations

import json
import shlex
import urllib.parse
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests

from mockattr.contract.admin_api import ADMIN_TOKEN_HEADER, NAMESPACE_PREFIX, admin_path
from mockattr.contract.auth import vendor_client_headers
from mockattr.strategies import NO_BODY, GeneratedRequest


@dataclass
class Sent:
    """A request as sent and the answer."""

    method: str
    url: str
    headers: dict[str, str]
    body: Any
    status: int
    text: str

    def json(self) -> Any:
        return json.loads(self.text) if self.text else None

    def curl(self) -> str:
        """The request as a curl command."""
        parts = ["curl", "-X", self.method, self.url]
        for name, value in self.headers.items():
            parts += ["-H", f"{name}: {value}"]
        if self.body is not NO_BODY:
            parts += ["--data-raw", json.dumps(self.body)]
        return shlex.join(parts)


@dataclass
class Target:
    """The server at ``base_url``; vendor prefixes from its ``/__mockattr/health``, else ``/<vendor>``
    (or the root, with ``root_vendor``, e.g. a proxy in front of one vendor's sandbox)."""

    base_url: str
    root_vendor: str | None = None
    api_key: str | None = None
    """Send this key; None: a new key (so a fresh mockattr tenant) for every ``new_key()``."""
    verify: str | bool = True
    session: requests.Session = field(default_factory=requests.Session)
    admin_token: str | None = None
    """Sent as ``X-Mockattr-Admin-Token`` on admin calls (a server started with ``--admin-token``)."""

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.admin = {ADMIN_TOKEN_HEADER: self.admin_token} if self.admin_token else {}
        self.prefixes: dict[str, str] = {}
        self.is_mock = False
        """A mockattr mock (not a proxy, not another server): its answers are held to the strict level."""
        self.problem: str | None = None
        """Why the server cannot be checked at all (unreachable, untrusted certificate), if so."""
        self.namespace: str | None = None
        """The namespace this run works in on a mockattr server (``base_url`` includes it)."""
        self.server_url = self.base_url
        """``base_url`` without the namespace."""
        try:
            health = self.session.get(self.base_url + admin_path("health"), timeout=10, verify=self.verify)
            if health.status_code == 200:
                self.prefixes = health.json().get("vendors", {})
                self.is_mock = bool(self.prefixes) and not health.json().get("upstreams")
                if self.prefixes:
                    self._enter_namespace()
        except requests.exceptions.SSLError as err:
            self.problem = f"TLS: {err} (an https server of mockattr's: pass the CA it printed)"
        except requests.ConnectionError as err:
            self.problem = f"cannot connect to {self.base_url}: {err}"
        except (requests.RequestException, ValueError):
            pass

    def _enter_namespace(self) -> None:
        """On a mockattr server, work in a namespace of this run's own (removed by ``close``), so the
        run's tenants and journal entries neither crowd out nor mix with other users'."""
        name = f"check-{uuid.uuid4().hex[:12]}"
        url = f"{self.base_url}{NAMESPACE_PREFIX}{name}"
        answer = self.session.get(url + admin_path("health"), timeout=10, verify=self.verify)
        if answer.status_code == 200 and answer.json().get("namespace") == name:
            self.server_url, self.base_url, self.namespace = self.base_url, url, name

    def close(self) -> None:
        """Remove this run's namespace from the server (its tenants, journal entries and faults)."""
        if self.namespace is not None:
            self.session.delete(
                self.base_url + admin_path("namespace"), headers=self.admin, timeout=10, verify=self.verify
            )
            self.namespace = None

    def vendor_url(self, vendor: str) -> str:
        if vendor in self.prefixes:
            return self.base_url + self.prefixes[vendor]
        return self.base_url if self.root_vendor == vendor else f"{self.base_url}/{vendor}"

    def new_key(self) -> str:
        """A new key, so a fresh mockattr tenant; with a fixed ``api_key`` on a mockattr server, that
        key's tenant is reset to the fixtures instead (other servers keep its state: checks may fail)."""
        if self.api_key is None:
            return f"mockattr-check-{uuid.uuid4()}"
        if self.prefixes:
            self.session.post(
                self.base_url + admin_path("reset"),
                params={"key": self.api_key},
                headers=self.admin,
                timeout=10,
                verify=self.verify,
            )
        return self.api_key

    def send(self, request: GeneratedRequest, key: str) -> Sent:
        """Send a generated request with ``key``."""
        url = self.vendor_url(request.vendor) + request.path()
        return self.call(request.vendor, request.method(), url, key, request.body, request.query)

    def call(
        self, vendor: str, method: str, url: str, key: str, body: Any = NO_BODY, query: dict[str, str] | None = None
    ) -> Sent:
        """Send ``body`` as JSON (``None`` is sent as ``null``; ``NO_BODY`` sends none)."""
        headers = vendor_client_headers(vendor, key)
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None
        if body is not NO_BODY:
            headers = {**headers, "Content-Type": "application/json"}
            data = json.dumps(body, allow_nan=False).encode()
        response = self.session.request(method, url, headers=headers, data=data, timeout=30, verify=self.verify)
        return Sent(method, url, headers, body, response.status_code, response.text)
