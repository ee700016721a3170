"""Who may do what on the admin API: with --admin-token, the token opens it; a vendor credential reaches
its own tenant only; everything else is a 401. Through HTTP, as a client meets it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from support import ServeProcesses

from mockattr.server.app import create_app
from mockattr.serving.werkzeug_server import start_background

TOKEN = "s3cret-token"
ADAM = "cus_de305d54-75b4-431b-adb2-eb6b9e546012"
ATTRIBUTES = f"/chartmogul/v1/customers/{ADAM}/attributes"


@pytest.fixture
def base() -> Iterator[str]:
    server = start_background(create_app(admin_token=TOKEN, api_keys=["alice", "bob", "carol"]))
    yield server.url
    server.stop()


def admin(
    base: str, method: str, path: str, *, token: str | None = None, key: str | None = None, **kw
) -> requests.Response:
    headers = {"X-Mockattr-Admin-Token": token} if token is not None else {}
    auth = (key, "") if key is not None else None
    return requests.request(method, f"{base}/__mockattr/{path}", headers=headers, auth=auth, timeout=5, **kw)


def set_rep(base: str, key: str, name: str) -> None:
    answer = requests.put(base + ATTRIBUTES + "/custom", json={"custom": {"salesRep": name}}, auth=(key, ""), timeout=5)
    assert answer.status_code == 200


CALLS = [
    ("GET", "state?vendor=chartmogul", None),
    ("POST", "reset", None),
    ("POST", "seed?vendor=chartmogul", {"attribute_definitions": {"x": "String"}}),
    ("GET", "requests", None),
    ("DELETE", "requests", None),
    ("GET", "faults", None),
    ("POST", "faults", {"vendor": "chartmogul", "status": 500}),
    ("DELETE", "faults", None),
    ("GET", "namespaces", None),
    ("GET", "openapi.json", None),
]


@pytest.mark.parametrize(("method", "path", "body"), CALLS)
def test_every_admin_call_but_health_needs_the_token(base: str, method: str, path: str, body: object) -> None:
    for token in (None, "wrong", TOKEN[:-1], ""):
        answer = admin(base, method, path, token=token, json=body)
        assert answer.status_code == 401, (token, answer.text)
        assert "X-Mockattr-Admin-Token" in answer.json()["error"]
    assert admin(base, method, path, token=TOKEN, json=body).status_code in (200, 201)
    assert admin(base, "GET", "health").status_code == 200


def test_a_credential_reads_and_resets_its_own_tenant_only(base: str) -> None:
    set_rep(base, "alice", "Alice")
    set_rep(base, "bob", "Bob")
    own = admin(base, "GET", "state?vendor=chartmogul", key="alice").json()
    assert own["customers"][0]["attributes"]["custom"]["salesRep"] == "Alice"
    assert admin(base, "GET", "state?vendor=chartmogul&key=bob", key="alice").status_code == 401
    assert admin(base, "GET", "state?vendor=chartmogul").status_code == 401, "no credential: no last tenant's world"
    ic = base + "/invisible_collector/customers/061d2feb-81c2-4694-a74a-13cecbe7d2ce/attributes"
    bearer = {"Authorization": "Bearer alice"}
    assert requests.post(ic, json={"kept": "yes"}, headers=bearer, timeout=5).status_code == 200
    assert admin(base, "POST", "reset?vendor=chartmogul", key="alice").status_code == 200
    assert requests.get(ic, headers=bearer, timeout=5).json()["kept"] == "yes", "alice's other vendor's tenant stays"
    bobs = admin(base, "GET", "state?vendor=chartmogul&key=bob", token=TOKEN).json()
    assert bobs["customers"][0]["attributes"]["custom"]["salesRep"] == "Bob", "bob's tenant untouched"
    alices = admin(base, "GET", "state?vendor=chartmogul", key="alice").json()
    assert alices["customers"][0]["attributes"]["custom"]["salesRep"] == "Gabi"


def test_a_credential_seeds_its_own_tenant_only(base: str) -> None:
    seeded = admin(
        base, "POST", "seed?vendor=chartmogul", key="alice", json={"attribute_definitions": {"mine": "String"}}
    )
    assert seeded.status_code == 200
    assert "mine" in admin(base, "GET", "state?vendor=chartmogul", key="alice").json()["attribute_definitions"]
    assert "mine" not in admin(base, "GET", "state?vendor=chartmogul", key="bob").json()["attribute_definitions"]


def test_a_credential_sees_and_clears_its_own_journal_entries_only(base: str) -> None:
    set_rep(base, "alice", "A")
    set_rep(base, "bob", "B")
    mine = admin(base, "GET", "requests?vendor=chartmogul", key="alice").json()["requests"]
    assert [e["request_body"]["custom"]["salesRep"] for e in mine] == ["A"]
    assert all("tenant" not in e for e in mine), "the credential is never in the journal's JSON"
    assert admin(base, "DELETE", "requests?vendor=chartmogul", key="alice").status_code == 200
    everything = admin(base, "GET", "requests", token=TOKEN).json()["requests"]
    assert [e["request_body"]["custom"]["salesRep"] for e in everything] == ["B"]


def test_a_credential_plans_faults_for_its_own_calls_only(base: str) -> None:
    planned = admin(
        base, "POST", "faults", key="alice", json={"vendor": "chartmogul", "operation": "retrieve", "status": 503}
    )
    assert planned.status_code == 201 and planned.json()["fault"]["key"] == "alice"
    other = {"vendor": "chartmogul", "status": 503, "key": "bob"}
    assert admin(base, "POST", "faults", key="alice", json=other).status_code == 401
    assert requests.get(base + ATTRIBUTES, auth=("bob", ""), timeout=5).status_code == 200
    assert requests.get(base + ATTRIBUTES, auth=("alice", ""), timeout=5).status_code == 503
    admin(base, "POST", "faults", token=TOKEN, json={"vendor": "chartmogul", "status": 500, "key": "bob"})
    assert admin(base, "GET", "faults?vendor=chartmogul", key="alice").json() == {"faults": []}
    admin(base, "DELETE", "faults?vendor=chartmogul", key="alice")
    assert len(admin(base, "GET", "faults", token=TOKEN).json()["faults"]) == 1, "bob's fault stays"


def test_a_credential_the_server_does_not_accept_opens_nothing(base: str) -> None:
    assert admin(base, "GET", "state?vendor=chartmogul", key="mallory").status_code == 401


def test_namespaces_the_token_reaches_all_a_credential_its_own_tenant_in_one(base: str) -> None:
    ns = base + "/__ns/job-1"
    set_rep(ns, "alice", "in job-1")
    assert requests.get(f"{ns}/__mockattr/requests", timeout=5).status_code == 401
    assert (
        len(
            requests.get(f"{ns}/__mockattr/requests", headers={"X-Mockattr-Admin-Token": TOKEN}, timeout=5).json()[
                "requests"
            ]
        )
        == 1
    )
    own = requests.get(f"{ns}/__mockattr/state?vendor=chartmogul", auth=("alice", ""), timeout=5).json()
    assert own["customers"][0]["attributes"]["custom"]["salesRep"] == "in job-1"
    assert requests.delete(f"{ns}/__mockattr/namespace", auth=("alice", ""), timeout=5).status_code == 401


def test_serve_on_a_network_address_requires_a_printed_token(servers: ServeProcesses) -> None:
    process, urls = servers.start("--host", "0.0.0.0")
    token = urls["admin token"].split()[0]
    base = urls["base"].replace("0.0.0.0", "127.0.0.1")
    assert len(token) >= 24
    assert requests.get(base + "/__mockattr/requests", timeout=5).status_code == 401
    assert (
        requests.get(base + "/__mockattr/requests", headers={"X-Mockattr-Admin-Token": token}, timeout=5).status_code
        == 200
    )


def test_serve_on_loopback_stays_open_and_a_chosen_token_is_not_printed(servers: ServeProcesses) -> None:
    _, urls = servers.start()
    assert "admin token" not in urls and requests.get(urls["admin"] + "/requests", timeout=5).status_code == 200
    _, urls = servers.start("--admin-token", TOKEN)
    assert "admin token" not in urls
    assert requests.get(urls["admin"] + "/requests", timeout=5).status_code == 401


@pytest.mark.parametrize("token", ["", "é-token", " padded "])
def test_a_token_that_cannot_be_a_header_value_is_a_usage_error(token: str) -> None:
    from support import serve_fails

    assert "--admin-token" in serve_fails("--admin-token", token)
