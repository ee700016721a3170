"""Promises that a planted bug once broke with the whole suite green (issue 14): each test here fails
for one of them. Through HTTP, as a client meets them."""

from __future__ import annotations

import base64
import json

import pytest
import requests
from support import ServeProcesses
from werkzeug.test import Client

from mockattr.server.app import create_app
from mockattr.server.journal import JOURNAL_BYTES, JOURNAL_LIMIT
from mockattr.server.pipeline import MAX_BODY_BYTES
from mockattr.serving.werkzeug_server import start_background
from mockattr.testing.handle import Mockattr
from mockattr.testing.plugin import MockattrHandle

ADAM = "cus_de305d54-75b4-431b-adb2-eb6b9e546012"
CUSTOMER = f"/chartmogul/v1/customers/{ADAM}"


def test_a_patch_refused_for_too_many_tags_changes_no_other_field(mockattr: MockattrHandle) -> None:
    url = mockattr.url("chartmogul") + f"/v1/customers/{ADAM}"
    before = requests.get(url, auth=("k", ""), timeout=5).json()
    body = {"name": "Renamed", "attributes": {"tags": [f"t{n}" for n in range(1001)]}}
    answer = requests.patch(url, json=body, auth=("k", ""), timeout=5)
    assert answer.status_code in (400, 422), answer.text
    assert requests.get(url, auth=("k", ""), timeout=5).json() == before


def test_bunces_key_is_never_journaled_in_clear(mockattr: MockattrHandle) -> None:
    requests.get(mockattr.url("bunce") + "/v1/attributes", headers={"X-Authorization": "bunce-secret"}, timeout=5)
    [entry] = mockattr.requests("bunce")
    assert entry.headers["X-Authorization"] == "[redacted]"
    raw = requests.get(mockattr.base_url + "/__mockattr/requests", timeout=5).text
    assert "bunce-secret" not in raw


def test_a_fault_for_one_vendors_operation_leaves_another_vendors_namesake_alone(mockattr: MockattrHandle) -> None:
    mockattr.fail("invisible_collector", "customer_get", 500)  # ChartMogul has a customer_get too
    assert requests.get(mockattr.url("chartmogul") + f"/v1/customers/{ADAM}", auth=("k", ""), timeout=5).ok
    ic = requests.get(mockattr.url("invisible_collector") + "/customers/x", headers={"Authorization": "Bearer k"})
    assert ic.status_code == 500


def test_past_max_tenants_the_least_recently_used_goes(servers: ServeProcesses) -> None:
    _, urls = servers.start("--max-tenants", "2")

    def rep(key: str, value: str | None = None) -> str:
        url = urls["chartmogul"] + f"/v1/customers/{ADAM}/attributes"
        if value is not None:
            requests.put(url + "/custom", json={"custom": {"salesRep": value}}, auth=(key, ""), timeout=5)
        return requests.get(url, auth=(key, ""), timeout=5).json()["custom"]["salesRep"]

    rep("first", "F")
    rep("second", "S")
    assert rep("first") == "F"  # first is now the more recently used
    rep("third", "T")  # past 2: second goes, not first (which arrived earlier)
    assert (rep("first"), rep("second")) == ("F", "Gabi")


def test_the_journal_keeps_the_last_10000_entries() -> None:
    client = Client(create_app())
    auth = {"Authorization": "Basic " + base64.b64encode(b"k:").decode()}
    for n in range(JOURNAL_LIMIT + 5):
        client.get(f"{CUSTOMER}/attributes?n={n}", headers=auth)
    entries: list[dict] = []
    after = 0
    while after is not None:
        page = json.loads(client.get(f"/__mockattr/requests?limit=1000&after={after}").data)
        entries += page["requests"]
        after = page["next"]
    assert JOURNAL_LIMIT == 10_000 and len(entries) == JOURNAL_LIMIT
    assert entries[0]["query"] == "n=5" and entries[-1]["query"] == f"n={JOURNAL_LIMIT + 4}", "oldest first out"


def test_the_journal_keeps_at_most_64_mib_of_bodies() -> None:
    server = start_background(create_app())
    try:
        session = requests.Session()
        body = b'{"custom": {"channel": "' + b"x" * (MAX_BODY_BYTES - 40) + b'"}}'
        sent = 0
        while sent <= JOURNAL_BYTES + 2 * MAX_BODY_BYTES:
            session.put(server.url + CUSTOMER + "/attributes/custom", data=body, auth=("k", ""), timeout=10)
            sent += len(body)
        entries = session.get(server.url + "/__mockattr/requests", timeout=30).json()["requests"]
        kept = sum(len(json.dumps(e["request_body"])) for e in entries)
        assert JOURNAL_BYTES == 64 * 1024 * 1024 and kept <= JOURNAL_BYTES and len(entries) < sent // len(body)
    finally:
        server.stop()


