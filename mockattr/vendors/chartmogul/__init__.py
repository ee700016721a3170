"""ChartMogul: custom attributes, tags and customers (seeds 000-002, vendor-facts.md).

State: account-wide attribute definitions (key -> type) and customers as the API returns them.
Request shapes are checked by the schemas before a handler runs; a handler checks what depends on
state (does the customer exist, is the key defined, does the value fit its type), then changes state.
It raises before it changes anything, so a rejected request changes nothing.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from mockattr.contract import Contract, check
from mockattr.contract.errors import ApiError
from mockattr.vendors import Call, Reply, Touched, Vendor

TIMESTAMP_FIELDS = ("lead_created_at", "free_trial_started_at")
PROFILE_FIELDS = ("name", "email", "company", "country", "state", "city", "zip", "website_url")
ADDRESS_KEYS = {"city": "city", "state": "state", "country": "country", "zip": "address_zip"}
TRUE_SPELLINGS = frozenset(["TRUE", "true", "t", "1"])

_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?"
    r"(?: ?(?:Z|z|UTC|([+-])(\d{2}):?(\d{2})))?$"
)


# --- auth and errors -------------------------------------------------------------------------


def error_body(err: ApiError) -> dict[str, Any]:
    """ChartMogul's ``{"code", "message", "param"}``."""
    return {"code": err.status, "message": err.message, "param": err.param}


# --- values ----------------------------------------------------------------------------------


def normalise_timestamp(text: str) -> str:
    """An accepted Timestamp as UTC ``YYYY-MM-DDTHH:MM:SS.mmmZ``; ValueError for an impossible date."""
    match = _TIMESTAMP.match(text)
    if not match:
        raise ValueError(f"not a timestamp: {text!r}")
    year, month, day, hour, minute, second, fraction, sign, off_h, off_m = match.groups()
    offset = timedelta(0)
    if sign:
        offset = timedelta(hours=int(off_h), minutes=int(off_m)) * (1 if sign == "+" else -1)
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            micro,
            tzinfo=timezone(offset),
        ).astimezone(timezone.utc)
    except OverflowError as err:
        raise ValueError(str(err)) from err
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:{moment.minute:02d}:"
        f"{moment.second:02d}.{moment.microsecond // 1000:03d}Z"
    )


def normalise_value(type_name: str, value: Any) -> Any:
    """A value already valid for ``type_name`` as ChartMogul returns it (real: normalised)."""
    if type_name == "Integer":
        return int(value)
    if type_name == "Decimal":
        try:
            number = float(value)
        except OverflowError as err:  # an integer too large for a double
            raise ValueError(f"{value!r} is out of range") from err
        if not math.isfinite(number):
            raise ValueError(f"{value!r} is out of range")
        return number if isinstance(value, str) else value
    if type_name == "Timestamp":
        return normalise_timestamp(value)
    if type_name == "Boolean":
        return value in TRUE_SPELLINGS if isinstance(value, str) else bool(value)
    return value


def unwrap(value: Any) -> Any:
    """``{"value", "source"}`` -> value; a bare value as it is (source is never echoed)."""
    return value["value"] if isinstance(value, dict) else value


def complete_seed(data: dict[str, Any]) -> dict[str, Any]:
    """A seed with every customer completed: only ``uuid`` is needed, the rest defaults (mock's choice)."""
    return {"attribute_definitions": {}, **data, "customers": [blank_customer(c) for c in data.get("customers", [])]}


def blank_customer(partial: Any) -> Any:
    """``partial`` over a customer with empty profile, no attributes and an address following its fields."""
    if not isinstance(partial, dict):
        return partial  # left for the schema to reject
    number = zlib.crc32(str(partial.get("uuid")).encode()) % 100_000_000
    customer = {
        "id": number,
        "uuid": None,
        "data_source_uuid": "ds_00000000-0000-0000-0000-000000000000",
        "data_source_uuids": ["ds_00000000-0000-0000-0000-000000000000"],
        "external_id": "",
        "external_ids": [],
        "name": "",
        "email": "",
        "company": "",
        "city": None,
        "country": None,
        "state": None,
        "zip": None,
        "website_url": None,
        "lead_created_at": None,
        "free_trial_started_at": None,
        "customer-since": None,
        "status": "Active",
        "mrr": 0,
        "arr": 0,
        "billing-system-url": None,
        "chartmogul-url": f"https://app.chartmogul.com/#customers/{number}",
        "billing-system-type": "Custom",
        "currency": "USD",
        "currency-sign": "$",
        "owner": None,
        **partial,
    }
    attributes = partial.get("attributes", {})
    if isinstance(attributes, dict):
        customer["attributes"] = {"tags": [], "stripe": {}, "clearbit": {}, "custom": {}, **attributes}
    if "address" not in partial:
        customer["address"] = {key: customer.get(name) for name, key in ADDRESS_KEYS.items()}
    return customer


