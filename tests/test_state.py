"""State: concurrent writes lose nothing, tenants are isolated, the allow-list and admin API work."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from support import VendorClient, basic

from mockattr import VENDOR_IDS, __version__
from mockattr.server.app import create_app
from mockattr.serving.werkzeug_server import start_background

ADAM = "cus_de305d54-75b4-431b-adb2-eb6b9e546012"


@pytest.fixture(params=["memory", "durable"])
def any_store(request: pytest.FixtureRequest, tmp_path) -> VendorClient:
    """ChartMogul on the session server (state in memory), then on one keeping state in a SQLite file."""
    if request.param == "memory":
        return request.getfixturevalue("chartmogul")
    server = start_background(create_app(state_file=tmp_path / "state.db"))
    request.addfinalizer(server.stop)
    return VendorClient("chartmogul", f"{server.url}/chartmogul")


def test_twenty_threads_adding_distinct_keys_lose_none(any_store: VendorClient) -> None:
    chartmogul = any_store

    def add(n: int) -> int:
        client = VendorClient("chartmogul", chartmogul.base_url)  # a session per thread
        body = {"custom": [{"type": "Integer", "key": f"thread_{n}", "value": n}]}
        return client.call("add", body, uuid=ADAM).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(add, range(20)))
    assert statuses == [200] * 20
    custom = chartmogul.call("retrieve", uuid=ADAM).json()["custom"]
    assert {f"thread_{n}": n for n in range(20)}.items() <= custom.items()


@pytest.fixture
def eager_thread_switching() -> Iterator[None]:
    """Switch threads as often as CPython allows, so an unlocked read-modify-write loses updates."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(previous)


@pytest.mark.usefixtures("eager_thread_switching")
def test_concurrent_adds_and_removes_lose_no_update(any_store: VendorClient) -> None:
    """tags_remove rebuilds the tag list while tags_add extends it: without the tenant lock, one
    overwrites the other (this test fails when TenantStore.world does not lock)."""
    chartmogul = any_store
    base = [f"base_{n}" for n in range(3_000)]
    chartmogul.call("tags_add", {"tags": base}, uuid=ADAM)
    removed = base[:200]

    def work(n: int) -> None:
        session, url = requests.Session(), chartmogul.url("tags_add", uuid=ADAM)  # no answer checks: speed
        for step in range(10):
            if n % 2:
                response = session.post(url, json={"tags": [f"new_{n}_{step}"]}, headers=chartmogul.headers())
            else:
                response = session.delete(url, json={"tags": [removed[n * 10 + step]]}, headers=chartmogul.headers())
            assert response.status_code == 200

    with ThreadPoolExecutor(max_workers=20) as pool:
        list(pool.map(work, range(20)))
    tags = set(chartmogul.call("retrieve", uuid=ADAM).json()["tags"])
    added = {f"new_{n}_{step}" for n in range(1, 20, 2) for step in range(10)}
    assert added <= tags, f"lost adds: {sorted(added - tags)[:5]}"
    gone = {removed[n * 10 + step] for n in range(0, 20, 2) for step in range(10)}
    assert not gone & tags, f"lost removes: {sorted(gone & tags)[:5]}"


def test_each_credential_is_its_own_tenant(any_store: VendorClient) -> None:
    chartmogul = any_store
    chartmogul.call("update", {"custom": {"salesRep": "Alice"}}, key="tenant-a", uuid=ADAM)
    chartmogul.call("add", {"custom": [{"type": "String", "key": "only_b", "value": "b"}]}, key="tenant-b", uuid=ADAM)
    a = chartmogul.call("retrieve", key="tenant-a", uuid=ADAM).json()["custom"]
    b = chartmogul.call("retrieve", key="tenant-b", uuid=ADAM).json()["custom"]
    fresh = chartmogul.call("retrieve", key="tenant-c", uuid=ADAM).json()["custom"]
    assert a["salesRep"] == "Alice" and "only_b" not in a
    assert b["salesRep"] == "Gabi" and b["only_b"] == "b"
    assert fresh["salesRep"] == "Gabi" and "only_b" not in fresh
    assert "only_b" not in chartmogul.state(key="tenant-a")["attribute_definitions"]


