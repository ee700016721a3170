"""In-memory state: one world per (vendor, credential), seeded from the fixtures on first use."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class _Tenant:
    world: Any
    lock: threading.Lock = field(default_factory=threading.Lock)


class TenantStore:
    """Every tenant's world. A request holds its tenant's lock from first read to response body, so
    concurrent requests never lose an update and never see half of one."""

    def __init__(self, seeders: dict[str, Callable[[], Any]]) -> None:
        """``seeders[vendor]()`` builds a fresh world from that vendor's fixtures."""
        self._seeders = seeders
        self._tenants: dict[tuple[str, str], _Tenant] = {}
        self._lock = threading.Lock()

    def _tenant(self, vendor: str, credential: str) -> _Tenant:
        key = (vendor, credential)
        tenant = self._tenants.get(key)
        if tenant is None:
            with self._lock:
                tenant = self._tenants.get(key)
                if tenant is None:
                    tenant = self._tenants[key] = _Tenant(self._seeders[vendor]())
        return tenant

    @contextmanager
    def world(self, vendor: str, credential: str) -> Iterator[Any]:
        """The tenant's world, locked for the duration of the ``with`` block."""
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

    def reset(self) -> None:
        """Every tenant back to the fixtures (worlds are rebuilt on next use)."""
        with self._lock:
            self._tenants = {}

    def tenant_count(self) -> int:
        """How many tenants have a world now."""
        return len(self._tenants)


def fresh_copy(data: Any) -> Any:
    """A deep copy of fixture data, so no world shares a mutable object with another."""
    return copy.deepcopy(data)