# --- state -----------------------------------------------------------------------------------


@dataclass
class ChartMogulWorld:
    """One account: attribute definitions and customers (API-shaped dicts) by uuid."""

    contract: Contract
    definitions: dict[str, str]
    customers: dict[str, dict[str, Any]]
    touched: Touched = field(default_factory=Touched)

    @classmethod
    def from_data(cls, data: dict[str, Any], contract: Contract) -> ChartMogulWorld:
        """Build from fixture-shaped data; every stored value must fit its key's definition."""
        world = cls(contract, {}, {})
        world.merge(data)
        return world

    def merge(self, data: dict[str, Any]) -> None:
        """Add definitions and customers (a customer replaces the one with its uuid); values normalised.
        ValueError, with nothing changed, when a value has no definition or does not fit it."""
        definitions = {**self.definitions, **data.get("attribute_definitions", {})}
        customers = data.get("customers", [])
        redefined = {key for key, type_name in self.definitions.items() if definitions[key] != type_name}
        if redefined:  # the values stored under a redefined key must fit its new definition
            seeded = {customer["uuid"] for customer in customers}
            kept = [(uuid, c["attributes"]["custom"]) for uuid, c in self.customers.items() if uuid not in seeded]
            for uuid, custom in kept:
                for key in redefined & custom.keys():
                    try:
                        self.coerce(key, custom[key], key, definitions[key])
                    except ApiError as err:
                        raise ValueError(f"customer {uuid}: custom.{key}: {err.message}") from err
        for customer in customers:
            custom = customer["attributes"]["custom"]
            for key, value in custom.items():
                param = f"customer {customer['uuid']}: custom.{key}"
                if key not in definitions:
                    raise ValueError(f"{param}: no attribute definition for {key!r}")
                try:
                    custom[key] = self.coerce(key, value, param, definitions[key])
                except ApiError as err:
                    raise ValueError(f"{param}: {err.message}") from err
        self.definitions = definitions
        self.customers.update((customer["uuid"], customer) for customer in customers)
        self.touched.note_all()

    def to_data(self) -> dict[str, Any]:
        """The world in the fixture file's shape."""
        return {"attribute_definitions": self.definitions, "customers": list(self.customers.values())}

    def coerce(self, key: str, value: Any, param: str, type_name: str | None = None) -> Any:
        """``value`` normalised for the type of ``key`` (or ``type_name``), or the vendor's 400."""
        type_name = type_name or self.definitions.get(key)
        if type_name is None:
            raise self.contract.error("undefined_attribute", param=param, key=key)
        try:
            if check(self.contract.validator(f"common.json#/$defs/{type_name}"), value):
                raise ValueError("does not fit the type's schema")
            return normalise_value(type_name, value)
        except ValueError as err:
            value_text = json.dumps(value)
            raise self.contract.error("invalid_value", param=param, key=key, type=type_name, value=value_text) from err

    def customer(self, call: Call) -> dict[str, Any]:
        """The customer named by the path's uuid, or 404."""
        found = self.customers.get(call.params["uuid"])
        if found is None:
            raise call.fail("customer_not_found")
        return self.touched.note(found)

    def customers_by_email(self, call: Call) -> list[dict[str, Any]]:
        """Every customer with the body's e-mail (case-insensitive), or 404."""
        email = call.body["email"]
        found = [c for c in self.customers.values() if (c.get("email") or "").lower() == email.lower()]
        if not found:
            raise call.fail("email_not_found", email=email)
        return [self.touched.note(customer) for customer in found]

    def new_definitions(self, items: list[dict[str, Any]], param: str) -> tuple[dict[str, str], dict[str, Any]]:
        """Check the items of an ``add``: (definitions to create, normalised values by key)."""
        types: dict[str, str] = {}
        values: dict[str, Any] = {}
        for index, item in enumerate(items):
            key, type_name = item["key"], item["type"]
            existing = types.get(key) or self.definitions.get(key)
            if existing and existing != type_name:
                raise self.contract.error("type_conflict", param=f"{param}[{index}].type", key=key, existing=existing)
            types[key] = type_name
            values[key] = self.coerce(key, item["value"], f"{param}[{index}].value", type_name)
        return types, values

    def new_values(self, custom: dict[str, Any], param: str) -> dict[str, Any]:
        """Check an update's ``{key: value or {value, source}}``: normalised values by key."""
        return {key: self.coerce(key, unwrap(raw), f"{param}.{key}") for key, raw in custom.items()}


def _custom(customer: dict[str, Any]) -> dict[str, Any]:
    return customer["attributes"]["custom"]