@pytest.mark.parametrize(("value", "status"), [("TRUE", 200), ("t", 200), ("True", 400), ("yes", 400)])
def test_boolean_values_are_those_the_document_lists(mockattr: MockattrHandle, value: str, status: int) -> None:
    """ChartMogul's document: TRUE true t 1 FALSE false f 0; nothing else."""
    url = mockattr.url("chartmogul") + f"/v1/customers/{ADAM}/attributes/custom"
    answer = requests.put(url, json={"custom": {"pro": value}}, auth=("k", ""), timeout=5)
    assert answer.status_code == status, answer.text


def test_a_body_of_exactly_1_mib_is_read_and_one_byte_more_is_a_413(mockattr: MockattrHandle) -> None:
    url = mockattr.url("chartmogul") + f"/v1/customers/{ADAM}/attributes/custom"
    head, tail = b'{"custom": {"channel": "', b'"}}'
    exact = head + b"x" * (MAX_BODY_BYTES - len(head) - len(tail)) + tail
    assert len(exact) == MAX_BODY_BYTES
    assert requests.put(url, data=exact, auth=("k", ""), timeout=10).status_code != 413
    assert requests.put(url, data=exact + b" ", auth=("k", ""), timeout=10).status_code == 413


def test_user_and_password_is_its_own_tenant(mockattr: MockattrHandle) -> None:
    url = mockattr.url("chartmogul") + f"/v1/customers/{ADAM}/attributes"
    requests.put(url + "/custom", json={"custom": {"salesRep": "with password"}}, auth=("k", "pw"), timeout=5)
    assert requests.get(url, auth=("k", ""), timeout=5).json()["custom"]["salesRep"] == "Gabi"
    assert requests.get(url, auth=("k", "pw"), timeout=5).json()["custom"]["salesRep"] == "with password"


def test_the_journal_is_read_a_page_at_a_time(mockattr: MockattrHandle) -> None:
    url = mockattr.url("chartmogul") + f"/v1/customers/{ADAM}/attributes"
    for _ in range(250):
        requests.get(url, auth=("k", ""), timeout=5)
    admin = mockattr.base_url + "/__mockattr/requests"
    first = requests.get(admin, timeout=5).json()
    assert len(first["requests"]) == 100 and first["next"] == first["requests"][-1]["id"]
    second = requests.get(admin, params={"after": first["next"], "limit": 1000}, timeout=5).json()
    assert len(second["requests"]) == 150 and second["next"] is None
    assert [e["id"] for e in first["requests"] + second["requests"]] == list(range(1, 251))
    assert len(mockattr.requests()) == 250, "the handle reads every page"
    for bad in ({"limit": "0"}, {"limit": "1001"}, {"after": "-1"}, {"limit": "x"}):
        answer = requests.get(admin, params=bad, timeout=5)
        assert answer.status_code == 400 and "must be a whole number" in answer.json()["error"]


def test_eight_concurrent_reads_of_a_full_journal_hold_memory_bounded(servers: ServeProcesses) -> None:
    """Issue 14 saw 1.92 GB when each read built the whole journal as one document (bench/journal_memory.py
    measures it: the reads now add nothing measurable). The bound here is generous: 200 MiB."""
    import threading
    from pathlib import Path

    process, urls = servers.start()

    def peak() -> float:
        status = Path(f"/proc/{process.pid}/status").read_text()
        return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")) / 1024

    body = b'{"custom": {"channel": "' + b"x" * (MAX_BODY_BYTES - 40) + b'"}}'
    session = requests.Session()
    for _ in range(40):
        session.put(urls["chartmogul"] + f"/v1/customers/{ADAM}/attributes/custom", data=body, auth=("k", ""))
    before = peak()
    counts: list[int] = []
    readers = [threading.Thread(target=lambda: counts.append(len(Mockattr(urls["base"]).requests()))) for _ in range(8)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    assert len(counts) == 8 and min(counts) > 20, counts
    assert peak() - before < 200, f"the reads took the peak from {before:.0f} to {peak():.0f} MiB"