def test_reset_returns_every_tenant_to_the_fixtures(chartmogul: VendorClient, server_url: str) -> None:
    chartmogul.call("update", {"custom": {"salesRep": "Alice"}}, uuid=ADAM)
    assert requests.post(f"{server_url}/__mockattr/reset", timeout=5).json() == {"status": "ok"}
    assert chartmogul.call("retrieve", uuid=ADAM).json()["custom"]["salesRep"] == "Gabi"


def test_health_and_version_header(server_url: str) -> None:
    response = requests.get(f"{server_url}/__mockattr/health", timeout=5)
    assert response.json() == {
        "status": "ok",
        "version": __version__,
        "vendors": {vendor: f"/{vendor}" for vendor in VENDOR_IDS},
        "tenants": 0,
        "max_tenants": 1000,
        "pid": os.getpid(),  # the plugin's server is in this process
    }
    assert response.headers["X-Mockattr-Version"] == __version__


def test_state_of_the_named_tenant_else_the_last_used(chartmogul: VendorClient, server_url: str) -> None:
    url = f"{server_url}/__mockattr/state"
    unknown = requests.get(url, params={"vendor": "nope"}, timeout=5)
    assert unknown.status_code == 400 and "chartmogul" in unknown.json()["error"]
    fresh = requests.get(url, params={"vendor": "chartmogul"}, timeout=5).json()
    assert fresh["customers"][0]["attributes"]["custom"]["salesRep"] == "Gabi", "no request yet: the fixtures"
    chartmogul.call("update", {"custom": {"salesRep": "Alice"}}, key="tenant-a", uuid=ADAM)
    chartmogul.call("update", {"custom": {"salesRep": "Bob"}}, key="tenant-b", uuid=ADAM)

    def sales_rep(**params: str) -> str:
        state = requests.get(url, params={"vendor": "chartmogul", **params}, timeout=5).json()
        return state["customers"][0]["attributes"]["custom"]["salesRep"]

    assert sales_rep() == "Bob", "no credential: the tenant of the last request"
    assert sales_rep(key="tenant-a") == "Alice"
    assert chartmogul.state(key="tenant-a")["customers"][0]["attributes"]["custom"]["salesRep"] == "Alice"


@pytest.fixture
def allow_listed_url() -> Iterator[str]:
    server = start_background(create_app(api_keys=["good-key"]))
    yield f"{server.url}/chartmogul"
    server.stop()


def test_api_key_allow_list(allow_listed_url: str) -> None:
    client = VendorClient("chartmogul", allow_listed_url, key="good-key")
    assert client.call("retrieve", uuid=ADAM).status_code == 200
    refused = client.call("retrieve", key="other-key", uuid=ADAM)
    assert refused.status_code == 401
    assert refused.json()["message"] == "No valid API key provided"
    state = requests.get(
        allow_listed_url.replace("/chartmogul", "/__mockattr/state"),
        params={"vendor": "chartmogul"},
        headers=basic("other-key"),
        timeout=5,
    )
    assert state.status_code == 401


def test_a_flood_of_new_api_keys_keeps_at_most_max_tenants() -> None:
    server = start_background(create_app(max_tenants=50))
    try:
        session = requests.Session()
        url = f"{server.url}/chartmogul/v1/customers/{ADAM}/attributes/custom"
        session.put(url, json={"custom": {"salesRep": "Kept"}}, headers=basic("first"), timeout=5)
        for n in range(600):
            session.get(f"{server.url}/bunce/v1/attributes", headers={"X-Authorization": f"flood-{n}"}, timeout=5)
            if n % 100 == 0:
                assert session.get(f"{server.url}/__mockattr/health", timeout=5).json()["tenants"] <= 50
        assert session.get(f"{server.url}/__mockattr/health", timeout=5).json()["tenants"] == 50
        state = session.get(f"{server.url}/__mockattr/state", params={"vendor": "chartmogul", "key": "first"}).json()
        assert state["customers"][0]["attributes"]["custom"]["salesRep"] == "Gabi", "the oldest tenant was dropped"
    finally:
        server.stop()
