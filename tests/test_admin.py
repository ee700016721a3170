"""The admin API behind the plugin: journal, faults and seeds, through HTTP and the Python handle."""

from __future__ import annotations

import time

import pytest
import requests
from support import VendorClient

from mockattr.testing.handle import AdminError
from mockattr.testing.plugin import MockattrHandle

GID = "061d2feb-81c2-4694-a74a-13cecbe7d2ce"

ADAM = "cus_de305d54-75b4-431b-adb2-eb6b9e546012"


def test_journal_records_what_was_sent_and_answered(mockattr: MockattrHandle, chartmogul: VendorClient) -> None:
    chartmogul.call("update", {"custom": {"age": 9}}, uuid=ADAM)
    chartmogul.call("update", {"custom": ["age"]}, uuid=ADAM)
    chartmogul.call("retrieve", headers={"Authorization": "Basic Og=="}, uuid=ADAM)
    ok, bad, unauthorised = mockattr.requests("chartmogul")
    assert (ok.operation, ok.method, ok.status, ok.violations) == ("update", "PUT", 200, [])
    assert ok.path == f"/chartmogul/v1/customers/{ADAM}/attributes/custom"
    assert ok.request_body == {"custom": {"age": 9}} and ok.response_body["custom"]["age"] == 9
    assert ok.headers["Authorization"] == "[redacted]"
    assert bad.status == 400 and bad.violations == ["custom: must be of type object, not array"]
    assert unauthorised.status == 401 and unauthorised.violations == ["credential: missing or malformed"]
    assert [e.operation for e in mockattr.requests(operation="retrieve")] == ["retrieve"]
    assert mockattr.requests("bunce") == []


def test_a_path_no_operation_serves_is_journaled_as_a_violation(mockattr: MockattrHandle) -> None:
    requests.get(mockattr.url("bunce") + "/v1/customers", headers={"X-Authorization": "k"}, timeout=5)
    [entry] = mockattr.requests("bunce")
    assert entry.operation is None and entry.status == 404
    assert entry.violations == ["no operation of bunce serves GET /bunce/v1/customers"]


def test_journal_can_be_cleared(mockattr: MockattrHandle, chartmogul: VendorClient) -> None:
    chartmogul.call("retrieve", uuid=ADAM)
    assert requests.delete(mockattr.base_url + "/__mockattr/requests", timeout=5).status_code == 200
    assert mockattr.requests() == []


def test_fault_answers_times_then_the_mock_again(mockattr: MockattrHandle, bunce: VendorClient) -> None:
    mockattr.fail("bunce", "attribute_list", 429, times=2, retry_after=3)
    first, second, third = (bunce.call("attribute_list", fault=True) for _ in range(3))
    assert first.status_code == second.status_code == 429
    assert first.headers["Retry-After"] == "3"
    assert first.json() == {"success": False, "message": "Too Many Attempts."}
    assert third.status_code == 200
    assert [e.fault for e in mockattr.requests("bunce")] == [True, True, False]


def test_fault_for_any_operation_of_a_vendor(mockattr: MockattrHandle, invisible_collector: VendorClient) -> None:
    mockattr.fail("invisible_collector", None, 502)
    response = invisible_collector.session.get(
        invisible_collector.url("customer_get", id="x"), headers=invisible_collector.headers()
    )
    assert response.status_code == 502 and response.json() == {"code": 502, "message": "Bad Gateway"}


def test_chartmogul_500_and_504_are_plain_text_as_recorded(mockattr: MockattrHandle, chartmogul: VendorClient) -> None:
    mockattr.fail("chartmogul", "retrieve", 500)
    response = chartmogul.session.get(chartmogul.url("retrieve", uuid=ADAM), headers=chartmogul.headers())
    assert response.status_code == 500
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text == "500 Internal Server Error"


def test_a_delay_comes_before_the_normal_answer(mockattr: MockattrHandle, chartmogul: VendorClient) -> None:
    mockattr.fail("chartmogul", "retrieve", delay=0.3)
    started = time.monotonic()
    response = chartmogul.call("retrieve", uuid=ADAM)
    assert time.monotonic() - started >= 0.3
    assert response.status_code == 200


