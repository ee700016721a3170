"""Invisible Collector: customers and their flat attribute maps (seed 004, vendor-facts.md).

State: customers in creation order, each with its attributes. A path ``{id}`` names a customer by
``gid`` or by ``externalId``. Error bodies are flat ``{"code", "message"}``; only 409 adds ``gid``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from mockattr.contract import Contract
from mockattr.contract.errors import ApiError
from mockattr.vendors import Call, Reply, Touched, Vendor

CUSTOMER_FIELDS = ("name", "vatNumber", "address", "zipCode", "city", "country", "email", "mobile", "phone")


# --- auth and errors -------------------------------------------------------------------------


def error_body(err: ApiError) -> dict[str, Any]:
    """Flat ``{"code", "message"}`` plus, on a 409 only, the existing customer's ``gid``."""
    return {"code": err.status, "message": err.message, **err.extra}


SEED_DEFAULTS = {"name": "", "vatNumber": "999999990", "country": "PT"}
"""What a seeded customer gets where the seed leaves out a field the API always returns as a string (the
mock's choice: Portugal, where Invisible Collector works, and its "final consumer" VAT number)."""


def complete_seed(data: dict[str, Any]) -> dict[str, Any]:
    """A seed whose customers get a new gid, null optional fields, ``SEED_DEFAULTS`` and no attributes
    where it left them out."""
    customers = [
        {
            "gid": str(uuid.uuid4()),
            "externalId": None,
            **{name: None for name in CUSTOMER_FIELDS},
            **SEED_DEFAULTS,
            "attributes": {},
            **c,
        }
        if isinstance(c, dict)
        else c
        for c in data.get("customers", [])
    ]
    return {**data, "customers": customers}


# --- state -----------------------------------------------------------------------------------


@dataclass
class InvisibleCollectorWorld:
    """One account: its customers (API-shaped, plus ``attributes``)."""

    customers: list[dict[str, Any]]
    touched: Touched = field(default_factory=Touched)

    @classmethod
    def from_data(cls, data: dict[str, Any], contract: Contract) -> InvisibleCollectorWorld:
        """Build from fixture-shaped data (valid against fixture.json, which is all there is to check)."""
        world = cls([])
        world.merge(data)
        return world

    def merge(self, data: dict[str, Any]) -> None:
        """Add customers; one with the gid of an existing customer replaces it. ValueError, with nothing
        changed, when two customers would answer to one id (a gid or an externalId)."""
        merged = {customer["gid"]: customer for customer in self.customers}
        merged.update((customer["gid"], customer) for customer in data.get("customers", []))
        names: set[str] = set()
        for customer in merged.values():
            for name in {customer["gid"], customer["externalId"]} - {None}:
                if name in names:
                    raise ValueError(f"two customers answer to the id {name!r}")
                names.add(name)
        self.customers = list(merged.values())
        self.touched.note_all()

    def to_data(self) -> dict[str, Any]:
        """The world in the fixture file's shape."""
        return {"customers": self.customers}

    def find(self, id_or_external_id: str) -> dict[str, Any] | None:
        """The customer whose gid, or else externalId, is ``id_or_external_id``."""
        for key in ("gid", "externalId"):
            for customer in self.customers:
                if customer[key] == id_or_external_id:
                    return customer
        return None

    def customer(self, call: Call) -> dict[str, Any]:
        """The customer named by the path's ``{id}``, or 404."""
        found = self.touched.note(self.find(call.params["id"]))
        if found is None:
            raise call.fail("customer_not_found")
        return found


def public(customer: dict[str, Any]) -> dict[str, Any]:
    """The customer as the API returns it (without its attributes)."""
    return {key: value for key, value in customer.items() if key != "attributes"}


# --- handlers, one per operation id in schemas/invisible_collector/index.json ------------------


def attributes_set(call: Call) -> Reply:
    attributes = call.world.customer(call)["attributes"]
    call.within_limit("values_per_customer", len(attributes.keys() | call.body.keys()))
    attributes.update(call.body)
    return Reply(200, attributes)


def attributes_get(call: Call) -> Reply:
    return Reply(200, call.world.customer(call)["attributes"])


def customer_create(call: Call) -> Reply:
    world: InvisibleCollectorWorld = call.world
    external_id = call.body.get("externalId")
    if external_id is not None:
        existing = world.find(external_id)  # an externalId that is already some customer's gid collides too
        if existing is not None:
            raise call.fail("duplicate_customer", extra={"gid": existing["gid"]})
    call.within_limit("customers", len(world.customers) + 1)
    customer = {"gid": str(uuid.uuid4()), "externalId": external_id}
    customer.update({name: call.body.get(name) for name in CUSTOMER_FIELDS})
    customer["attributes"] = {}
    world.customers.append(world.touched.note(customer))
    return Reply(200, public(customer))


def customer_get(call: Call) -> Reply:
    return Reply(200, public(call.world.customer(call)))


def usage(world: InvisibleCollectorWorld) -> dict[str, int]:
    values = (len(customer["attributes"]) for customer in world.customers)
    return {"customers": len(world.customers), "values_per_customer": max(values, default=0)}


VENDOR = Vendor(
    id="invisible_collector",
    error_body=error_body,
    new_world=InvisibleCollectorWorld.from_data,
    complete_seed=complete_seed,
    usage=usage,
    handlers={
        "attributes_set": attributes_set,
        "attributes_get": attributes_get,
        "customer_create": customer_create,
        "customer_get": customer_get,
    },
)
