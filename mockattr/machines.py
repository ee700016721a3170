"""Stateful contract tests: one Hypothesis state machine per vendor, run against a live server.

Each machine starts a fresh tenant (a new API key), mirrors what the vendor promises in a plain
model, and after every step compares the server's answers with the model. An assertion names the
operation whose answer broke the promise. Values are drawn in the form the vendor returns them, so
the model needs no normalisation rules of its own.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from mockattr.runtime import load_fixture
from mockattr.strategies import _contract
from mockattr.target import NO_BODY, Sent, Target

KEYS = ("k_alpha", "k_beta", "k_gamma")
NORMAL_VALUES = {
    "String": st.text(max_size=10),
    "Integer": st.integers(-1000, 1000),
    "Boolean": st.booleans(),
    "Timestamp": st.sampled_from(["2024-01-01T00:00:00.000Z", "1999-12-31T23:59:59.000Z"]),
}


def _agree(sent: Sent, operation: str, answered: Any, model: Any) -> None:
    """The server's answer (or what it reads back) equals the model's."""
    assert answered == model, f"{operation}: answered {answered!r}, the model holds {model!r}\n  {sent.curl()}"


def _expect(sent: Sent, operation: str, status: int | tuple[int, ...]) -> Any:
    statuses = (status,) if isinstance(status, int) else status
    assert sent.status in statuses, (
        f"{operation}: expected {statuses}, got {sent.status} {sent.text[:300]}\n{sent.curl()}"
    )
    return sent.json()


class VendorMachine(RuleBasedStateMachine):
    """Base: a target, a fresh key per run, and the vendor's URL."""

    target: Target
    vendor: str

    def __init__(self) -> None:
        super().__init__()
        self.key = self.target.new_key()
        self.url = self.target.vendor_url(self.vendor)
        self.fixture = load_fixture(self.vendor, _contract(self.vendor))

    def call(self, method: str, path: str, body: Any = NO_BODY) -> Sent:
        return self.target.call(self.vendor, method, self.url + path, self.key, body)


