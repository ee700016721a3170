"""Namespaces: one server, separate sets of tenants, each with its own journal, faults and seeds,
selected by the path prefix /__ns/<name>."""

from __future__ import annotations

import pytest
import requests

from mockattr.server.runtime import MAX_NAMESPACES
from mockattr.testing.handle import AdminError, Mockattr
from mockattr.testing.plugin import MockattrHandle

ADAM = "cus_de305d54-75b4-431b-adb2-eb6b9e546012"
ATTRIBUTES = f"/v1/customers/{ADAM}/attributes"


def sales_rep(mock: Mockattr) -> str:
    answer = requests.get(mock.url("chartmogul") + ATTRIBUTES, auth=("same-key", ""), timeout=5)
    assert answer.status_code == 200, answer.text
    return answer.json()["custom"]["salesRep"]


def set_sales_rep(mock: Mockattr, name: str) -> None:
    url = mock.url("chartmogul") + ATTRIBUTES + "/custom"
    answer = requests.put(url, json={"custom": {"salesRep": name}}, auth=("same-key", ""), timeout=5)
    assert answer.status_code == 200, answer.text


def test_the_same_credential_has_a_world_per_namespace(mockattr: MockattrHandle) -> None:
    a, b = mockattr.namespace("run-a"), mockattr.namespace("run-b")
    assert a.url("chartmogul") == mockattr.base_url + "/__ns/run-a/chartmogul"
    set_sales_rep(a, "A")
    set_sales_rep(b, "B")
    assert (sales_rep(a), sales_rep(b), sales_rep(mockattr)) == ("A", "B", "Gabi")
    assert a.health()["namespace"] == "run-a" and "namespace" not in mockattr.health()


def test_journal_faults_seeds_and_reset_reach_one_namespace(mockattr: MockattrHandle) -> None:
    a, b = mockattr.namespace("run-a"), mockattr.namespace("run-b")
    set_sales_rep(a, "A")
    set_sales_rep(b, "B")
    a.fail("chartmogul", "retrieve", 503)
    b.seed("chartmogul", {"attribute_definitions": {"only_b": "String"}})
    assert [e.path for e in a.requests()] == [f"/chartmogul{ATTRIBUTES}/custom"], "the path as the vendor's"
    assert len(b.requests()) == 1 and mockattr.requests() == []
    assert sales_rep(b) == "B", "a's fault is a's"
    with pytest.raises(AssertionError):
        sales_rep(a)
    assert "only_b" in b.state("chartmogul")["attribute_definitions"]
    assert "only_b" not in a.state("chartmogul")["attribute_definitions"]
    a.reset()
    assert sales_rep(a) == "Gabi" and sales_rep(b) == "B"
    Mockattr(mockattr.base_url).reset()  # over HTTP (the fixture's own reset also drops every namespace)
    assert sales_rep(b) == "B", "the server's own reset is its own namespace's"


def test_a_namespace_is_listed_and_dropped(mockattr: MockattrHandle) -> None:
    a = mockattr.namespace("to-drop")
    set_sales_rep(a, "A")
    listed = requests.get(mockattr.base_url + "/__mockattr/namespaces", timeout=5).json()["namespaces"]
    assert "to-drop" in listed
    a.drop_namespace()
    listed = requests.get(mockattr.base_url + "/__mockattr/namespaces", timeout=5).json()["namespaces"]
    assert "to-drop" not in listed
    assert sales_rep(a) == "Gabi", "used again, it starts from the fixtures"
    with pytest.raises(AdminError, match="server's own namespace"):
        mockattr.drop_namespace()


@pytest.mark.parametrize("name", ["", "-x", "x" * 65, "sp ace", "é"])
def test_a_bad_namespace_name_is_a_404_that_says_why(mockattr: MockattrHandle, name: str) -> None:
    answer = requests.get(f"{mockattr.base_url}/__ns/{name}/chartmogul{ATTRIBUTES}", auth=("k", ""), timeout=5)
    assert answer.status_code == 404
    assert answer.json()["error"].startswith("a namespace (/__ns/<name>) is 1 to 64")
    assert answer.headers["X-Mockattr-Version"]


def test_past_the_limit_the_least_recently_used_namespace_goes(mockattr: MockattrHandle) -> None:
    first = mockattr.namespace("first")
    set_sales_rep(first, "kept?")
    for n in range(MAX_NAMESPACES):
        mockattr.namespace(f"n{n}").health()
    listed = requests.get(mockattr.base_url + "/__mockattr/namespaces", timeout=5).json()["namespaces"]
    assert len(listed) == MAX_NAMESPACES and "first" not in listed
    assert sales_rep(first) == "Gabi"


@pytest.mark.parametrize("path", ["/__ns/bare", "/__ns/a%2Fb/chartmogul" + ATTRIBUTES, "/__ns/c%2F/chartmogul"])
def test_a_path_that_is_no_namespace_creates_none(mockattr: MockattrHandle, path: str) -> None:
    answer = requests.get(mockattr.base_url + path, auth=("k", ""), timeout=5)
    assert answer.status_code == 404
    assert requests.get(mockattr.base_url + "/__mockattr/namespaces", timeout=5).json() == {"namespaces": []}


def test_a_namespace_does_not_list_the_others(mockattr: MockattrHandle) -> None:
    mockattr.namespace("other").health()
    assert requests.get(mockattr.base_url + "/__ns/mine/__mockattr/namespaces", timeout=5).status_code == 404


def test_a_namespace_keeps_at_most_200_tenants(mockattr: MockattrHandle) -> None:
    from mockattr.server.runtime import NAMESPACE_MAX_TENANTS

    assert mockattr.namespace("small").health()["max_tenants"] == NAMESPACE_MAX_TENANTS