@pytest.mark.parametrize(
    "fault",
    [
        {"vendor": "nope", "status": 500},
        {"vendor": "chartmogul", "operation": "nope", "status": 500},
        {"vendor": "chartmogul", "status": 200},
        {"vendor": "chartmogul", "status": 500, "times": 0},
        {"vendor": "chartmogul", "status": 500, "delay": -1},
        {"vendor": "chartmogul"},
        {"vendor": "chartmogul", "status": 500, "colour": "red"},
        {"status": 500},
        ["not", "an", "object"],
    ],
)
def test_bad_faults_are_400(mockattr: MockattrHandle, fault: object) -> None:
    response = requests.post(mockattr.base_url + "/__mockattr/faults", json=fault, timeout=5)
    assert response.status_code == 400 and response.json()["error"].startswith("bad fault")
    assert requests.get(mockattr.base_url + "/__mockattr/faults", timeout=5).json() == {"faults": []}


def test_seed_completes_a_partial_customer_for_every_tenant(mockattr: MockattrHandle, chartmogul: VendorClient) -> None:
    chartmogul.call("retrieve", key="early-tenant", uuid=ADAM)  # a tenant that exists before the seed
    mockattr.seed(
        "chartmogul",
        {
            "attribute_definitions": {"tier": "Integer"},
            "customers": [
                {"uuid": "cus_new", "city": "Porto", "attributes": {"custom": {"tier": "3"}, "tags": ["seeded"]}}
            ],
        },
    )
    for key in ("early-tenant", "later-tenant"):
        customer = chartmogul.call("customer_get", key=key, uuid="cus_new").json()
        assert customer["address"]["city"] == "Porto" and customer["attributes"]["custom"] == {"tier": 3}
    assert chartmogul.call("update", {"custom": {"tier": 4}}, uuid=ADAM).status_code == 200


def test_seed_for_one_tenant(mockattr: MockattrHandle, invisible_collector: VendorClient) -> None:
    mockattr.seed(
        "invisible_collector",
        {"customers": [{"name": "Solo", "vatNumber": "1", "country": "PT", "externalId": "solo"}]},
        key="alice",
    )
    assert invisible_collector.call("customer_get", key="alice", id="solo").status_code == 200
    assert invisible_collector.call("customer_get", key="bob", id="solo").status_code == 404


def test_an_invisible_collector_seed_needs_no_more_than_an_id(
    mockattr: MockattrHandle, invisible_collector: VendorClient
) -> None:
    """README: "missing fields get defaults"; the API always returns name, vatNumber and country."""
    mockattr.seed("invisible_collector", {"customers": [{"externalId": "bare"}]})
    customer = invisible_collector.call("customer_get", id="bare").json()
    assert (customer["name"], customer["vatNumber"], customer["country"], customer["email"]) == (
        "",
        "999999990",
        "PT",
        None,
    )


@pytest.mark.parametrize(
    ("vendor", "data", "says"),
    [
        ("chartmogul", {"customers": [{"uuid": "cus_x", "attributes": {"custom": {"undefined": 1}}}]}, "undefined"),
        ("chartmogul", {"attribute_definitions": {"a": "Text"}}, "attribute_definitions.a"),
        (
            "bunce",
            {"customers": [{"customer_id": "1", "attributes": {"3b1f2a4c-8d9e-4f10-a2b3-c4d5e6f7a8b9": "yesterday"}}]},
            "timestamp",
        ),
        ("invisible_collector", {"customers": [{"name": "Numeric VAT", "vatNumber": 7}]}, "vatNumber"),
        ("bunce", ["not an object"], "JSON object"),
    ],
)
def test_bad_seeds_are_refused_and_change_nothing(
    mockattr: MockattrHandle, vendor: str, data: object, says: str
) -> None:
    before = mockattr.state(vendor)
    with pytest.raises(AdminError, match=says):
        mockattr.seed(vendor, data)  # type: ignore[arg-type]
    assert mockattr.state(vendor) == before


def test_handle_url_names_the_served_vendors(mockattr: MockattrHandle) -> None:
    assert mockattr.url("bunce") == mockattr.base_url + "/bunce"
    with pytest.raises(ValueError, match="not 'stripe'"):
        mockattr.url("stripe")


def test_the_journal_is_bounded_in_entries_and_bytes() -> None:
    from mockattr.server.journal import Journal, JournalEntry

    journal = Journal(limit=5, byte_limit=100)
    for n in range(10):
        journal.add(JournalEntry("bunce", "set_values", "POST", "/", "", {}, b"x" * 30, response_body=str(n).encode()))
    kept = journal.entries()
    assert [e.response_body for e in kept] == [b"7", b"8", b"9"], "oldest dropped first, within 100 bytes"


