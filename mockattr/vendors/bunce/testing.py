"""Bunce: what the strategies and the contract suite need beyond the schemas.

``refine_body`` binds drawn request bodies to the fixture where state decides what succeeds;
``Machine`` is the state machine ``mockattr check`` runs against a model of the vendor.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, rule

from mockattr.checking.machines import VendorMachine, agree, expect
from mockattr.strategies import vendor_fixture

VENDOR_ID = "bunce"


def refine_body(operation: str, drawn: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``drawn`` bodies of ``operation``, bound to the fixture so that they succeed on a fresh tenant."""
    data = vendor_fixture(VENDOR_ID)
    body = drawn
    if operation == "attribute_create":
        names = {a["name"].lower() for a in data["attributes"]}
        return body.filter(lambda b: b["name"].lower() not in names)
    if operation == "set_values":  # most rows name a defined attribute, so their values are checked
        ids = st.sampled_from([a["id"] for a in data["attributes"]])
        chosen = st.lists(st.one_of(st.none(), ids, ids, ids), min_size=8, max_size=8)

        def rebind(pair: tuple[dict[str, Any], list[str | None]]) -> dict[str, Any]:
            rows, new_ids = pair[0]["attributes"], pair[1][: len(pair[0]["attributes"])]
            return {"attributes": [{**row, "id": new} if new else row for row, new in zip(rows, new_ids, strict=True)]}

        return st.tuples(body, chosen).map(rebind)
    return body


class BunceMachine(VendorMachine):
    """attribute_create / attribute_list / set_values: definitions and which rows are saved."""

    vendor = VENDOR_ID

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
            expect(sent, "attribute_create (duplicate name)", 422)
            return
        created = expect(sent, "attribute_create", (200, 201))["data"]
        agree(sent, "attribute_create", (created["name"], created["data_type"]), (name, data_type))
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
        body = expect(sent, "set_values", 200)["data"]
        fits = {
            "text": lambda v: True,
            "numeric": lambda v: v == "12",
            "timestamp": lambda v: v == "2024-01-01T00:00:00Z",
        }
        expected = [
            n for n, (i, v) in enumerate(rows) if i in self.attributes and fits[self.attributes[i]["data_type"]](v)
        ]
        agree(sent, "set_values (rows saved)", [s["row"] for s in body["saved"]], expected)
        skipped = [n for n in range(len(rows)) if n not in expected]
        agree(sent, "set_values (rows skipped)", sorted(int(k) for k in body["errors"]), skipped)

    @invariant()
    def lists_back(self) -> None:
        if not hasattr(self, "attributes"):
            return
        sent = self.call("GET", "/v1/attributes?per_page=100")
        listed = expect(sent, "attribute_list", 200)["data"]
        agree(sent, "attribute_list", {a["id"]: a for a in listed}, self.attributes)


Machine = BunceMachine