def _date(call: Call, name: str) -> str | None:
    """A PATCH date field normalised to UTC, or a 400 for a date that does not exist (Feb 30)."""
    value = call.body[name]
    try:
        return None if value is None else normalise_timestamp(value)
    except ValueError as err:
        raise call.fail("invalid_parameter", param=name, detail=f"{value!r} is not a valid date") from err


def _tags_within_limit(call: Call, customer: dict[str, Any]) -> None:
    call.within_limit("tags_per_customer", len(set(customer["attributes"]["tags"]) | set(call.body["tags"])))


def _add_tags(customer: dict[str, Any], tags: list[str]) -> None:
    current = customer["attributes"]["tags"]
    present = set(current)
    current.extend(tag for tag in dict.fromkeys(tags) if tag not in present)


# --- handlers, one per operation id in schemas/chartmogul/index.json --------------------------


def add(call: Call) -> Reply:
    world: ChartMogulWorld = call.world
    customer = world.customer(call)
    types, values = world.new_definitions(call.body["custom"], "custom")
    call.within_limit("attribute_definitions", len(world.definitions.keys() | types.keys()))
    world.definitions.update(types)
    _custom(customer).update(values)
    return Reply(200, {"custom": _custom(customer)})


def add_by_email(call: Call) -> Reply:
    world: ChartMogulWorld = call.world
    customers = world.customers_by_email(call)
    types, values = world.new_definitions(call.body["custom"], "custom")
    call.within_limit("attribute_definitions", len(world.definitions.keys() | types.keys()))
    world.definitions.update(types)
    for customer in customers:
        _custom(customer).update(values)
    return Reply(200, {"entries": customers})


def update(call: Call) -> Reply:
    world: ChartMogulWorld = call.world
    customer = world.customer(call)
    _custom(customer).update(world.new_values(call.body["custom"], "custom"))
    return Reply(200, {"custom": _custom(customer)})


def remove(call: Call) -> Reply:
    world: ChartMogulWorld = call.world
    custom = _custom(world.customer(call))
    for key in call.body["custom"]:
        custom.pop(key, None)
    return Reply(200, {"custom": custom}) if custom else Reply(204)


def retrieve(call: Call) -> Reply:
    return Reply(200, call.world.customer(call)["attributes"])


def tags_add(call: Call) -> Reply:
    customer = call.world.customer(call)
    _tags_within_limit(call, customer)
    _add_tags(customer, call.body["tags"])
    return Reply(200, {"tags": customer["attributes"]["tags"]})


def tags_remove(call: Call) -> Reply:
    customer = call.world.customer(call)
    drop = set(call.body["tags"])
    customer["attributes"]["tags"] = [tag for tag in customer["attributes"]["tags"] if tag not in drop]
    return Reply(200, {"tags": customer["attributes"]["tags"]})


def tags_add_by_email(call: Call) -> Reply:
    customers = call.world.customers_by_email(call)
    for customer in customers:
        _tags_within_limit(call, customer)
    for customer in customers:
        _add_tags(customer, call.body["tags"])
    return Reply(200, {"entries": customers})


def customer_get(call: Call) -> Reply:
    return Reply(200, call.world.customer(call))


def customer_update(call: Call) -> Reply:
    world: ChartMogulWorld = call.world
    customer = world.customer(call)
    body = call.body
    attributes = body.get("attributes", {})
    values = world.new_values(attributes.get("custom", {}), "attributes.custom")
    dates = {name: _date(call, name) for name in TIMESTAMP_FIELDS if name in body}
    if "tags" in attributes:
        call.within_limit("tags_per_customer", len(set(attributes["tags"])))
    # Everything is checked: from here on nothing raises.
    for name in PROFILE_FIELDS:
        if name in body:
            customer[name] = body[name]
            if name in ADDRESS_KEYS:
                customer["address"][ADDRESS_KEYS[name]] = body[name]
    customer.update(dates)
    _custom(customer).update(values)
    if "tags" in attributes:
        customer["attributes"]["tags"] = list(dict.fromkeys(attributes["tags"]))
    return Reply(200, customer)


def usage(world: ChartMogulWorld) -> dict[str, int]:
    tags = (len(set(customer["attributes"]["tags"])) for customer in world.customers.values())
    return {"attribute_definitions": len(world.definitions), "tags_per_customer": max(tags, default=0)}


VENDOR = Vendor(
    id="chartmogul",
    error_body=error_body,
    new_world=ChartMogulWorld.from_data,
    complete_seed=complete_seed,
    usage=usage,
    handlers={
        "add": add,
        "add_by_email": add_by_email,
        "update": update,
        "remove": remove,
        "retrieve": retrieve,
        "tags_add": tags_add,
        "tags_remove": tags_remove,
        "tags_add_by_email": tags_add_by_email,
        "customer_get": customer_get,
        "customer_update": customer_update,
    },
)
