"""Invisible Collector: what the strategies and the contract suite need beyond the schemas.

``refine_body`` binds drawn request bodies to the fixture where state decides what succeeds;
``Machine`` is the state machine ``mockattr check`` runs against a model of the vendor.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, rule

from mockattr.checking.machines import VendorMachine, agree, expect
from mockattr.strategies import vendor_fixture

VENDOR_ID = "invisible_collector"


def refine_body(operation: str, drawn: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``drawn`` bodies of ``operation``, bound to the fixture so that they succeed on a fresh tenant."""
    body = drawn
    if operation == "customer_create":
        taken = {c["externalId"] for c in vendor_fixture(VENDOR_ID)["customers"]}
        return body.filter(lambda b: b.get("externalId") not in taken)
    return body


class InvisibleCollectorMachine(VendorMachine):
    """customer_create / attributes_set / attributes_get / customer_get against a model of customers."""

    vendor = VENDOR_ID

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
            body = expect(sent, "customer_create (duplicate externalId)", 409)
            agree(sent, "customer_create (409 gid)", body.get("gid"), self.external[external_id])
            return
        gid = expect(sent, "customer_create", (200, 201))["gid"]
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
        agree(sent, "attributes_set", expect(sent, "attributes_set", 200), self.customers[gid])

    @invariant()
    def reads_back(self) -> None:
        if not hasattr(self, "customers"):
            return
        for gid, attributes in self.customers.items():
            sent = self.call("GET", f"/customers/{gid}/attributes")
            agree(sent, "attributes_get", expect(sent, "attributes_get", 200), attributes)


Machine = InvisibleCollectorMachine
