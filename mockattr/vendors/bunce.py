"""Bunce: bulk attribute values for customers, and attribute definitions (seed 003, vendor-facts.md).

State: attribute definitions (id, name, data_type) and customers, each with values by attribute id.
A request-level problem (the schema) is a 422 that changes nothing; a row-level problem (unknown
attribute, a value that does not fit its data type) skips that row, reports it, and saves the others.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from werkzeug.wrappers import Request

from mockattr.contract import Contract, check
from mockattr.errors import ApiError
from mockattr.vendor import Call, Reply, Vendor

PROFILE_FIELDS = ("first_name", "last_name", "phone_no", "email")
DEFAULT_PER_PAGE = 20


# --- auth and errors -------------------------------------------------------------------------


def credential(request: Request) -> str | None:
    """``X-Authorization: <secret key>``; missing or blank is no credential."""
    return request.headers.get("X-Authorization", "").strip() or None


def error_body(err: ApiError) -> dict[str, Any]:
    """``{"success": false, "message"}``, with Laravel-style ``errors`` naming the field when there is one."""
    body: dict[str, Any] = {"success": False, "message": err.message}
    if err.param:
        body["errors"] = {err.param: [err.message]}
    return body


def envelope(call: Call, operation: str, data: Any, **more: Any) -> dict[str, Any]:
    """Bunce's success envelope ``{"success": true, "message", "data"}``."""
    return {"success": True, "message": call.contract.index["messages"][operation], "data": data, **more}


def complete_seed(data: dict[str, Any]) -> dict[str, Any]:
    """A seed whose customers get empty profile fields, devices and values where it left them out."""
    blank = {"customer_id": None, "email": None, "first_name": None, "last_name": None, "phone_no": None,
             "devices": [], "attributes": {}}
    customers = [{**blank, **c} if isinstance(c, dict) else c for c in data.get("customers", [])]
    return {"attributes": [], **data, "customers": customers}


# --- state -----------------------------------------------------------------------------------


@dataclass
class BunceWorld:
    """One account: attribute definitions by id, and customers in creation order."""

    contract: Contract
    attributes: dict[str, dict[str, str]]
    customers: list[dict[str, Any]]

    @classmethod
    def from_data(cls, data: dict[str, Any], contract: Contract) -> BunceWorld:
        """Build from fixture-shaped data; every stored value must fit a defined attribute."""
        world = cls(contract, {}, [])
        world.merge(data)
        return world

    def merge(self, data: dict[str, Any]) -> None:
        """Add attributes (same id: replaced) and customers (same customer_id, else e-mail: replaced).
        ValueError, with nothing changed, when a value names no attribute or does not fit its type."""
        attributes = {**self.attributes, **{a["id"]: a for a in data.get("attributes", [])}}
        scratch = BunceWorld(self.contract, attributes, [])
        for customer in data.get("customers", []):
            for attribute_id, value in customer["attributes"].items():
                problem = scratch.value_problem(attribute_id, value)
                if problem:
                    who = customer["customer_id"] or customer["email"]
                    raise ValueError(f"customer {who}: attributes.{attribute_id}: {value!r}: {problem}")
        self.attributes = attributes
        for customer in data.get("customers", []):
            existing = self.find(customer["customer_id"], customer["email"])
            if existing is None:
                self.customers.append(customer)
            else:
                self.customers[self.customers.index(existing)] = customer

    def to_data(self) -> dict[str, Any]:
        """The world in the fixture file's shape."""
        return {"attributes": list(self.attributes.values()), "customers": self.customers}

    def value_problem(self, attribute_id: str, value: str) -> str | None:
        """Why ``value`` cannot be saved for the attribute (a row_errors text from index.json), or None."""
        texts = self.contract.index["row_errors"]
        attribute = self.attributes.get(attribute_id)
        if attribute is None:
            return texts["unknown_attribute"]
        data_type = attribute["data_type"]
        if check(self.contract.validator(f"common.json#/$defs/{data_type}"), value):
            return texts[data_type]
        if data_type == "timestamp":
            try:
                datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
            except ValueError:
                return texts[data_type]
        return None

    def find(self, customer_id: str | None, email: str | None) -> dict[str, Any] | None:
        """The customer with that id (first) or e-mail (case-insensitive), if any."""
        for customer in self.customers:
            if customer_id is not None and customer["customer_id"] == customer_id:
                return customer
        if email is not None:
            for customer in self.customers:
                if (customer["email"] or "").lower() == email.lower():
                    return customer
        return None

    def customer_for(self, row: dict[str, Any]) -> dict[str, Any]:
        """The row's customer; created when it does not exist (the mock's choice), updated from a ``customer``."""
        profile = row.get("customer", {})
        customer_id = row.get("customer_id", profile.get("customer_id"))
        email = row.get("customer_email", profile.get("email"))
        customer = self.find(customer_id, email)
        if customer is None:
            customer = {"customer_id": customer_id, "email": email, "first_name": None, "last_name": None,
                        "phone_no": None, "devices": [], "attributes": {}}
            self.customers.append(customer)
        if "customer_id" in profile:
            customer["customer_id"] = profile["customer_id"]
        for name in PROFILE_FIELDS:
            if name in profile:
                customer[name] = profile[name]
        devices = {d["device_token"]: d for d in customer["devices"]}
        devices.update({d["device_token"]: dict(d) for d in profile.get("devices", [])})
        customer["devices"] = list(devices.values())
        return customer


