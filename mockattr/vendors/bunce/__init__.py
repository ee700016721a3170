"""Bunce: bulk attribute values for customers, and attribute definitions (seed 003, vendor-facts.md).

State: attribute definitions (id, name, data_type) and customers, each with values by attribute id.
A request-level problem (the schema) is a 422 that changes nothing; a row-level problem (unknown
attribute, a value that does not fit its data type) skips that row, reports it, and saves the others.
"""

from __future__ import annotations

import base64
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mockattr.contract import Contract, check
from mockattr.contract.errors import ApiError
from mockattr.vendors import Call, Reply, Touched, Vendor

PROFILE_FIELDS = ("first_name", "last_name", "phone_no", "email")
DEFAULT_PER_PAGE = 20


# --- auth and errors -------------------------------------------------------------------------


def error_body(err: ApiError) -> dict[str, Any]:
    """``{"success": false, "message"}``; a 422 adds Laravel-style ``errors`` by field ("body" for the
    request body as a whole): the doc's 'details in an error object'."""
    body: dict[str, Any] = {"success": False, "message": err.message}
    if err.status == 422:
        body["errors"] = {err.param or "body": [err.message]}
    return body


def envelope(call: Call, operation: str, data: Any, **more: Any) -> dict[str, Any]:
    """Bunce's success envelope ``{"success": true, "message", "data"}``."""
    return {"success": True, "message": call.contract.index["messages"][operation], "data": data, **more}


def complete_seed(data: dict[str, Any]) -> dict[str, Any]:
    """A seed whose customers get empty profile fields, devices and values where it left them out."""
    blank = {
        "customer_id": None,
        "email": None,
        "first_name": None,
        "last_name": None,
        "phone_no": None,
        "devices": [],
        "attributes": {},
    }
    customers = [{**blank, **c} if isinstance(c, dict) else c for c in data.get("customers", [])]
    return {"attributes": [], **data, "customers": customers}


# --- state -----------------------------------------------------------------------------------


