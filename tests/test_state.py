"""State: concurrent writes lose nothing, tenants are isolated, the allow-list and admin API work."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from support import VendorClient, basic

from mockattr import __version__
from mockattr.app import create_app
from mockattr.server import start_background

ADAM = "cus_de305d54-75b4-431b-adb2-eb6b9e546012"


def test_twenty_threads_adding_distinct_keys_lose_none(chartmogul: VendorClient) -> None:
    def add(n: int) -> int:
        client = VendorClient("chartmogul", chartmogul.base_url)  # a session per thread
        body = {"custom": [{"type": "Integer", "key": f"thread_{n}", "value": n}]}
        return client.call("add", body, uuid=ADAM).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(add, range(20)))
    assert statuses == [200] * 20
    custom = chartmogul.call("retrieve", uuid=ADAM).json()["custom"]
    assert {f"thread_{n}": n for n in range(20)}.items() <= custom.items()


def test_each_credential_is_its_own_tenant(chartmogul: VendorClient) -> None:
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
    assert response.json() == {"status": "ok", "version": __version__}
    assert response.headers["X-Mockattr-Version"] == __version__


def test_state_needs_a_known_vendor_and_its_credential(server_url: str) -> None:
    unknown = requests.get(f"{server_url}/__mockattr/state", params={"vendor": "nope"}, timeout=5)
    assert unknown.status_code == 400 and "chartmogul" in unknown.json()["error"]
    anonymous = requests.get(f"{server_url}/__mockattr/state", params={"vendor": "chartmogul"}, timeout=5)
    assert anonymous.status_code == 401
    assert anonymous.json()["message"] == "No valid API key provided"


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
    state = requests.get(allow_listed_url.replace("/chartmogul", "/__mockattr/state"),
                         params={"vendor": "chartmogul"}, headers=basic("other-key"), timeout=5)
    assert state.status_code == 401
