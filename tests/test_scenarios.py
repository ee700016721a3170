"""One scenario, three vendors: set two attributes on a customer, change one, read them back."""

from __future__ import annotations

from typing import Protocol

import pytest
from support import VendorClient

from mockattr import VENDOR_IDS
from mockattr.contract import load_contract


class Adapter(Protocol):
    def set(self, values: dict[str, str]) -> None: ...
    def read(self) -> dict[str, str]: ...


class ChartMogulAdapter:
    customer = "cus_ab223d54-75b4-431b-adb2-eb6b9e234571"

    def __init__(self, client: VendorClient) -> None:
        self.client = client

    def set(self, values: dict[str, str]) -> None:
        defined = self.client.state()["attribute_definitions"]
        new = [{"type": "String", "key": k, "value": v} for k, v in values.items() if k not in defined]
        if new:
            assert self.client.call("add", {"custom": new}, uuid=self.customer).status_code == 200
        known = {k: v for k, v in values.items() if k in defined}
        if known:
            assert self.client.call("update", {"custom": known}, uuid=self.customer).status_code == 200

    def read(self) -> dict[str, str]:
        return self.client.call("retrieve", uuid=self.customer).json()["custom"]


class BunceAdapter:
    """Bunce has no endpoint that reads values back: the adapter reads them through the admin state."""

    customer = "290000"

    def __init__(self, client: VendorClient) -> None:
        self.client = client
        self.ids: dict[str, str] = {}

    def set(self, values: dict[str, str]) -> None:
        for name in values:
            if name not in self.ids:
                created = self.client.call("attribute_create", {"name": name, "data_type": "text"})
                self.ids[name] = created.json()["data"]["id"]
        rows = [{"id": self.ids[k], "customer_id": self.customer, "value": v} for k, v in values.items()]
        assert self.client.call("set_values", {"attributes": rows}).json()["data"]["errors"] == {}

    def read(self) -> dict[str, str]:
        names = {attribute_id: name for name, attribute_id in self.ids.items()}
        [customer] = [c for c in self.client.state()["customers"] if c["customer_id"] == self.customer]
        return {names.get(k, k): v for k, v in customer["attributes"].items()}


class InvisibleCollectorAdapter:
    customer = "061d2feb-81c2-4694-a74a-13cecbe7d2ce"

    def __init__(self, client: VendorClient) -> None:
        self.client = client

    def set(self, values: dict[str, str]) -> None:
        assert self.client.call("attributes_set", values, id=self.customer).status_code == 200

    def read(self) -> dict[str, str]:
        return self.client.call("attributes_get", id=self.customer).json()


ADAPTERS = {"chartmogul": ChartMogulAdapter, "bunce": BunceAdapter, "invisible_collector": InvisibleCollectorAdapter}


def test_every_vendor_with_attribute_types_has_a_scenario_adapter() -> None:
    """The scenarios are about custom attributes: a vendor whose index.json names attribute types has them."""
    typed = {vendor for vendor in VENDOR_IDS if "attribute_types" in load_contract(vendor).index.get("testing", {})}
    assert typed and typed <= set(ADAPTERS), "tests/test_scenarios.py: a vendor with attributes is never tried"


@pytest.mark.parametrize("vendor", ADAPTERS)
def test_set_two_change_one_read_back(server_url: str, vendor: str) -> None:
    adapter: Adapter = ADAPTERS[vendor](VendorClient(vendor, f"{server_url}/{vendor}"))
    adapter.set({"plan": "starter", "region": "eu"})
    adapter.set({"plan": "pro"})
    values = adapter.read()
    assert values["plan"] == "pro"
    assert values["region"] == "eu"
