"""pytest plugin: a live mockattr per test session, fresh state per test, journal, faults, TLS.

Installing mockattr registers it (entry point ``pytest11``). Fixtures:

- ``mockattr_server`` (session): the running server (``.url``, ``.ca_bundle``); ``with
  mockattr_server.fresh() as mock:`` gives a handle on fresh state inside one test or one Hypothesis
  example (a session fixture, so ``@given`` runs at its default settings).
- ``mockattr`` (function): a ``mockattr.testing.handle.Mockattr`` on it, every tenant back to the fixtures.
- ``mockattr_intercept`` (session, fresh for each test that takes it): ``mockattr.intercept()`` for the
  test: the vendors' real hostnames answered in-process (requests and httpx).

With ``--mockattr-tls`` (or ``--mockattr-ca-bundle``) the session's clients trust the mock with no code
in the tests: the plugin
writes a bundle of the CAs already trusted plus the mock's, and points ``REQUESTS_CA_BUNDLE``,
``SSL_CERT_FILE``, ``CURL_CA_BUNDLE`` and ``NODE_EXTRA_CA_CERTS`` at it for the session.

With ``--mockattr-base-url`` the session (each pytest-xdist worker) works in a namespace of its own on
that server (``/__ns/pytest-<worker>-<random>``), removed at the end: other runs and workers, with the
same credentials, neither see nor reset its state, journal or faults. The URL may name a ``mockattr
proxy``: the journal, strict mode and the coverage line then hold real traffic (reset empties the
journal; the vendor's state is its own).

Options: ``--mockattr-tls``, ``--mockattr-strict``, ``--mockattr-base-url URL``, ``--mockattr-report FILE``.
Marker: ``@pytest.mark.mockattr(strict=True|False, expect_rejections=True)``.
"""

from __future__ import annotations

import json
import os
import tempfile
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mockattr.testing.handle import Mockattr

COVERAGE_KEY = pytest.StashKey["Coverage"]()
WORKER_OUTPUT = "mockattr_coverage"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mockattr", "mockattr mock server")
    group.addoption(
        "--mockattr-tls",
        action="store_true",
        help="The session's mock server speaks HTTPS with a generated CA (mockattr.ca_bundle).",
    )
    group.addoption(
        "--mockattr-strict",
        action="store_true",
        help="Fail a test whose code sent a request that broke the contract, unless it expects rejections.",
    )
    group.addoption(
        "--mockattr-base-url",
        metavar="URL",
        help="Drive the mockattr server at URL (`mockattr serve`, or `mockattr proxy`) instead of starting one; "
        "the session (each xdist worker) gets a namespace of its own there, removed at the end.",
    )
    group.addoption(
        "--mockattr-ca-bundle",
        metavar="FILE",
        help="With --mockattr-base-url: the CA file of a `mockattr serve --tls` (it prints it).",
    )
    group.addoption(
        "--mockattr-admin-token",
        metavar="TOKEN",
        help="With --mockattr-base-url: the admin token of a `mockattr serve --admin-token` "
        "(env MOCKATTR_ADMIN_TOKEN).",
    )
    group.addoption(
        "--mockattr-report",
        metavar="FILE",
        help="Write which operations and documented error statuses the suite exercised, as JSON.",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "mockattr(strict=None, expect_rejections=False): strict contract checking for this test "
        "(True/False overrides --mockattr-strict); expect_rejections=True lets it send bad requests.",
    )
    config.stash[COVERAGE_KEY] = Coverage()
    _check_options(config)


def _check_options(config: pytest.Config) -> None:
    """Options that cannot work together, or a base URL that is none: a usage error at start."""
    external = config.getoption("--mockattr-base-url")
    if external is None:
        if config.getoption("--mockattr-ca-bundle") or config.getoption("--mockattr-admin-token"):
            raise pytest.UsageError("--mockattr-ca-bundle and --mockattr-admin-token go with --mockattr-base-url")
        return
    if config.getoption("--mockattr-tls"):
        raise pytest.UsageError(
            "--mockattr-tls starts a server: with --mockattr-base-url, start that one "
            "with `mockattr serve --tls` and pass --mockattr-ca-bundle"
        )
    parts = urllib.parse.urlsplit(external)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise pytest.UsageError(f"--mockattr-base-url {external!r} is not an http:// or https:// URL")


