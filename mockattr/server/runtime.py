"""The running mock, composed: tenants, the request pipeline, the journal, faults, and where each vendor
is served. Each piece has one job (``tenants``, ``pipeline``, ``rendering``); this holds them together for
the router and the admin API.

A namespace is a runtime of its own on the same server, selected by the path prefix ``/__ns/<name>``:
its own tenants, seeds, journal and faults, sharing the vendors, contracts and fixtures. A shared server
gives each test run (each pytest-xdist worker, each CI job) one, so none resets or faults another."""

from __future__ import annotations

import copy
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path

from flask import Flask

from mockattr.contract.admin_api import is_admin_path
from mockattr.server.faults import FaultPlan
from mockattr.server.journal import Journal
from mockattr.server.pipeline import MAX_BODY_BYTES, RequestPipeline
from mockattr.server.proxy import BODY_LIMIT, Forwarder, ProxySettings
from mockattr.server.rendering import ErrorRenderer
from mockattr.server.shared import SharedFaultPlan, SharedJournal, SharedState
from mockattr.server.store import DEFAULT_MAX_TENANTS
from mockattr.server.tenants import Tenants

NAMESPACE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
"""What a namespace may be called."""
RUNTIME_ENVIRON_KEY = "mockattr.runtime"
"""The WSGI environ key of the runtime a request's namespace selected (the admin API reads it)."""
NAMESPACE_MAX_TENANTS = 200
"""Tenants a namespace keeps at most (the server's --max-tenants, if lower): past it the least recently used
goes, so 100 namespaces cannot hold 100 times the server's tenants."""
MAX_NAMESPACES = 100
"""Namespaces kept; a new one past this drops the least recently used (as tenants are dropped)."""


class Runtime:
    """The served vendors with their tenants, the pipeline that serves them, the journal and faults; with
    ``proxy``, the pipeline forwards to the vendors (``mockattr.server.proxy``) and the tenants stay unused."""

    def __init__(
        self,
        vendor_ids: Iterable[str],
        *,
        root_vendor: str | None = None,
        fixtures_dir: Path | None = None,
        api_keys: Iterable[str] | None = None,
        max_tenants: int = DEFAULT_MAX_TENANTS,
        state_file: Path | None = None,
        logger: logging.Logger | None = None,
        proxy: ProxySettings | None = None,
        admin_token: str | None = None,
        journal: bool = True,
        shared: SharedState | None = None,
    ) -> None:
        self.tenants = Tenants(
            vendor_ids, fixtures_dir=fixtures_dir, max_tenants=max_tenants, state_file=state_file, shared=shared
        )
        self.shared = shared
        """With ``serve --workers``, what the workers share: tenants, journal, faults, namespaces."""
        self.vendors, self.contracts = self.tenants.vendors, self.tenants.contracts
        self.root_vendor = root_vendor
        self.api_keys = frozenset(api_keys) if api_keys else None
        self.admin_token = admin_token
        """With a token, the admin API (but health) needs it, or a tenant's own credential for its own
        tenant (``mockattr.server.admin``); None: the admin API is open (a loopback server)."""
        self.journal, self.faults = self._journal_and_faults("", journal)
        self.renderer = ErrorRenderer(self.vendors, self.contracts, logger or logging.getLogger("mockattr"))
        self.upstreams = dict(proxy.upstreams) if proxy else {}
        """Each vendor's upstream URL when this is a proxy; empty for the mock."""
        self.forwarder = Forwarder(proxy, self.contracts, self.renderer, self.prefix) if proxy else None
        self.pipeline = RequestPipeline(
            self.tenants,
            self.renderer,
            self.journal,
            self.faults,
            self.api_keys,
            forward=self.forwarder,
            body_limit=BODY_LIMIT if proxy else MAX_BODY_BYTES,
        )

        self.namespace_name: str | None = None
        """This runtime's namespace; None for the server's own (the default namespace)."""
        self.namespaces = Namespaces(self)

    def _journal_and_faults(
        self, space: str, enabled: bool
    ) -> tuple[Journal | SharedJournal, FaultPlan | SharedFaultPlan]:
        """A runtime's journal and fault plan: in memory, or with ``shared`` in its file (``space``)."""
        if self.shared is None:
            return Journal(enabled=enabled), FaultPlan()
        return SharedJournal(self.shared, space, enabled), SharedFaultPlan(self.shared, space)

    def in_namespace(self, name: str) -> Runtime:
        """A runtime for namespace ``name``: no tenants, seeds, journal entries or faults yet (or, with
        ``shared``, those the workers have given it)."""
        child = copy.copy(self)
        child.tenants = self.tenants.sibling(min(NAMESPACE_MAX_TENANTS, self.tenants.store.max_tenants), name)
        child.journal, child.faults = self._journal_and_faults(name, self.journal.enabled)
        child.pipeline = RequestPipeline(
            child.tenants,
            self.renderer,
            child.journal,
            child.faults,
            self.api_keys,
            forward=self.forwarder,
            body_limit=self.pipeline.body_limit,
        )
        child.namespace_name = name
        return child

    def reset(self) -> None:
        """Every tenant back to the fixtures; seeds, journal and pending faults dropped."""
        self.tenants.reset()
        self.journal.clear()
        self.faults.clear()

    def prefix(self, vendor_id: str) -> str:
        """The URL path under which ``vendor_id`` is served: ``/<vendor id>``, or the root."""
        return "" if vendor_id == self.root_vendor else f"/{vendor_id}"

    def vendor_for_path(self, path: str) -> str | None:
        """Which vendor a request path belongs to, if any (for error bodies of unrouted requests)."""
        if is_admin_path(path):
            return None
        if self.root_vendor:
            return self.root_vendor
        first = path.lstrip("/").split("/", 1)[0]
        return first if first in self.vendors else None


