"""Per-tenant limits (index.json ``limits``, the mock's choice): a request that would pass one is refused
with the vendor's ``limit_reached`` error (Bunce: a row error) and changes nothing; below it, all is well.
Each test fills a tenant up to a limit with a seed, then asks for one more through HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import VendorClient

from mockattr import VENDOR_IDS
from mockattr.contract import load_contract
from mockattr.contract.discovery import data_dir
from mockattr.server.app import create_app
from mockattr.testing.plugin import MockattrHandle

ADAM = "cus_de305d54-75b4-431b-adb2-eb6b9e546012"
GID = "061d2feb-81c2-4694-a74a-13cecbe7d2ce"
JOB_TITLE = "9f171295-6935-400c-af6b-fd628a46bc71"


def limit(vendor: str, name: str) -> int:
    return load_contract(vendor).index["limits"][name]


def refused(response, status: int, what: str) -> None:
    assert response.status_code == status, response.text
    assert f"at most {what}" in response.text


def test_chartmogul_attribute_definitions(mockattr: MockattrHandle, chartmogul: VendorClient) -> None:
    most = limit("chartmogul", "attribute_definitions")
    present = len(chartmogul.state()["attribute_definitions"])
    mockattr.seed("chartmogul", {"attribute_definitions": {f"k{n}": "String" for n in range(most - present)}})
    before = chartmogul.state()
    body = {"custom": [{"type": "String", "key": "one_more", "value": "x"}]}
    refused(chartmogul.call("add", body, uuid=ADAM), 400, f"{most} attribute definitions")
    email = next(c["email"] for c in before["customers"] if c["uuid"] == ADAM)
    refused(chartmogul.call("add_by_email", {"email": email, **body}), 400, f"{most} attribute definitions")
    assert chartmogul.state() == before
    existing = {"custom": [{"type": "String", "key": "k0", "value": "fits"}]}
    assert chartmogul.call("add", existing, uuid=ADAM).status_code == 200, "a defined key still works"


def test_chartmogul_tags_per_customer(mockattr: MockattrHandle, chartmogul: VendorClient) -> None:
    tags = [f"t{n}" for n in range(limit("chartmogul", "tags_per_customer"))]
    full = {"uuid": "cus_full", "email": "full@example.com", "attributes": {"custom": {}, "tags": tags}}
    mockattr.seed("chartmogul", {"customers": [full]})
    before = chartmogul.state()
    refused(chartmogul.call("tags_add", {"tags": ["new"]}, uuid="cus_full"), 400, f"{len(tags)} tags per customer")
    refused(
        chartmogul.call("tags_add_by_email", {"email": "full@example.com", "tags": ["new"]}), 400, f"{len(tags)} tags"
    )
    assert chartmogul.state() == before
    assert chartmogul.call("tags_add", {"tags": ["t0"]}, uuid="cus_full").status_code == 200, "a tag it has"


def test_bunce_attribute_definitions(mockattr: MockattrHandle, bunce: VendorClient) -> None:
    most = limit("bunce", "attribute_definitions")
    present = len(bunce.state()["attributes"])
    attributes = [
        {"id": f"00000000-0000-4000-8000-{n:012d}", "name": f"a{n}", "data_type": "text"} for n in range(most - present)
    ]
    mockattr.seed("bunce", {"attributes": attributes})
    refused(
        bunce.call("attribute_create", {"name": "one_more", "data_type": "text"}), 422, f"{most} attribute definitions"
    )
    assert len(bunce.state()["attributes"]) == most


def test_bunce_new_customers_and_devices_are_row_errors(mockattr: MockattrHandle, bunce: VendorClient) -> None:
    index = load_contract("bunce").index
    present = len(bunce.state()["customers"])
    most = limit("bunce", "customers")
    devices = [{"device_type": "ios", "device_token": f"d{n}"} for n in range(limit("bunce", "devices_per_customer"))]
    customers = [{"customer_id": f"c{n}", "devices": devices if n == 0 else []} for n in range(most - present)]
    mockattr.seed("bunce", {"customers": customers})
    rows = [
        {"id": JOB_TITLE, "customer_id": "brand-new", "value": "x"},
        {
            "id": JOB_TITLE,
            "value": "x",
            "customer": {"customer_id": "c0", "devices": [{"device_type": "ios", "device_token": "new"}]},
        },
        {"id": JOB_TITLE, "value": "y", "customer": {"customer_id": "c0", "devices": devices[:1]}},
    ]
    data = bunce.call("set_values", {"attributes": rows}).json()["data"]
    texts = {name: index["row_errors"][name].format(**index["limits"]) for name in ("customer_limit", "device_limit")}
    assert data["errors"] == {"0": texts["customer_limit"], "1": texts["device_limit"]}
    assert str(most) in texts["customer_limit"]
    assert [entry["row"] for entry in data["saved"]] == [2], "a row within the limits is saved"
    state = bunce.state()
    assert len(state["customers"]) == most
    assert len(next(c for c in state["customers"] if c["customer_id"] == "c0")["devices"]) == len(devices)


def test_invisible_collector_customers_and_values(mockattr: MockattrHandle, invisible_collector: VendorClient) -> None:
    present = len(invisible_collector.state()["customers"])
    most = limit("invisible_collector", "customers")
    customers = [{"name": f"n{n}", "vatNumber": "PT501234567", "country": "PT"} for n in range(most - present)]
    mockattr.seed("invisible_collector", {"customers": customers})
    new = {"name": "One More", "vatNumber": "PT501234567", "country": "PT"}
    refused(invisible_collector.call("customer_create", new), 422, f"{most} customers")
    assert len(invisible_collector.state()["customers"]) == most

    values = limit("invisible_collector", "values_per_customer")
    current = invisible_collector.call("attributes_get", id=GID).json()
    filler = {f"f{n}": "x" for n in range(values - len(current))}
    assert invisible_collector.call("attributes_set", filler, id=GID).status_code == 200
    refused(invisible_collector.call("attributes_set", {"one_more": "x"}, id=GID), 422, f"{values} values per customer")
    assert invisible_collector.call("attributes_set", {"f0": "changed"}, id=GID).status_code == 200


@pytest.mark.parametrize("vendor", [v for v in VENDOR_IDS if "limits" in load_contract(v).index])
def test_every_limit_is_marked_as_the_mocks_choice(vendor: str) -> None:
    index = load_contract(vendor).index
    assert "mock's choice" in index["limits"]["$comment"]
    assert index["errors"]["limit_reached"]["source"] == "mock's choice"


def test_chartmogul_customer_update_keeps_the_tag_limit(chartmogul: VendorClient) -> None:
    most = limit("chartmogul", "tags_per_customer")
    before = chartmogul.state()
    body = {"attributes": {"tags": [f"t{n}" for n in range(most + 1)]}}
    refused(chartmogul.call("customer_update", body, uuid=ADAM), 400, f"{most} tags per customer")
    assert chartmogul.state() == before
    fits = {"attributes": {"tags": [f"t{n}" for n in range(most)]}}
    assert chartmogul.call("customer_update", fits, uuid=ADAM).status_code == 200


def test_a_seed_past_a_limit_is_refused_and_changes_nothing(
    mockattr: MockattrHandle, chartmogul: VendorClient, bunce: VendorClient, invisible_collector: VendorClient
) -> None:
    """The admin API is bound by the same limits: a seed that would take a tenant past one is a 400
    naming it, for every tenant and for one, and no tenant gets the seed."""
    from mockattr.testing.handle import AdminError

    chartmogul.call("retrieve", key="k1", uuid=ADAM)  # a tenant that exists before the seeds
    before = {vendor: mockattr.state(vendor, key="k1") for vendor in VENDOR_IDS}
    tags = [f"t{n}" for n in range(limit("chartmogul", "tags_per_customer") + 1)]
    devices = [
        {"device_type": "ios", "device_token": f"d{n}"} for n in range(limit("bunce", "devices_per_customer") + 1)
    ]
    present = len(invisible_collector.state()["customers"])
    past = [
        (
            "chartmogul",
            {"customers": [{"uuid": "cus_many_tags", "attributes": {"custom": {}, "tags": tags}}]},
            "tags per customer",
        ),
        ("chartmogul", {"attribute_definitions": {f"k{n}": "String" for n in range(1001)}}, "attribute definitions"),
        ("bunce", {"customers": [{"customer_id": "many", "devices": devices}]}, "devices per customer"),
        (
            "invisible_collector",
            {"customers": [{"name": f"n{n}", "vatNumber": "v", "country": "PT"} for n in range(10_001 - present)]},
            "10001 customers",
        ),
    ]
    for vendor, data, says in past:
        for key in (None, "k1"):
            with pytest.raises(AdminError, match=f"400.*{says}, past the limit"):
                mockattr.seed(vendor, data, key=key)
    for vendor, state in before.items():
        assert mockattr.state(vendor, key="k1") == state
        assert mockattr.state(vendor, key="new-tenant") == state, "a tenant made after the seeds has none of them"


def test_a_seed_that_fits_new_tenants_but_not_a_grown_one_is_refused(
    mockattr: MockattrHandle, chartmogul: VendorClient
) -> None:
    """Tenant k1 has grown through the API; a seed that a new tenant could take would take k1 past the
    limit: 400 for every tenant and for k1 alone, and neither k1 nor a new tenant gets it."""
    from mockattr.testing.handle import AdminError

    most = limit("chartmogul", "attribute_definitions")
    grown = [{"type": "String", "key": f"grown{n}", "value": "x"} for n in range(most // 2 + 100)]
    assert chartmogul.call("add", {"custom": grown}, key="k1", uuid=ADAM).status_code == 200
    k1, fresh = mockattr.state("chartmogul", key="k1"), mockattr.state("chartmogul", key="new-tenant")
    seed = {"attribute_definitions": {f"seeded{n}": "String" for n in range(most // 2)}}
    for key in (None, "k1"):
        with pytest.raises(AdminError, match="past the limit"):
            mockattr.seed("chartmogul", seed, key=key)
    assert mockattr.state("chartmogul", key="k1") == k1
    assert mockattr.state("chartmogul", key="another-tenant") == fresh
    mockattr.seed("chartmogul", seed, key="new-tenant")  # a tenant with room takes it
    assert (
        len(mockattr.state("chartmogul", key="new-tenant")["attribute_definitions"])
        == len(fresh["attribute_definitions"]) + most // 2
    )


def test_fixtures_past_a_limit_still_take_seeds_that_add_nothing_to_it(tmp_path: Path) -> None:
    """A limit stops growth: fixtures that already hold more than a limit (an operator's choice) stay
    usable, and a seed is refused only when it adds to what is past the limit."""
    fixtures = json.loads((data_dir("fixtures") / "chartmogul.json").read_text())
    fixtures["attribute_definitions"].update(
        {f"k{n}": "String" for n in range(limit("chartmogul", "attribute_definitions"))}
    )
    (tmp_path / "chartmogul.json").write_text(json.dumps(fixtures))
    client = create_app(["chartmogul"], fixtures_dir=tmp_path).test_client()
    customer = {"customers": [{"uuid": "cus_new", "name": "New"}]}
    assert client.post("/__mockattr/seed?vendor=chartmogul", json=customer).status_code == 200
    one_more = {"attribute_definitions": {"one_more": "String"}}
    refused = client.post("/__mockattr/seed?vendor=chartmogul", json=one_more)
    assert refused.status_code == 400 and "past the limit" in refused.get_json()["error"]


def test_two_seeds_at_once_cannot_pass_a_limit_together(mockattr: MockattrHandle, chartmogul: VendorClient) -> None:
    """Each seed fits alone, not both: one is taken, the other refused. Fifty tenants make each seed's
    trials long enough for the two to overlap."""
    from concurrent.futures import ThreadPoolExecutor

    from mockattr.testing.handle import AdminError

    for n in range(50):
        chartmogul.call("retrieve", key=f"k{n}", uuid=ADAM)
    room = limit("chartmogul", "attribute_definitions") - len(chartmogul.state()["attribute_definitions"])
    seeds = [{"attribute_definitions": {f"{prefix}{n}": "String" for n in range(room)}} for prefix in "ab"]

    def seed(data: dict) -> str:
        try:
            mockattr.seed("chartmogul", data)
            return "taken"
        except AdminError:
            return "refused"

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(seed, seeds))
    assert outcomes == ["refused", "taken"]
    assert len(mockattr.state("chartmogul", key="k0")["attribute_definitions"]) == limit(
        "chartmogul", "attribute_definitions"
    )