# --- the server and the handle ----------------------------------------------------------------


@dataclass
class MockattrServer:
    """The session's server: its base URL, its CA bundle (TLS only), and how to stop it."""

    url: str
    ca_bundle: str | None = None
    stop: Any = None
    runtime: Any = None
    """The server's ``Runtime`` when it runs in this process (None with --mockattr-base-url)."""
    coverage: Coverage | None = None
    admin_token: str | None = None

    def handle(self, expect_rejections: bool = False) -> MockattrHandle:
        """A handle on this server (state as it is: nothing is reset)."""
        handle = MockattrHandle(self.url, self.ca_bundle, admin_token=self.admin_token)
        handle.runtime, handle.expect_rejections = self.runtime, expect_rejections
        return handle

    strict: bool = False
    """--mockattr-strict: ``fresh()`` fails an example whose code broke the contract."""

    @contextmanager
    def fresh(self, expect_rejections: bool = False) -> Iterator[MockattrHandle]:
        """A handle with the ``mockattr`` fixture's API on state back to the fixtures, with no seeds, an
        empty journal and no faults; what it saw counts toward the session's coverage line, and the
        state is reset again on leaving. For one Hypothesis example: ``@given`` tests take this session
        fixture, not the function-scoped ``mockattr``. Under --mockattr-strict, leaving it raises
        AssertionError when the code broke the contract (unless ``expect_rejections``)."""
        handle = self.handle(expect_rejections)
        handle.reset()
        try:
            yield handle
            problems = strict_problems(handle) if self.strict else None
            if problems:
                raise AssertionError(problems)
        finally:
            if self.coverage is not None:
                self.coverage.record(handle.requests())
            handle.reset()


@pytest.fixture(scope="session")
def mockattr_server(pytestconfig: pytest.Config) -> Iterator[MockattrServer]:
    """A mockattr serving every vendor for the whole session (or the one at ``--mockattr-base-url``)."""
    coverage = pytestconfig.stash[COVERAGE_KEY]
    strict = bool(pytestconfig.getoption("--mockattr-strict"))
    external = pytestconfig.getoption("--mockattr-base-url")
    with tempfile.TemporaryDirectory(prefix="mockattr-session-") as folder:  # a CA and a trust bundle, if any
        if external:
            ca_bundle = pytestconfig.getoption("--mockattr-ca-bundle")
            worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
            token = pytestconfig.getoption("--mockattr-admin-token") or os.environ.get("MOCKATTR_ADMIN_TOKEN")
            server = Mockattr(external, ca_bundle, admin_token=token)
            session = server.namespace(f"pytest-{worker}-{uuid.uuid4().hex[:12]}")
            session.health()  # fail early and clearly when nothing answers
            try:
                with _trusted(ca_bundle, Path(folder)):
                    yield MockattrServer(
                        session.base_url, ca_bundle, coverage=coverage, admin_token=token, strict=strict
                    )
            finally:
                session.drop_namespace()
            return
        from mockattr.server.app import create_app
        from mockattr.server.runtime import runtime_of
        from mockattr.serving.werkzeug_server import start_background

        context, ca_bundle = None, None
        if pytestconfig.getoption("--mockattr-tls"):
            from mockattr.serving.tls import generate

            certificates = generate(Path(folder))
            context, ca_bundle = certificates.server_context(), str(certificates.ca_bundle)
        app = create_app()
        server = start_background(app, ssl_context=context)
        try:
            with _trusted(ca_bundle, Path(folder)):
                yield MockattrServer(server.url, ca_bundle, server.stop, runtime_of(app), coverage, strict=strict)
        finally:
            server.stop()


TRUST_VARIABLES = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS")
"""What clients read for the CAs to trust: requests, Python's ssl and httpx, curl, Node."""