class ChartMogulMachine(VendorMachine):
    """add / update / remove / tags / read back, against a model of custom values, tags and definitions."""

    vendor = "chartmogul"

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
            _expect(sent, "add (key defined with another type)", 400)
            return
        self.definitions[key] = type_name
        self.custom[uuid][key] = value
        _agree(sent, "add", _expect(sent, "add", 200)["custom"], self.custom[uuid])

    @precondition(lambda self: any(k in self.definitions for k in KEYS))
    @rule(data=st.data())
    def update(self, data: st.DataObject) -> None:
        uuid = data.draw(self.customers())
        key = data.draw(st.sampled_from([k for k in KEYS if k in self.definitions]))
        value = data.draw(NORMAL_VALUES[self.definitions[key]])
        sent = self.call("PUT", f"/v1/customers/{uuid}/attributes/custom", {"custom": {key: value}})
        self.custom[uuid][key] = value
        _agree(sent, "update", _expect(sent, "update", 200)["custom"], self.custom[uuid])

    @rule(data=st.data(), key=st.sampled_from(KEYS))
    def update_undefined(self, data: st.DataObject, key: str) -> None:
        if key in self.definitions:
            return
        uuid = data.draw(self.customers())
        _expect(
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
            _agree(sent, "remove", _expect(sent, "remove", 200)["custom"], self.custom[uuid])
        else:
            _expect(sent, "remove (last attribute)", 204)

    @rule(data=st.data(), tag=st.sampled_from(["t1", "t2", "t3"]), adding=st.booleans())
    def tags(self, data: st.DataObject, tag: str, adding: bool) -> None:
        uuid = data.draw(self.customers())
        sent = self.call("POST" if adding else "DELETE", f"/v1/customers/{uuid}/attributes/tags", {"tags": [tag]})
        if adding and tag not in self.tags[uuid]:
            self.tags[uuid].append(tag)
        if not adding:
            self.tags[uuid] = [t for t in self.tags[uuid] if t != tag]
        operation = "tags_add" if adding else "tags_remove"
        _agree(sent, operation, _expect(sent, operation, 200)["tags"], self.tags[uuid])

    @invariant()
    def reads_back(self) -> None:
        if not hasattr(self, "custom"):
            return
        for uuid in self.custom:
            sent = self.call("GET", f"/v1/customers/{uuid}/attributes")
            body = _expect(sent, "retrieve", 200)
            _agree(sent, "retrieve (custom)", body.get("custom"), self.custom[uuid])
            _agree(sent, "retrieve (tags)", body.get("tags"), self.tags[uuid])


class BunceMachine(VendorMachine):
    """attribute_create / attribute_list / set_values: definitions and which rows are saved."""

    vendor = "bunce"

    @initialize()
    def load_model(self) -> None:
        self.attributes = {a["id"]: a for a in self.fixture["attributes"]}

    @rule(
        name=st.sampled_from(["plan", "Plan", "seats", "job_title"]),
        data_type=st.sampled_from(["text", "numeric", "timestamp"]),
    )
    def attribute_create(self, name: str, data_type: str) -> None:
        sent = self.call("POST", "/v1/attributes", {"name": name, "data_type": data_type})
        if any(a["name"].lower() == name.lower() for a in self.attributes.values()):
            _expect(sent, "attribute_create (duplicate name)", 422)
            return
        created = _expect(sent, "attribute_create", (200, 201))["data"]
        _agree(sent, "attribute_create", (created["name"], created["data_type"]), (name, data_type))
        self.attributes[created["id"]] = created

    @rule(data=st.data(), customer=st.sampled_from(["c1", "c2"]))
    def set_values(self, data: st.DataObject, customer: str) -> None:
        # creation order, not sorted: ids are the server's random uuids, and a replayed run must draw alike
        ids = list(self.attributes) + ["00000000-0000-4000-8000-000000000000"]
        rows = data.draw(
            st.lists(
                st.tuples(st.sampled_from(ids), st.sampled_from(["12", "2024-01-01T00:00:00Z", "x"])),
                min_size=1,
                max_size=4,
            )
        )
        sent = self.call(
            "POST",
            "/v1/attributes/customers",
            {"attributes": [{"id": i, "customer_id": customer, "value": v} for i, v in rows]},
        )
        body = _expect(sent, "set_values", 200)["data"]
        fits = {
            "text": lambda v: True,
            "numeric": lambda v: v == "12",
            "timestamp": lambda v: v == "2024-01-01T00:00:00Z",
        }
        expected = [
            n for n, (i, v) in enumerate(rows) if i in self.attributes and fits[self.attributes[i]["data_type"]](v)
        ]
        _agree(sent, "set_values (rows saved)", [s["row"] for s in body["saved"]], expected)
        skipped = [n for n in range(len(rows)) if n not in expected]
        _agree(sent, "set_values (rows skipped)", sorted(int(k) for k in body["errors"]), skipped)

    @invariant()
    def lists_back(self) -> None:
        if not hasattr(self, "attributes"):
            return
        sent = self.call("GET", "/v1/attributes?per_page=100")
        listed = _expect(sent, "attribute_list", 200)["data"]
        _agree(sent, "attribute_list", {a["id"]: a for a in listed}, self.attributes)


class InvisibleCollectorMachine(VendorMachine):
    """customer_create / attributes_set / attributes_get / customer_get against a model of customers."""

    vendor = "invisible_collector"

    @initialize()
    def load_model(self) -> None:
        self.customers = {c["gid"]: dict(c["attributes"]) for c in self.fixture["customers"]}
        self.external = {c["externalId"]: c["gid"] for c in self.fixture["customers"] if c["externalId"]}

    @rule(external_id=st.sampled_from(["e1", "e2", "100001"]))
    def customer_create(self, external_id: str) -> None:
        sent = self.call(
            "POST", "/customers", {"name": "N", "vatNumber": "V", "country": "PT", "externalId": external_id}
        )
        if external_id in self.external:
            body = _expect(sent, "customer_create (duplicate externalId)", 409)
            _agree(sent, "customer_create (409 gid)", body.get("gid"), self.external[external_id])
            return
        gid = _expect(sent, "customer_create", (200, 201))["gid"]
        self.customers[gid] = {}
        self.external[external_id] = gid

    @rule(
        data=st.data(),
        values=st.dictionaries(st.sampled_from(["a", "b", "c"]), st.sampled_from(["1", "2"]), max_size=2),
        by_external=st.booleans(),
    )
    def attributes_set(self, data: st.DataObject, values: dict[str, str], by_external: bool) -> None:
        gid = data.draw(st.sampled_from(list(self.customers)))  # creation order: gids are random
        ref = next((e for e, g in self.external.items() if g == gid), gid) if by_external else gid
        sent = self.call("POST", f"/customers/{ref}/attributes", values)
        self.customers[gid].update(values)
        _agree(sent, "attributes_set", _expect(sent, "attributes_set", 200), self.customers[gid])

    @invariant()
    def reads_back(self) -> None:
        if not hasattr(self, "customers"):
            return
        for gid, attributes in self.customers.items():
            sent = self.call("GET", f"/customers/{gid}/attributes")
            _agree(sent, "attributes_get", _expect(sent, "attributes_get", 200), attributes)


MACHINES: dict[str, type[VendorMachine]] = {
    "chartmogul": ChartMogulMachine,
    "bunce": BunceMachine,
    "invisible_collector": InvisibleCollectorMachine,
}


def machine_for(vendor: str, target: Target) -> type[VendorMachine]:
    """The vendor's machine bound to ``target``."""
    return type(MACHINES[vendor].__name__, (MACHINES[vendor],), {"target": target})