def test_kept_journal_entries_are_copies_no_work_for_the_garbage_collector() -> None:
    """The journal keeps up to 10,000 entries: kept as objects, they made Python's collector walk the
    whole heap every few thousand requests (bench/README.md, run K). It keeps them packed, untracked
    by the collector once it has seen them, and gives copies."""
    import gc

    from mockattr.server.journal import Journal, JournalEntry

    journal = Journal()
    entry = JournalEntry("bunce", "set_values", "POST", "/", "q=1", {"Accept": "*/*"}, b"{}", 200, b"[]", ["bad"])
    journal.add(entry)
    gc.collect(0)
    assert not any(gc.is_tracked(packed) for packed in journal._entries)
    [copy] = journal.entries()
    assert copy == entry and copy is not entry
    copy.violations.append("changed by a reader")
    assert journal.entries()[0].violations == ["bad"]


def test_a_seed_nested_too_deep_is_refused_not_a_500(mockattr: MockattrHandle) -> None:
    deep: object = "x"
    for _ in range(600):
        deep = [deep]
    seed = {"customers": [{"uuid": "cus_deep", "attributes": {"custom": {"tier": deep}}}]}
    answer = requests.post(
        mockattr.base_url + "/__mockattr/seed", params={"vendor": "chartmogul"}, json=seed, timeout=10
    )
    assert answer.status_code == 400 and "nested too deep" in answer.json()["error"]


def test_an_entry_with_values_of_subclasses_is_kept_and_ids_run_on() -> None:
    from http import HTTPStatus

    from mockattr.server.journal import Journal, JournalEntry

    journal = Journal()
    journal.add(JournalEntry("bunce", "op", "GET", "/", "", {}, None, status=HTTPStatus.OK))
    journal.add(JournalEntry("bunce", "op", "GET", "/", "", {}, None, status=201))
    assert [(e.id, e.status) for e in journal.entries()] == [(1, 200), (2, 201)]


def test_a_faulted_request_is_still_read_and_checked(mockattr: MockattrHandle, chartmogul: VendorClient) -> None:
    mockattr.fail("chartmogul", "update", 503)
    response = chartmogul.call("update", {"custom": ["x"]}, headers={"Authorization": ""}, fault=True, uuid=ADAM)
    assert response.status_code == 503
    [entry] = mockattr.requests("chartmogul")
    assert entry.fault and entry.request_body == {"custom": ["x"]}
    assert entry.violations == ["credential: missing or malformed", "custom: must be of type object, not array"]


def test_seeds_may_not_break_the_worlds_rules(mockattr: MockattrHandle) -> None:
    with pytest.raises(AdminError, match="custom.age"):  # age already holds 8 on a fixture customer
        mockattr.seed("chartmogul", {"attribute_definitions": {"age": "Boolean"}})
    with pytest.raises(AdminError, match="numeric"):  # 290000 holds a timestamp under this attribute
        mockattr.seed(
            "bunce",
            {"attributes": [{"id": "3b1f2a4c-8d9e-4f10-a2b3-c4d5e6f7a8b9", "name": "n", "data_type": "numeric"}]},
        )
    with pytest.raises(AdminError, match="customer_id or an email"):
        mockattr.seed("bunce", {"customers": [{}]})
    with pytest.raises(AdminError, match="100001"):
        mockattr.seed(
            "invisible_collector",
            {"customers": [{"name": "n", "vatNumber": "v", "country": "PT", "externalId": "100001"}]},
        )


def test_a_seed_that_one_tenant_cannot_take_is_refused_and_reaches_none(
    mockattr: MockattrHandle, invisible_collector: VendorClient
) -> None:
    """Tenant k1 made a customer with externalId E1; a seed for every tenant with E1 would give k1 two
    customers answering to E1: 400, and no tenant (k0, k1, or a new one) gets the seed."""
    new = {"name": "Mine", "vatNumber": "PT501234567", "country": "PT", "externalId": "E1"}
    invisible_collector.call("customer_create", new, key="k1")
    invisible_collector.call("attributes_get", key="k0", id=GID)  # k0 exists too
    seed = {"customers": [{"name": "Seeded", "vatNumber": "PT501234567", "country": "PT", "externalId": "E1"}]}
    with pytest.raises(AdminError, match="400.*E1"):
        mockattr.seed("invisible_collector", seed)
    for key in ("k0", "k2"):
        names = [c["name"] for c in mockattr.state("invisible_collector", key)["customers"]]
        assert "Seeded" not in names, f"tenant {key} got half a seed"