@contextmanager
def _trusted(ca_bundle: str | None, folder: Path) -> Iterator[None]:
    """With ``ca_bundle``: every ``TRUST_VARIABLES`` names a bundle of the CAs trusted already (the files
    or folders ``REQUESTS_CA_BUNDLE`` and ``SSL_CERT_FILE`` name, else certifi's) plus ``ca_bundle``;
    restored after."""
    if ca_bundle is None:
        yield
        return
    import certifi

    named = [os.environ.get(name) for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")]
    sources = [Path(p) for p in dict.fromkeys(filter(None, named))] or [Path(certifi.where())]
    files = [f for p in sources for f in (sorted(p.iterdir()) if p.is_dir() else [p]) if f.is_file()]
    pems = [f.read_text(encoding="utf-8", errors="replace") for f in files]
    trusted = [pem.strip() for pem in pems if "-----BEGIN CERTIFICATE-----" in pem]
    bundle = folder / "trusted-and-mockattr.pem"
    bundle.write_text("\n".join([*trusted, Path(ca_bundle).read_text(encoding="utf-8")]), encoding="utf-8")
    saved = {name: os.environ.get(name) for name in TRUST_VARIABLES}
    os.environ.update({name: str(bundle) for name in TRUST_VARIABLES})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class MockattrHandle(Mockattr):
    """The ``mockattr`` fixture: a Mockattr handle that also knows whether its test expects rejections.
    On the plugin's own server it resets in-process, with no HTTP round trip (the per-test cost)."""

    expect_rejections: bool = False
    runtime: Any = None

    def reset(self) -> None:
        """Every tenant back to the fixtures; seeds, the journal and pending faults dropped (on the
        plugin's own server, every namespace with them)."""
        if self.runtime is None:
            super().reset()
        else:
            self.runtime.reset()
            self.runtime.namespaces.clear()


@pytest.fixture
def mockattr(mockattr_server: MockattrServer, request: pytest.FixtureRequest) -> Iterator[MockattrHandle]:
    """A handle on the session's server with every tenant back to the fixtures, no seeds, an empty
    journal and no faults; reset again after the test. A fixture that prepares state for a test should
    depend on this one, not on ``mockattr_server``, so it runs after the reset."""
    handle = mockattr_server.handle(bool(_marker_option(request.node, "expect_rejections")))
    handle.reset()
    yield handle
    request.config.stash[COVERAGE_KEY].record(handle.requests())
    handle.reset()


@pytest.fixture(scope="session")
def mockattr_intercept() -> Any:
    """``mockattr.intercept()`` for the tests that take it: the vendors' real hostnames answered in-process
    (requests and httpx), fresh for each test. It answers only while such a test runs (an autouse
    fixture starts and stops it), and it is session-scoped so that a ``@given`` test may take it at
    Hypothesis's default settings: ``with mockattr_intercept.fresh() as mock:`` per example."""
    from mockattr.testing.intercept import InterceptedMockattr

    return InterceptedMockattr.new()


@pytest.fixture(autouse=True)
def _mockattr_intercept_per_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """While a test that takes ``mockattr_intercept`` runs: its state fresh, its hosts answered; strict
    mode and the coverage line count its calls."""
    if "mockattr_intercept" not in request.fixturenames:
        yield
        return
    from mockattr.testing.intercept import intercept

    handle = request.getfixturevalue("mockattr_intercept")
    handle.expect_rejections = bool(_marker_option(request.node, "expect_rejections"))
    handle.reset()
    with intercept(handle=handle):
        yield
    request.config.stash[COVERAGE_KEY].record(handle.requests())
    handle.reset()


def _marker_option(item: pytest.Item, name: str) -> Any:
    """``name`` from the closest ``mockattr`` marker that sets it (function, then class, then module)."""
    for marker in item.iter_markers("mockattr"):
        if marker.kwargs.get(name) is not None:
            return marker.kwargs[name]
    return None


def _strict(item: pytest.Item) -> bool:
    strict = _marker_option(item, "strict")
    return bool(item.config.getoption("--mockattr-strict") if strict is None else strict)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Under strict mode, a test that passed fails when its code broke the contract, or (through
    ``mockattr proxy``) when the vendor's answers did."""
    result = yield
    funcargs = getattr(item, "funcargs", {})
    handle = funcargs.get("mockattr") or funcargs.get("mockattr_intercept")
    if isinstance(handle, Mockattr) and _strict(item):
        problems = strict_problems(handle)
        if problems:
            pytest.fail(problems, pytrace=False)
    return result


def strict_problems(handle: Any) -> str:
    """What strict mode fails a test for: requests that broke the contract (unless the handle expects
    rejections) and answers that did (drift, through a proxy); empty when nothing did."""
    entries = handle.requests()
    sections = {
        "requests broke the contract": [] if handle.expect_rejections else [(e, e.violations) for e in entries],
        "the vendor's answers broke the contract (drift)": [(e, e.drift) for e in entries],
    }
    return "\n".join(
        f"mockattr strict: {what}:\n  "
        + "\n  ".join(f"{e.method} {e.path} -> {e.status}: {'; '.join(found)}" for e, found in found_in if found)
        for what, found_in in sections.items()
        if any(found for _, found in found_in)
    )


# --- what the suite exercised -----------------------------------------------------------------


@dataclass
class Coverage:
    """Operations called, documented error statuses the mock answered, and error statuses answered by
    injected faults (``fail``), per vendor."""

    operations: dict[str, set[str]] = field(default_factory=dict)
    statuses: dict[str, set[int]] = field(default_factory=dict)
    injected: dict[str, set[int]] = field(default_factory=dict)

    def record(self, entries: list[Any]) -> None:
        for entry in entries:
            if entry.operation:
                self.operations.setdefault(entry.vendor, set()).add(entry.operation)
            if entry.status >= 400:
                seen = self.injected if entry.fault else self.statuses
                seen.setdefault(entry.vendor, set()).add(entry.status)

    def merge(self, data: dict[str, Any]) -> None:
        for name in ("operations", "statuses", "injected"):
            for vendor, values in data[name].items():
                getattr(self, name).setdefault(vendor, set()).update(values)

    def to_json(self) -> dict[str, Any]:
        return {
            name: {v: sorted(values) for v, values in getattr(self, name).items()}
            for name in ("operations", "statuses", "injected")
        }

    def report(self) -> dict[str, Any]:
        """Per vendor: operations called / all, documented error statuses the mock answered / all, what
        is missing, and the statuses answered by injected faults (apart: the mock did not decide them)."""
        from mockattr import VENDOR_IDS
        from mockattr.contract import load_contract

        vendors = {}
        for vendor in VENDOR_IDS:
            index = load_contract(vendor).index
            operations = [op["id"] for op in index["operations"]]
            documented = index.get("documented_error_statuses", {}).get("statuses") or sorted(
                {int(s) for op in index["operations"] for s in op["responses"] if int(s) >= 400}
            )
            called = self.operations.get(vendor, set())
            seen = self.statuses.get(vendor, set())
            vendors[vendor] = {
                "operations_called": [op for op in operations if op in called],
                "operations_not_called": [op for op in operations if op not in called],
                "operations_total": len(operations),
                "error_statuses_seen": [s for s in documented if s in seen],
                "error_statuses_not_seen": [s for s in documented if s not in seen],
                "error_statuses_total": len(documented),
                "undocumented_statuses_seen": sorted(seen - set(documented)),
                "injected_error_statuses": sorted(self.injected.get(vendor, set())),
            }
        return vendors

    def summary(self) -> str:
        parts = []
        for vendor, r in self.report().items():
            injected = r["injected_error_statuses"]
            parts.append(
                f"{vendor} {len(r['operations_called'])}/{r['operations_total']} operations, "
                f"{len(r['error_statuses_seen'])}/{r['error_statuses_total']} error statuses"
                + (f" (injected: {', '.join(map(str, injected))})" if injected else "")
            )
        return "mockattr: " + "; ".join(parts)


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # a pytest-xdist worker: hand the coverage to the controller
        workeroutput[WORKER_OUTPUT] = session.config.stash[COVERAGE_KEY].to_json()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist controller: merge a finished worker's coverage."""
    data = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT)
    if data:
        node.config.stash[COVERAGE_KEY].merge(data)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if hasattr(config, "workeroutput"):
        return
    coverage = config.stash[COVERAGE_KEY]
    if coverage.operations or coverage.statuses:
        terminalreporter.write_line(coverage.summary())
    report_file = config.getoption("--mockattr-report")
    if report_file:
        Path(report_file).write_text(json.dumps(coverage.report(), indent=2) + "\n", encoding="utf-8")
