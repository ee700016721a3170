"""ChartMogul: what the strategies and the contract suite need beyond the schemas.

``refine_body`` binds drawn request bodies to the fixture where state decides what succeeds;
``Machine`` is the state machine ``mockattr check`` runs against a model of the vendor.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from mockattr.checking.machines import VendorMachine, agree, expect
from mockattr.contract.generation import from_schema
from mockattr.strategies import resolved, vendor_fixture

VENDOR_ID = "chartmogul"

KEYS = ("k_alpha", "k_beta", "k_gamma")
NORMAL_VALUES = {
    "String": st.text(max_size=10),
    "Integer": st.integers(-1000, 1000),
    "Boolean": st.booleans(),
    "Timestamp": st.sampled_from(["2024-01-01T00:00:00.000Z", "1999-12-31T23:59:59.000Z"]),
}


def _bound_custom(wrappable: bool) -> dict[str, Any]:
    """ChartMogul's custom map with exactly the fixture's defined keys, each value of its type."""
    properties = {}
    for key, type_name in vendor_fixture(VENDOR_ID)["attribute_definitions"].items():
        value = resolved(VENDOR_ID, f"common.json#/$defs/{type_name}")
        wrapped = {
            "type": "object",
            "required": ["value"],
            "additionalProperties": False,
            "properties": {"value": value, "source": {"type": "string"}},
        }
        properties[key] = {"anyOf": [value, wrapped]} if wrappable else value
    return {"type": "object", "properties": properties, "additionalProperties": False}


def refine_body(operation: str, drawn: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``drawn`` bodies of ``operation``, bound to the fixture so that they succeed on a fresh tenant."""
    data = vendor_fixture(VENDOR_ID)
    definitions = data["attribute_definitions"]
    emails = [c["email"] for c in data["customers"] if c["email"]]
    body = drawn
    if operation in ("add", "add_by_email"):

        def consistent(value: dict[str, Any]) -> bool:
            types: dict[str, str] = dict(definitions)
            for item in value["custom"]:
                if types.setdefault(item["key"], item["type"]) != item["type"]:
                    return False
            return True

        body = body.filter(consistent)
    if operation == "update":
        body = from_schema(
            {
                "type": "object",
                "required": ["custom"],
                "additionalProperties": False,
                "properties": {"custom": _bound_custom(wrappable=True)},
            }
        )
    if operation == "customer_update":
        custom = from_schema(_bound_custom(wrappable=True))

        def bind(drawn: tuple[dict[str, Any], dict[str, Any], bool]) -> dict[str, Any]:
            """attributes.custom may only name defined keys: the drawn map is replaced by a bound one, or dropped."""
            patch, bound, keep = drawn
            if "attributes" not in patch and not keep:
                return patch
            attributes = {k: v for k, v in patch.get("attributes", {}).items() if k != "custom"}
            return {**patch, "attributes": {**attributes, **({"custom": bound} if keep else {})}}

        body = st.tuples(body, custom, st.booleans()).map(bind)
    if operation.endswith("by_email"):
        body = st.tuples(body, st.sampled_from(emails)).map(lambda t: {**t[0], "email": t[1]})
    return body


class ChartMogulMachine(VendorMachine):
    """add / update / remove / tags / read back, against a model of custom values, tags and definitions."""

    vendor = VENDOR_ID

    @initialize()
    def load_model(self) -> None:
        self.definitions = dict(self.fixture["attribute_definitions"])
        self.custom = {c["uuid"]: dict(c["attributes"]["custom"]) for c in self.fixture["customers"]}
        self.tags = {c["uuid"]: list(c["attributes"]["tags"]) for c in self.fixture["customers"]}

    def customers(self) -> st.SearchStrategy[str]:
        return st.sampled_from(sorted(self.custom))

    @rule(data=st.data(), key=st.sampled_from(KEYS), type_name=st.sampled_from(sorted(NORMAL_VALUES)))
    def add(self, data: st.DataObject, key: str, type_name: str) -> None:
        uuid = data.draw(self.customers())
        value = data.draw(NORMAL_VALUES[type_name])
        sent = self.call(
            "POST",
            f"/v1/customers/{uuid}/attributes/custom",
            {"custom": [{"type": type_name, "key": key, "value": value}]},
        )
        if self.definitions.get(key, type_name) != type_name:
            expect(sent, "add (key defined with another type)", 400)
            return
        self.definitions[key] = type_name
        self.custom[uuid][key] = value
        agree(sent, "add", expect(sent, "add", 200)["custom"], self.custom[uuid])

    @precondition(lambda self: any(k in self.definitions for k in KEYS))
    @rule(data=st.data())
    def update(self, data: st.DataObject) -> None:
        uuid = data.draw(self.customers())
        key = data.draw(st.sampled_from([k for k in KEYS if k in self.definitions]))
        value = data.draw(NORMAL_VALUES[self.definitions[key]])
        sent = self.call("PUT", f"/v1/customers/{uuid}/attributes/custom", {"custom": {key: value}})
        self.custom[uuid][key] = value
        agree(sent, "update", expect(sent, "update", 200)["custom"], self.custom[uuid])

    @rule(data=st.data(), key=st.sampled_from(KEYS))
    def update_undefined(self, data: st.DataObject, key: str) -> None:
        if key in self.definitions:
            return
        uuid = data.draw(self.customers())
        expect(
            self.call("PUT", f"/v1/customers/{uuid}/attributes/custom", {"custom": {key: "x"}}),
            "update (undefined key)",
            400,
        )

    @rule(data=st.data())
    def remove(self, data: st.DataObject) -> None:
        uuid = data.draw(self.customers())
        keys = data.draw(st.lists(st.sampled_from(sorted(set(KEYS) | set(self.custom[uuid]))), min_size=1, max_size=2))
        sent = self.call("DELETE", f"/v1/customers/{uuid}/attributes/custom", {"custom": keys})
        for key in keys:
            self.custom[uuid].pop(key, None)
        if self.custom[uuid]:
            agree(sent, "remove", expect(sent, "remove", 200)["custom"], self.custom[uuid])
        else:
            expect(sent, "remove (last attribute)", 204)

    @rule(data=st.data(), tag=st.sampled_from(["t1", "t2", "t3"]), adding=st.booleans())
    def tags(self, data: st.DataObject, tag: str, adding: bool) -> None:
        uuid = data.draw(self.customers())
        sent = self.call("POST" if adding else "DELETE", f"/v1/customers/{uuid}/attributes/tags", {"tags": [tag]})
        if adding and tag not in self.tags[uuid]:
            self.tags[uuid].append(tag)
        if not adding:
            self.tags[uuid] = [t for t in self.tags[uuid] if t != tag]
        operation = "tags_add" if adding else "tags_remove"
        agree(sent, operation, expect(sent, operation, 200)["tags"], self.tags[uuid])

    @invariant()
    def reads_back(self) -> None:
        if not hasattr(self, "custom"):
            return
        for uuid in self.custom:
            sent = self.call("GET", f"/v1/customers/{uuid}/attributes")
            body = expect(sent, "retrieve", 200)
            agree(sent, "retrieve (custom)", body.get("custom"), self.custom[uuid])
            agree(sent, "retrieve (tags)", body.get("tags"), self.tags[uuid])


Machine = ChartMogulMachine
