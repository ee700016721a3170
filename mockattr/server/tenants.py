"""Tenants and seeding: each credential's world per vendor, built from the fixtures and the seeds."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mockattr.contract import Contract, check, load_contract
from mockattr.server.durable import DurableStore
from mockattr.server.jsonio import dump_json
from mockattr.server.shared import SharedState
from mockattr.server.store import DEFAULT_MAX_TENANTS, TenantStore
from mockattr.vendors import FixtureError, Vendor, check_vendor, fresh_copy, load_fixture, load_vendor


class Tenants:
    """The served vendors (their modules, contracts and fixtures) and every tenant's world of each."""

    def __init__(
        self,
        vendor_ids: Iterable[str],
        *,
        fixtures_dir: Path | None = None,
        max_tenants: int = DEFAULT_MAX_TENANTS,
        state_file: Path | None = None,
        shared: SharedState | None = None,
    ) -> None:
        """With ``shared`` (``serve --workers``), the worlds are in its file (or ``state_file``), with which
        one a request used last, and the reset generations in ``shared``, for every worker to see."""
        self.vendors: dict[str, Vendor] = {}
        self.contracts: dict[str, Contract] = {}
        self.fixtures: dict[str, dict[str, Any]] = {}
        for vendor_id in vendor_ids:
            check_vendor(vendor_id, fixture=False)  # load_fixture, next, checks the fixture
            self.vendors[vendor_id] = load_vendor(vendor_id)
            contract = self.contracts[vendor_id] = load_contract(vendor_id)
            self.fixtures[vendor_id] = load_fixture(vendor_id, contract, fixtures_dir, self.vendors[vendor_id])
        self.shared, self.space = shared, ""
        self.store: TenantStore | DurableStore
        if shared is not None:  # the workers' worlds file is made (and namespaces use it) even beside a state file
            temporary = self._temporary_store(max_tenants)
            self.store = temporary if state_file is None else self._durable_store(state_file, max_tenants)
        elif state_file is None:
            self.store = TenantStore({vendor_id: self.seeder(vendor_id) for vendor_id in self.vendors}, max_tenants)
        else:
            self.store = self._durable_store(state_file, max_tenants)
        self.last_tenant: dict[str, str] = {}
        """Per vendor, the credential of the last request served (what ``state`` shows by default); with
        ``shared``, the store notes it instead (``DurableStore.last_world``)."""
        self._generation = 0
        self._seeding = threading.Lock()

    def _durable_store(self, path: Path, max_tenants: int) -> DurableStore:
        return DurableStore(
            path,
            self.new_world,
            self.stored_world,
            max_tenants,
            self.vendors,
            rebuild=self.written_world,
            track_last=self.shared is not None,
        )

    def _temporary_store(self, max_tenants: int, space: str = "") -> DurableStore:
        assert self.shared is not None
        return DurableStore(
            self.shared.worlds_path,
            self.new_world,
            self.stored_world,
            max_tenants,
            self.vendors,
            rebuild=self.written_world,
            durable=False,
            space=space,
            track_last=True,
        )

    @property
    def generation(self) -> int:
        """Counts resets: a request delayed across one must not touch the state or journal after it."""
        return self._generation if self.shared is None else self.shared.generation(self.space)

    def sibling(self, max_tenants: int, space: str) -> Tenants:
        """Tenants of the same vendors, fixtures and limits, with none yet and no seeds, at most
        ``max_tenants`` of them: a namespace's (``mockattr.server.runtime``), named ``space``; in memory,
        or with ``shared`` in its file."""
        sibling = copy.copy(self)
        sibling.space, sibling._generation, sibling._seeding = space, 0, threading.Lock()
        sibling.last_tenant = {}
        if self.shared is None:
            sibling.store = TenantStore({v: sibling.seeder(v) for v in self.vendors}, max_tenants)
        else:
            sibling.store = sibling._temporary_store(max_tenants, space)
        return sibling

    def seeder(self, vendor_id: str) -> Any:
        """A function building a new tenant's world of ``vendor_id``."""
        return lambda: self.new_world(vendor_id)

    def new_world(self, vendor_id: str, seeds: list[dict[str, Any]] | None = None) -> Any:
        """A world for one new tenant: the vendor's fixtures, then the seeds added since the last reset
        (or ``seeds``)."""
        world = self.vendors[vendor_id].new_world(fresh_copy(self.fixtures[vendor_id]), self.contracts[vendor_id])
        for data in self.store.seeds(vendor_id) if seeds is None else seeds:
            world.merge(fresh_copy(data))
        return world

    def stored_world(self, vendor_id: str, data: Any) -> Any:
        """A world from stored data (a state file's row); ValueError when it does not fit the vendor."""
        violation = check(self.contracts[vendor_id].validator("fixture.json"), data)
        if violation:
            raise ValueError(violation)
        return self.vendors[vendor_id].new_world(data, self.contracts[vendor_id])

    def written_world(self, vendor_id: str, data: Any) -> Any:
        """A world from data a server wrote (checked when it was served): not checked again."""
        return self.vendors[vendor_id].new_world(data, self.contracts[vendor_id])

    def reset(self) -> None:
        """Every tenant back to the fixtures, seeds dropped."""
        if self.shared is None:
            self._generation += 1
        else:
            self.shared.next_generation(self.space)
        self.store.reset()
        self.last_tenant.clear()

    def seed(self, vendor_id: str, data: Any, credential: str | None = None) -> None:
        """Add ``data`` (the fixture format; missing fields get defaults) to one tenant, or when
        ``credential`` is None to every tenant, present and future, until the next reset."""
        vendor, contract = self.vendors[vendor_id], self.contracts[vendor_id]
        if not isinstance(data, dict):
            raise FixtureError("seed data must be a JSON object in the fixture format")
        try:
            data = vendor.complete_seed(fresh_copy(data))
        except RecursionError as err:
            raise FixtureError(f"seed for {vendor_id}: nested too deep") from err
        violation = check(contract.validator("fixture.json"), data)
        if violation:
            raise FixtureError(f"seed for {vendor_id}: {violation}")

        def trial(world: Any) -> None:  # on a copy: the seed must fit every world before any takes it
            copy = vendor.new_world(fresh_copy(world.to_data()), contract)
            before = vendor.usage(copy)
            copy.merge(fresh_copy(data))
            self._within_limits(vendor_id, before, copy)

        try:
            with self._seeding:  # two seeds that each fit must not pass their trials together
                trial(self.new_world(vendor_id))  # a world made after the seed
                if credential is not None:
                    with self.store.world(vendor_id, credential) as world:
                        trial(world)
                        world.merge(data)
                    return
                self.store.each(vendor_id, trial)
                self.store.add_seed(vendor_id, data, lambda world, copy: world.merge(copy))
        except ValueError as err:
            raise FixtureError(f"seed for {vendor_id}: {err}") from err

    def _within_limits(self, vendor_id: str, before: dict[str, int], world: Any) -> None:
        """ValueError when ``world`` holds more of a thing than index.json's ``limits`` allow a tenant, and
        more than it held ``before`` (a limit stops growth: fixtures already past one stay usable)."""
        limits = self.contracts[vendor_id].index.get("limits", {})
        for name, count in self.vendors[vendor_id].usage(world).items():
            if count > limits[name] and count > before[name]:
                what = name.replace("_", " ")
                raise ValueError(f"the tenant would hold {count} {what}, past the limit of {limits[name]}")

    def state_json(self, vendor_id: str, credential: str | None) -> str:
        """A tenant's world as JSON: ``credential``'s, else the last one a request used, else fresh fixtures."""
        if credential is None and isinstance(self.store, DurableStore) and self.store.track_last:
            with self.store.last_world(vendor_id) as world:
                return dump_json((world if world is not None else self.new_world(vendor_id)).to_data())
        credential = credential or self.last_tenant.get(vendor_id)
        if credential is None:
            return dump_json(self.new_world(vendor_id).to_data())
        with self.store.world(vendor_id, credential) as world:
            return dump_json(world.to_data())