# --- handlers, one per operation id in schemas/bunce/index.json --------------------------------


def set_values(call: Call) -> Reply:
    world: BunceWorld = call.world
    saved: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    for index, row in enumerate(call.body["attributes"]):
        problem = world.value_problem(row["id"], row["value"])
        if problem:
            errors[str(index)] = problem
            continue
        customer = world.customer_for(row)
        customer["attributes"][row["id"]] = row["value"]
        saved.append({"row": index, "id": row["id"], "customer_id": customer["customer_id"],
                      "customer_email": customer["email"], "value": row["value"]})
    return Reply(200, envelope(call, "set_values", {"saved": saved, "errors": errors}))


def attribute_create(call: Call) -> Reply:
    world: BunceWorld = call.world
    name = call.body["name"]
    if any(a["name"].lower() == name.lower() for a in world.attributes.values()):
        raise call.fail("duplicate_attribute", name=name)
    attribute = {"id": str(uuid.uuid4()), "name": name, "data_type": call.body["data_type"]}
    world.attributes[attribute["id"]] = attribute
    return Reply(201, envelope(call, "attribute_create", attribute))


def _cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"at:{position}".encode()).decode()


def _position(cursor: str | None, call: Call) -> int:
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if text.startswith("at:") and int(text[3:]) >= 0:
            return int(text[3:])
    except ValueError:
        pass
    raise call.fail("invalid_parameter", param="cursor", detail="not a cursor this server gave out")


def attribute_list(call: Call) -> Reply:
    world: BunceWorld = call.world
    per_page = int(call.query.get("per_page", DEFAULT_PER_PAGE))
    start = _position(call.query.get("cursor"), call)
    attributes = list(world.attributes.values())
    end = start + per_page
    meta = {
        "has_next_page": end < len(attributes),
        "has_prev_page": start > 0,
        "next_page_cursor": _cursor(end) if end < len(attributes) else None,
        "prev_page_cursor": _cursor(max(start - per_page, 0)) if start > 0 else None,
        "per_page": per_page,
    }
    return Reply(200, envelope(call, "attribute_list", attributes[start:end], meta=meta))


VENDOR = Vendor(
    id="bunce",
    credential=credential,
    error_body=error_body,
    new_world=BunceWorld.from_data,
    complete_seed=complete_seed,
    handlers={"set_values": set_values, "attribute_create": attribute_create, "attribute_list": attribute_list},
)