class Namespaces:
    """The namespaces of one server, made on first use; the least recently used goes past ``MAX_NAMESPACES``.
    With ``root.shared`` (``serve --workers``) every worker sees the same ones: each keeps a runtime per
    name, whose state is in the shared file, and the names and their use are in the file too."""

    def __init__(self, root: Runtime) -> None:
        self.root = root
        self._runtimes: OrderedDict[str, Runtime] = OrderedDict()
        self._touched: dict[str, float] = {}
        """With ``shared``: when this worker last noted each namespace as used (at most once a second)."""
        self._lock = threading.Lock()

    def get(self, name: str) -> Runtime:
        """Namespace ``name``'s runtime, made now if it is new (``name`` matches ``NAMESPACE_NAME``)."""
        with self._lock:
            runtime = self._runtimes.get(name)
            if runtime is None:
                runtime = self._runtimes[name] = self.root.in_namespace(name)
                while len(self._runtimes) > MAX_NAMESPACES:
                    self._runtimes.popitem(last=False)
            self._runtimes.move_to_end(name)
        shared = self.root.shared
        if shared is not None and time.monotonic() - self._touched.get(name, -1.0) >= 1.0:
            self._touched[name] = time.monotonic()
            for gone in shared.touch_namespace(name, MAX_NAMESPACES):
                self._forget_worlds(gone)
        return runtime

    def drop(self, name: str) -> bool:
        """Forget namespace ``name``: its tenants, seeds, journal and faults; whether it existed."""
        with self._lock:
            existed = self._runtimes.pop(name, None) is not None
            self._touched.pop(name, None)
        if self.root.shared is None:
            return existed
        self._forget_worlds(name)
        return self.root.shared.drop_namespace(name)

    def _forget_worlds(self, name: str) -> None:
        """Empty a shared namespace's worlds and seeds (every worker's runtime for it reads them there)."""
        with self._lock:
            self._runtimes.pop(name, None)
            self._touched.pop(name, None)
        self.root.tenants.sibling(1, name).store.reset()

    def clear(self) -> None:
        """Forget every namespace this process made (the plugin's, whose server is in process)."""
        with self._lock:
            self._runtimes.clear()
            self._touched.clear()

    def names(self) -> list[str]:
        """The namespaces, least recently used first."""
        if self.root.shared is not None:
            return self.root.shared.namespace_names()
        with self._lock:
            return list(self._runtimes)


def runtime_of(app: Flask) -> Runtime:
    """The Runtime behind an app made by ``create_app``."""
    return app.extensions["mockattr"]
