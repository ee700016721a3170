"""Test helpers: a client that calls operations by id and checks every answer against the contract."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import urllib.parse
from dataclasses import dataclass, field
from functools import partial
from typing import IO, Any

import requests

from mockattr import VENDOR_IDS
from mockattr.contract import Contract, check, load_contract
from mockattr.contract.auth import vendor_client_headers
from mockattr.strategies import state_reads

AUTH_HEADERS = {vendor: partial(vendor_client_headers, vendor) for vendor in VENDOR_IDS}
"""How a client of each vendor sends a key: ``AUTH_HEADERS[vendor](key)``."""


def fixture_read(vendor: str) -> str:
    """A read that succeeds on a tenant fresh from the fixtures (the first that shows the vendor's state):
    its path below the vendor's prefix, with its query."""
    read = state_reads(vendor, next(iter(_contract(vendor).operations)))[0]
    return read.path() + (f"?{urllib.parse.urlencode(read.query)}" if read.query else "")


basic = AUTH_HEADERS["chartmogul"]
"""ChartMogul's auth header for a key."""


@dataclass
class VendorClient:
    """Calls one vendor's operations over HTTP, the way a client does.

    Every answer is checked: its status must be one the index lists for the operation, and its body
    must validate against that status's schema at the strict level, exactly what the mock may send (or be
    empty where the index says no body).
    """

    vendor: str
    base_url: str
    key: str = "test-key"
    contract: Contract = field(init=False)

    def __post_init__(self) -> None:
        self.contract = _contract(self.vendor)
        self.session = requests.Session()

    def url(self, operation_id: str, **path_params: str) -> str:
        return self.base_url + self.contract.operations[operation_id].path.format(**path_params)

    def headers(self, key: str | None = None) -> dict[str, str]:
        return AUTH_HEADERS[self.vendor](self.key if key is None else key)

    def call(
        self,
        operation_id: str,
        body: Any = None,
        *,
        raw: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        key: str | None = None,
        fault: bool = False,
        **path_params: str,
    ) -> requests.Response:
        """Send ``body`` as JSON (or ``raw`` bytes) to the operation and check the answer."""
        operation = self.contract.operations[operation_id]
        sent = {**self.headers(key), **(headers or {})}
        response = self.session.request(
            operation.method,
            self.url(operation_id, **path_params),
            json=body if raw is None else None,
            data=raw,
            headers=sent,
            timeout=10,
        )
        self.assert_conforms(operation_id, response, fault)
        return response

    def assert_conforms(self, operation_id: str, response: requests.Response, fault: bool = False) -> None:
        """Status listed for the operation (or, with ``fault``, one of the vendor's documented error
        statuses), version header, body fitting the status's schema."""
        operation = self.contract.operations[operation_id]
        documented = self.contract.index["documented_error_statuses"]["statuses"] if fault else []
        assert response.status_code in operation.responses or response.status_code in documented, (
            f"{operation_id} answered {response.status_code}, which index.json does not list: {response.text}"
        )
        assert response.headers.get("X-Mockattr-Version"), "every response carries X-Mockattr-Version"
        if response.status_code in operation.responses:
            validator = operation.responses[response.status_code]
        else:  # an injected fault: the vendor's error body
            validator = self.contract.validator("error.json", strict=True)
        if validator is None:
            assert response.content == b"", f"{operation_id} {response.status_code} must have no body"
            return
        assert response.headers["Content-Type"].startswith("application/json")
        violation = check(validator, response.json())
        assert violation is None, f"{operation_id} {response.status_code} breaks its schema: {violation}"

    def state(self, key: str | None = None) -> dict[str, Any]:
        """The tenant's world through the admin API."""
        root = self.base_url.rsplit("/", 1)[0] if self.base_url.endswith(f"/{self.vendor}") else self.base_url
        response = self.session.get(
            f"{root}/__mockattr/state", params={"vendor": self.vendor}, headers=self.headers(key), timeout=10
        )
        assert response.status_code == 200, response.text
        return response.json()


_CONTRACTS: dict[str, Contract] = {}


def _contract(vendor: str) -> Contract:
    if vendor not in _CONTRACTS:
        _CONTRACTS[vendor] = load_contract(vendor, strict=True)
    return _CONTRACTS[vendor]


def assert_error(response: requests.Response, status: int, param: Any = ..., message: str | None = None) -> dict:
    """The response is ``status`` with ChartMogul's error body (and that param / message, when given)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == status
    if param is not ...:
        assert body["param"] == param, body
    if message is not None:
        assert message in body["message"], body
    return body


def start_serve(*args: str, log: IO[bytes] | None = None) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """Start ``mockattr serve --port 0 ARGS`` as a newcomer would, its stderr into ``log``; read what it
    prints: each vendor's URL, ``admin``, ``CA certificate`` (with --tls), and the base URL under ``base``."""
    log = log or tempfile.TemporaryFile()  # not a pipe: a long test's request log would fill it and stall the server
    process = subprocess.Popen(
        [sys.executable, "-m", "mockattr", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    assert process.stdout is not None
    urls = {"base": process.stdout.readline().split()[-1]}
    for line in process.stdout:
        if line.startswith("  "):
            urls[line[:22].strip()] = line[22:].strip().rstrip("/")
        if "admin" in urls:
            return process, urls
    log.seek(0)
    raise AssertionError(f"serve printed no URLs: {log.read().decode(errors='replace')}")


class ServeProcesses:
    """``mockattr serve`` processes started by one test (``start_serve``), killed at its end."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[str]] = []
        self.logs: dict[int, IO[bytes]] = {}

    def start(self, *args: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
        log = tempfile.TemporaryFile()
        process, urls = start_serve(*args, log=log)
        self.processes.append(process)
        self.logs[process.pid] = log
        return process, urls

    def stderr(self, process: subprocess.Popen[str]) -> str:
        """What ``process`` has written to its stderr so far."""
        log = self.logs[process.pid]
        log.seek(0)
        return log.read().decode(errors="replace")

    def kill_all(self) -> None:
        for process in self.processes:
            process.kill()
            process.wait(10)


def serve_fails(*args: str) -> str:
    """``mockattr serve --port 0 ARGS`` must stop at start with a clear error (no traceback): its stderr."""
    result = subprocess.run(
        [sys.executable, "-m", "mockattr", "serve", "--port", "0", *args], capture_output=True, text=True, timeout=30
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    return result.stderr