@dataclass
class BunceWorld:
    """One account: attribute definitions by (lower-case) id, customers in creation order, and the
    customers indexed by customer_id and by lower-case e-mail (both unique)."""

    contract: Contract
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)
    customers: list[dict[str, Any]] = field(default_factory=list)
    by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_email: dict[str, dict[str, Any]] = field(default_factory=dict)
    touched: Touched = field(default_factory=Touched)

    @classmethod
    def from_data(cls, data: dict[str, Any], contract: Contract) -> BunceWorld:
        """Build from fixture-shaped data; every stored value must fit a defined attribute."""
        world = cls(contract)
        world.merge(data)
        return world

    def merge(self, data: dict[str, Any]) -> None:
        """Add attributes (same id: replaced) and customers (same customer_id, else e-mail: replaced).
        ValueError, with nothing changed, when the result would break a rule: a customer with neither id
        nor e-mail, two customers with one id or e-mail, a value that fits no attribute."""
        scratch = BunceWorld(
            self.contract, {**self.attributes, **{a["id"].lower(): a for a in data.get("attributes", [])}}
        )
        replaced = {id(self.find(c["customer_id"], c["email"])) for c in data.get("customers", [])}
        for customer in [c for c in self.customers if id(c) not in replaced] + data.get("customers", []):
            who = customer["customer_id"] or customer["email"]
            if who is None:
                raise ValueError("a customer needs a customer_id or an email")
            if scratch.find(customer["customer_id"], customer["email"]) is not None:
                raise ValueError(f"customer {who}: another customer has the same customer_id or email")
            customer["attributes"] = {key.lower(): value for key, value in customer["attributes"].items()}
            for attribute_id, value in customer["attributes"].items():
                problem = scratch.value_problem(attribute_id, value)
                if problem:
                    raise ValueError(f"customer {who}: attributes.{attribute_id}: {value!r}: {problem}")
            scratch.add(customer)
        self.attributes, self.customers = scratch.attributes, scratch.customers
        self.by_id, self.by_email = scratch.by_id, scratch.by_email
        self.touched.note_all()

    def to_data(self) -> dict[str, Any]:
        """The world in the fixture file's shape."""
        return {"attributes": list(self.attributes.values()), "customers": self.customers}

    def add(self, customer: dict[str, Any]) -> None:
        self.customers.append(self.touched.note(customer))
        self.index(customer)

    def index(self, customer: dict[str, Any]) -> None:
        if customer["customer_id"] is not None:
            self.by_id[customer["customer_id"]] = customer
        if customer["email"] is not None:
            self.by_email[customer["email"].lower()] = customer

    def value_problem(self, attribute_id: str, value: str) -> str | None:
        """Why ``value`` cannot be saved for the attribute (a row_errors text from index.json), or None."""
        texts = self.contract.index["row_errors"]
        attribute = self.attributes.get(attribute_id.lower())
        if attribute is None:
            return texts["unknown_attribute"]
        data_type = attribute["data_type"]
        if check(self.contract.validator(f"common.json#/$defs/{data_type}"), value):
            return texts[data_type]
        if data_type == "timestamp":
            try:
                datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S")  # the schema held the rest
            except ValueError:
                return texts[data_type]
        return None

    def find(self, customer_id: str | None, email: str | None) -> dict[str, Any] | None:
        """The customer with that id, else with that e-mail (case-insensitive), if any."""
        found = self.by_id.get(customer_id) if customer_id is not None else None
        if found is None and email is not None:
            found = self.by_email.get(email.lower())
        return found

    def customer_for(self, row: dict[str, Any]) -> dict[str, Any] | str:
        """The row's customer, created when it does not exist (the mock's choice) and updated from a
        ``customer`` object; or why not (a row_errors text): its id and e-mail name two customers, or it
        would pass a limit (new customers, devices per customer)."""
        profile = row.get("customer", {})
        customer_id = row.get("customer_id", profile.get("customer_id"))
        email = row.get("customer_email", profile.get("email"))
        with_id = self.by_id.get(customer_id) if customer_id is not None else None
        with_email = self.by_email.get(email.lower()) if email is not None else None
        if (with_id is not None and with_email is not None and with_id is not with_email) or (
            with_id is None
            and with_email is not None
            and customer_id is not None
            and with_email["customer_id"] not in (None, customer_id)
        ):
            return self.contract.index["row_errors"]["customer_conflict"]
        customer = self.touched.note(with_id or with_email)
        limits = self.contract.index["limits"]
        held = {d["device_token"] for d in (customer or {}).get("devices", [])}
        added = {d["device_token"] for d in profile.get("devices", [])} - held
        if added and len(held) + len(added) > limits["devices_per_customer"]:
            return self.contract.index["row_errors"]["device_limit"].format(**limits)
        if customer is None and len(self.customers) >= limits["customers"]:
            return self.contract.index["row_errors"]["customer_limit"].format(**limits)
        if customer is None:
            customer = {
                "customer_id": customer_id,
                "email": email,
                "first_name": None,
                "last_name": None,
                "phone_no": None,
                "devices": [],
                "attributes": {},
            }
            self.add(customer)
        if customer["email"] is not None and email is not None and customer["email"].lower() != email.lower():
            del self.by_email[customer["email"].lower()]
        customer["customer_id"] = customer["customer_id"] or customer_id
        for name in PROFILE_FIELDS:
            if name in profile:
                customer[name] = profile[name]
        customer["email"] = email or customer["email"]
        self.index(customer)
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
        customer = world.customer_for(row) if problem is None else problem
        if isinstance(customer, str):
            errors[str(index)] = customer
            continue
        attribute_id = row["id"].lower()
        customer["attributes"][attribute_id] = row["value"]
        saved.append(
            {
                "row": index,
                "id": attribute_id,
                "customer_id": customer["customer_id"],
                "customer_email": customer["email"],
                "value": row["value"],
            }
        )
    return Reply(200, envelope(call, "set_values", {"saved": saved, "errors": errors}))


def attribute_create(call: Call) -> Reply:
    world: BunceWorld = call.world
    name = call.body["name"]
    if any(a["name"].lower() == name.lower() for a in world.attributes.values()):
        raise call.fail("duplicate_attribute", name=name)
    call.within_limit("attribute_definitions", len(world.attributes) + 1)
    attribute = {"id": str(uuid.uuid4()), "name": name, "data_type": call.body["data_type"]}
    world.attributes[attribute["id"]] = attribute
    return Reply(201, envelope(call, "attribute_create", attribute))


def _cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"at:{position}".encode()).decode()


def _position(cursor: str | None, call: Call) -> int:
    if cursor is None:
        return 0
    try:
        match = re.fullmatch(r"at:(0|[1-9][0-9]*)", base64.urlsafe_b64decode(cursor.encode()).decode("ascii"))
    except ValueError:
        match = None
    if match is None:
        raise call.fail("invalid_parameter", param="cursor", detail="not a cursor this server gave out")
    return int(match[1])


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


def usage(world: BunceWorld) -> dict[str, int]:
    devices = (len(customer["devices"]) for customer in world.customers)
    return {
        "customers": len(world.customers),
        "attribute_definitions": len(world.attributes),
        "devices_per_customer": max(devices, default=0),
    }


VENDOR = Vendor(
    id="bunce",
    error_body=error_body,
    new_world=BunceWorld.from_data,
    complete_seed=complete_seed,
    usage=usage,
    handlers={"set_values": set_values, "attribute_create": attribute_create, "attribute_list": attribute_list},
)
