"""In-memory state: one world per (vendor, credential), seeded from the fixtures on first use.

``TenantStore`` here and ``mockattr.server.durable.DurableStore`` (one SQLite file) answer the same calls; the
runtime uses one of them."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from mockattr.vendors import fresh_copy


@dataclass
class _Tenant:
    world: Any
    lock: threading.Lock = field(default_factory=threading.Lock)


DEFAULT_MAX_TENANTS = 1_000


class TenantLimit(Exception):
    """A new tenant was refused: the store holds ``max_tenants`` already (durable mode)."""


class TenantStore:
    """Every tenant's world. A request holds its tenant's lock from first read to response body, so
    concurrent requests never lose an update and never see half of one.

    At most ``max_tenants`` worlds are kept: a new tenant past that drops the least recently used one
    (the mock's choice for in-memory state), whose next request starts again from the fixtures. So a
    flood of new API keys cannot grow memory without bound."""

    may_wait = False
    """Whether a request may wait on the store (it never does: memory, and locks held only briefly)."""

    def __init__(self, seeders: dict[str, Callable[[], Any]], max_tenants: int = DEFAULT_MAX_TENANTS) -> None:
        """``seeders[vendor]()`` builds a fresh world from that vendor's fixtures."""
        self._seeders = seeders
        self.max_tenants = max_tenants
        self._seeds: dict[str, list[dict[str, Any]]] = {}
        self._tenants: OrderedDict[tuple[str, str], _Tenant] = OrderedDict()
        self._lock = threading.Lock()

    def _tenant(self, vendor: str, credential: str) -> _Tenant:
        key = (vendor, credential)
        with self._lock:
            tenant = self._tenants.get(key)
            if tenant is not None:
                self._tenants.move_to_end(key)
                return tenant
        world = self._seeders[vendor]()  # built outside the store's lock: it may take a while
        with self._lock:
            tenant = self._tenants.setdefault(key, _Tenant(world))
            self._tenants.move_to_end(key)
            while len(self._tenants) > self.max_tenants:
                self._tenants.popitem(last=False)
        return tenant

    @contextmanager
    def world(self, vendor: str, credential: str, served: bool = False) -> Iterator[Any]:
        """The tenant's world, locked for the duration of the ``with`` block (``served``: for a vendor
        request; the durable store may note it)."""
        tenant = self._tenant(vendor, credential)
        with tenant.lock:
            yield tenant.world

    def each(self, vendor: str, change: Callable[[Any], None]) -> None:
        """Apply ``change`` to every existing world of ``vendor``, each under its tenant's lock."""
        with self._lock:
            tenants = [t for (v, _), t in self._tenants.items() if v == vendor]
        for tenant in tenants:
            with tenant.lock:
                change(tenant.world)

    def seeds(self, vendor: str) -> list[dict[str, Any]]:
        """The seeds every new world of ``vendor`` gets, oldest first (fixture-shaped data)."""
        return self._seeds.get(vendor, [])

    def add_seed(self, vendor: str, data: dict[str, Any], apply: Callable[[Any, dict[str, Any]], None]) -> None:
        """Keep ``data`` for every future world of ``vendor`` and ``apply`` it to every existing one."""
        with self._lock:
            self._seeds.setdefault(vendor, []).append(data)
        self.each(vendor, lambda world: apply(world, fresh_copy(data)))

    def reset(self) -> None:
        """Every tenant back to the fixtures (worlds are rebuilt on next use), seeds dropped."""
        with self._lock:
            self._tenants = OrderedDict()
            self._seeds = {}

    def drop(self, credential: str, vendor: str | None = None) -> None:
        """Forget every world of one credential, or its world of ``vendor`` (its next request starts from
        the fixtures)."""
        with self._lock:
            for key in [key for key in self._tenants if key[1] == credential and vendor in (None, key[0])]:
                del self._tenants[key]

    def tenant_count(self) -> int:
        """How many tenants have a world now."""
        return len(self._tenants)
