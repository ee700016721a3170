"""``mockattr serve --state-file``: real server processes on one SQLite file — writes survive ``kill -9``,
several processes stay consistent, an unusable file is a clear error at start and is left as it was."""

from __future__ import annotations

import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from support import AUTH_HEADERS, ServeProcesses, basic, serve_fails

from mockattr.server.app import create_app
from mockattr.server.durable import FORMAT
from mockattr.server.runtime import runtime_of

ADAM = "cus_de305d54-75b4-431b-adb2-eb6b9e546012"
CUSTOM = f"/v1/customers/{ADAM}/attributes/custom"
JOB_TITLE = "9f171295-6935-400c-af6b-fd628a46bc71"
IC_GID = "061d2feb-81c2-4694-a74a-13cecbe7d2ce"


def test_acknowledged_writes_of_every_vendor_survive_kill_9(servers: ServeProcesses, tmp_path: Path) -> None:
    state = str(tmp_path / "state.db")
    process, urls = servers.start("--state-file", state)
    put = requests.put(urls["chartmogul"] + CUSTOM, json={"custom": {"salesRep": "Kept"}}, headers=basic("k"))
    assert put.status_code == 200, put.text
    made = requests.post(
        urls["bunce"] + "/v1/attributes",
        json={"name": "plan_tier", "data_type": "text"},
        headers=AUTH_HEADERS["bunce"]("k"),
    )
    assert made.status_code == 201, made.text
    customer = requests.post(
        urls["invisible_collector"] + "/customers",
        json={"name": "Durable Lda", "vatNumber": "PT501234567", "country": "PT", "externalId": "dur-1"},
        headers=AUTH_HEADERS["invisible_collector"]("k"),
    )
    assert customer.status_code == 200, customer.text
    process.kill()  # SIGKILL: nothing is flushed on the way out
    process.wait(10)

    _, urls = servers.start("--state-file", state)
    custom = requests.get(urls["chartmogul"] + f"/v1/customers/{ADAM}/attributes", headers=basic("k")).json()
    assert custom["custom"]["salesRep"] == "Kept"
    listed = requests.get(urls["bunce"] + "/v1/attributes", headers=AUTH_HEADERS["bunce"]("k")).json()
    assert "plan_tier" in [a["name"] for a in listed["data"]]
    again = requests.get(
        urls["invisible_collector"] + "/customers/dur-1", headers=AUTH_HEADERS["invisible_collector"]("k")
    )
    assert again.status_code == 200 and again.json()["name"] == "Durable Lda"
    other = requests.get(urls["chartmogul"] + f"/v1/customers/{ADAM}/attributes", headers=basic("other")).json()
    assert other["custom"]["salesRep"] == "Gabi", "another credential is still its own tenant, from the fixtures"


BODIES = {"Content-Type": "application/json"}


def test_every_kind_of_write_is_in_the_file_after_kill_9(servers: ServeProcesses, tmp_path: Path) -> None:
    """Each operation that changes state, then kill -9 and a restart: every vendor's world reads back as
    it was (the file holds only the customers a handler touched: this shows none is missed)."""
    state = str(tmp_path / "state.db")
    process, urls = servers.start("--state-file", state)
    cm, bunce, ic = urls["chartmogul"], urls["bunce"], urls["invisible_collector"]
    key = {vendor: AUTH_HEADERS[vendor]("k") for vendor in ("chartmogul", "bunce", "invisible_collector")}
    calls = [
        ("chartmogul", "POST", cm + CUSTOM, {"custom": [{"type": "String", "key": "plan", "value": "pro"}]}),
        (
            "chartmogul",
            "POST",
            cm + "/v1/customers/attributes/custom",
            {"email": "ben@example.com", "custom": [{"type": "Integer", "key": "seats", "value": 3}]},
        ),
        ("chartmogul", "PUT", cm + CUSTOM, {"custom": {"salesRep": "Kept"}}),
        ("chartmogul", "DELETE", cm + CUSTOM, {"custom": ["age"]}),
        ("chartmogul", "POST", cm + f"/v1/customers/{ADAM}/attributes/tags", {"tags": ["durable"]}),
        ("chartmogul", "DELETE", cm + f"/v1/customers/{ADAM}/attributes/tags", {"tags": ["important"]}),
        ("chartmogul", "POST", cm + "/v1/customers/attributes/tags", {"email": "ben@example.com", "tags": ["by-mail"]}),
        ("chartmogul", "PATCH", cm + f"/v1/customers/{ADAM}", {"name": "Adam Durable"}),
        ("bunce", "POST", bunce + "/v1/attributes", {"name": "plan_tier", "data_type": "text"}),
        (
            "bunce",
            "POST",
            bunce + "/v1/attributes/customers",
            {
                "attributes": [
                    {"id": JOB_TITLE, "customer_id": "290000", "value": "CTO"},
                    {
                        "id": JOB_TITLE,
                        "value": "new",
                        "customer": {
                            "customer_id": "new-one",
                            "devices": [{"device_type": "ios", "device_token": "t1"}],
                        },
                    },
                ]
            },
        ),
        (
            "invisible_collector",
            "POST",
            ic + "/customers",
            {"name": "Durable Lda", "vatNumber": "PT501234567", "country": "PT"},
        ),
        ("invisible_collector", "POST", ic + f"/customers/{IC_GID}/attributes", {"tier": "gold"}),
    ]
    for vendor, method, url, body in calls:
        answer = requests.request(method, url, json=body, headers=key[vendor], timeout=10)
        assert answer.status_code in (200, 201), f"{method} {url}: {answer.status_code} {answer.text}"
    before = {vendor: _state(urls["admin"], vendor) for vendor in key}
    process.kill()
    process.wait(10)
    _, urls = servers.start("--state-file", state)
    assert {vendor: _state(urls["admin"], vendor) for vendor in key} == before


def _state(admin: str, vendor: str) -> dict:
    answer = requests.get(admin + "/state", params={"vendor": vendor, "key": "k"}, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_two_servers_on_one_file_lose_no_update(servers: ServeProcesses, tmp_path: Path) -> None:
    state = str(tmp_path / "state.db")
    first = servers.start("--state-file", state)[1]["chartmogul"]
    second = servers.start("--state-file", state)[1]["chartmogul"]

    def add(n: int) -> int:
        base = (first, second)[n % 2]
        body = {"custom": [{"type": "Integer", "key": f"n_{n}", "value": n}]}
        return requests.post(base + CUSTOM, json=body, headers=basic("shared"), timeout=30).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        assert list(pool.map(add, range(60))) == [200] * 60
    for base in (first, second):
        custom = requests.get(base + f"/v1/customers/{ADAM}/attributes", headers=basic("shared")).json()["custom"]
        missing = {f"n_{n}" for n in range(60)} - set(custom)
        assert not missing, f"{base} lost {sorted(missing)[:5]}"


def test_seeds_resets_and_tenant_counts_are_shared_through_the_file(servers: ServeProcesses, tmp_path: Path) -> None:
    state = str(tmp_path / "state.db")
    a = servers.start("--state-file", state)[1]
    b = servers.start("--state-file", state)[1]
    seed = {"customers": [{"uuid": "cus_seeded", "attributes": {"custom": {}}}]}
    assert requests.post(a["admin"] + "/seed", params={"vendor": "chartmogul"}, json=seed).status_code == 200
    seen = requests.get(b["chartmogul"] + "/v1/customers/cus_seeded/attributes", headers=basic("new-key"))
    assert seen.status_code == 200, "a seed added through one server reaches new tenants of the other"
    assert requests.get(a["admin"] + "/health").json()["tenants"] == 1
    assert requests.post(b["admin"] + "/reset").status_code == 200
    gone = requests.get(a["chartmogul"] + "/v1/customers/cus_seeded/attributes", headers=basic("new-key"))
    assert gone.status_code == 404, "a reset through one server empties the file for both"


def test_a_new_tenant_past_max_tenants_is_refused_with_the_vendors_429(servers: ServeProcesses, tmp_path: Path) -> None:
    _, urls = servers.start("--state-file", str(tmp_path / "state.db"), "--max-tenants", "3")
    for n in range(3):
        assert requests.get(urls["chartmogul"] + f"/v1/customers/{ADAM}/attributes", headers=basic(f"k{n}")).ok
    refused = requests.get(urls["chartmogul"] + f"/v1/customers/{ADAM}/attributes", headers=basic("k3"))
    assert refused.status_code == 429
    assert refused.json() == {"code": 429, "message": "Your request rate has exceeded our rate limit.", "param": None}
    assert "--max-tenants" in refused.headers["X-Mockattr-Refused"]
    kept = requests.put(urls["chartmogul"] + CUSTOM, json={"custom": {"salesRep": "Still"}}, headers=basic("k0"))
    assert kept.status_code == 200, "tenants already stored keep working"
    assert requests.get(urls["admin"] + "/health").json()["tenants"] == 3
    state = requests.get(urls["admin"] + "/state", params={"vendor": "chartmogul", "key": "k9"})
    assert state.status_code == 429 and "--max-tenants" in state.json()["error"]


def test_a_rejected_request_changes_nothing_in_the_file(servers: ServeProcesses, tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    _, urls = servers.start("--state-file", str(path))
    assert requests.put(urls["chartmogul"] + CUSTOM, json={"custom": {"salesRep": "One"}}, headers=basic("k")).ok
    before = _rows(path)
    bad = requests.put(urls["chartmogul"] + CUSTOM, json={"custom": {"age": "not a number"}}, headers=basic("k"))
    assert bad.status_code == 400
    assert _rows(path) == before


def _write_then_stop(servers: ServeProcesses, path: Path, key: str, sales_rep: str) -> None:
    """A server on ``path`` stores ``sales_rep`` for ``key``'s tenant, then is killed (nothing flushed at
    exit: the write must already be in the file)."""
    process, urls = servers.start("--state-file", str(path))
    custom = {"custom": {"salesRep": sales_rep}}
    assert requests.put(urls["chartmogul"] + CUSTOM, json=custom, headers=basic(key), timeout=5).ok
    process.kill()
    process.wait(10)


def _sales_rep(servers: ServeProcesses, path: Path, key: str) -> str:
    """``key``'s salesRep as a new server on ``path`` reads it."""
    _, urls = servers.start("--state-file", str(path))
    answer = requests.get(urls["chartmogul"] + CUSTOM.rsplit("/", 1)[0], headers=basic(key), timeout=5)
    return answer.json()["custom"]["salesRep"]


def _rows(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT vendor, credential, version, data FROM worlds ORDER BY 1, 2").fetchall()


# --- files that cannot be used: a clear error, and the file left as it was --------------------------


def test_a_corrupt_state_file_is_a_clear_error_and_stays_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not a database" * 100)
    assert "corrupt" in serve_fails("--state-file", str(path))
    assert path.read_bytes() == b"this is not a database" * 100


def test_another_programs_database_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "theirs.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE invoices (id INTEGER)")
    before = path.read_bytes()
    assert "not a mockattr state file" in serve_fails("--state-file", str(path))
    assert path.read_bytes() == before, "not even switched to WAL"


def test_a_read_only_state_file_is_a_clear_error(servers: ServeProcesses, tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    process, _ = servers.start("--state-file", str(path))
    process.kill()
    process.wait(10)
    path.chmod(0o444)
    command = [sys.executable, "-m", "mockattr", "serve", "--port", "0", "--state-file", str(path)]
    if os.geteuid() == 0:  # root writes anyway: drop that power for the server
        if shutil.which("capsh") is None:
            pytest.skip("running as root without capsh, which could drop CAP_DAC_OVERRIDE")
        command = ["capsh", "--drop=cap_dac_override", "--", "-c", shlex.join(command)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "cannot write to it" in result.stderr


def test_a_write_the_disk_refuses_is_not_served_afterwards(tmp_path: Path) -> None:
    """SQLite rolls back by itself when the disk is full: the answer is an error, and the change it
    did not keep is not served from memory either (nor after a restart)."""
    path = tmp_path / "state.db"
    app = create_app(state_file=path)
    client, headers = app.test_client(), AUTH_HEADERS["invisible_collector"]("k")
    url = f"/invisible_collector/customers/{IC_GID}/attributes"
    assert client.post(url, json={"before": "1"}, headers=headers).status_code == 200
    db = runtime_of(app).tenants.store._db()  # this thread's connection: the test client runs requests here
    db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}")
    refused = client.post(url, json={"big": "x" * 50_000}, headers=headers)
    assert refused.status_code == 500 and refused.get_json()["message"] == "Internal server error"
    db.execute("PRAGMA max_page_count = 1000000")
    assert "big" not in client.get(url, headers=headers).get_json()
    assert "big" not in create_app(state_file=path).test_client().get(url, headers=headers).get_json()


def test_a_stored_world_that_does_not_fit_is_a_clear_error(servers: ServeProcesses, tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    _write_then_stop(servers, path, "k", "One")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE worlds SET data = '{\"attribute_definitions\": 7}'")
    error = serve_fails("--state-file", str(path))
    assert "the world of chartmogul for the credential hashed " in error and "is unusable" in error
    assert _rows(path)[0][3] == '{"attribute_definitions": 7}', "the bad row is left for the user to look at"


def test_a_locked_state_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("CREATE TABLE mockattr (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        assert "locked" in serve_fails("--state-file", str(path))
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.mark.parametrize("where", ["missing-folder/state.db", "a-file/state.db", "a-folder"])
def test_an_unwritable_state_file_is_a_clear_error(tmp_path: Path, where: str) -> None:
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "a-folder").mkdir()
    error = serve_fails("--state-file", str(tmp_path / where))
    assert "state-file" in error.replace(" ", "-").lower() and ("cannot open" in error or "is a directory" in error)


def test_the_file_keeps_no_credential_in_plain_text(servers: ServeProcesses, tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    secret = "sk_live_very-secret-key"
    _write_then_stop(servers, path, secret, "One")
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("state.db"))
    assert secret.encode() not in stored
    assert _sales_rep(servers, path, secret) == "One", "found again by the credential's hash"


@pytest.mark.parametrize("older", ["mockattr-state/2", "mockattr-state/3"])
def test_a_file_of_an_older_format_is_migrated(servers: ServeProcesses, tmp_path: Path, older: str) -> None:
    path = tmp_path / "state.db"
    _write_then_stop(servers, path, "old", "Kept")
    with sqlite3.connect(path) as db:  # as the older format kept it: no change numbers on customer rows
        db.execute("DROP INDEX customer_changes")
        db.execute("ALTER TABLE customers DROP COLUMN seq")
        db.execute("UPDATE worlds SET version = 'c0ffee'")
        db.execute("UPDATE mockattr SET value = ? WHERE key = 'format'", (older,))
        if older == "mockattr-state/2":  # and the credential itself
            db.execute("UPDATE worlds SET credential = 'old'")
            db.execute("UPDATE customers SET credential = 'old'")
            db.execute("DELETE FROM mockattr WHERE key = 'credential_key'")
    assert _sales_rep(servers, path, "old") == "Kept"
    _write_then_stop(servers, path, "old", "Changed")
    assert _sales_rep(servers, path, "old") == "Changed"
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM mockattr WHERE key = 'format'").fetchone() == (FORMAT,)
        assert [row[0] for row in db.execute("SELECT credential FROM worlds")] != ["old"]
        assert db.execute("SELECT MAX(seq) FROM customers").fetchone()[0] > 0


def test_a_file_that_does_not_read_is_left_in_its_older_format(servers: ServeProcesses, tmp_path: Path) -> None:
    """A migration is kept only when the whole file reads: refused, the file is as it was, so the release
    that wrote it still opens it."""
    path = tmp_path / "state.db"
    _write_then_stop(servers, path, "k", "One")
    with sqlite3.connect(path) as db:
        db.execute("DROP INDEX customer_changes")
        db.execute("ALTER TABLE customers DROP COLUMN seq")
        db.execute("UPDATE mockattr SET value = 'mockattr-state/3' WHERE key = 'format'")
        db.execute("UPDATE worlds SET data = '{\"attribute_definitions\": 7}'")
    assert "is unusable" in serve_fails("--state-file", str(path))
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM mockattr WHERE key = 'format'").fetchone() == ("mockattr-state/3",)
        assert "seq" not in {row[1] for row in db.execute("PRAGMA table_info(customers)")}


def test_two_servers_opening_one_older_file_at_once_migrate_it_once(servers: ServeProcesses, tmp_path: Path) -> None:
    """Both read the older format, then queue for the lock: the second finds the file migrated already
    (its credentials hashed twice would lose every tenant)."""
    import threading
    import time

    path = tmp_path / "state.db"
    _write_then_stop(servers, path, "old", "Kept")
    with sqlite3.connect(path) as db:  # as mockattr-state/2 kept it
        db.execute("DROP INDEX customer_changes")
        db.execute("ALTER TABLE customers DROP COLUMN seq")
        db.execute("UPDATE worlds SET credential = 'old', version = 'c0ffee'")
        db.execute("UPDATE customers SET credential = 'old'")
        db.execute("DELETE FROM mockattr WHERE key = 'credential_key'")
        db.execute("UPDATE mockattr SET value = 'mockattr-state/2' WHERE key = 'format'")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # both servers read the format, then wait here
    apps: list = []
    openers = [threading.Thread(target=lambda: apps.append(create_app(state_file=path))) for _ in range(2)]
    for opener in openers:
        opener.start()
    time.sleep(0.5)
    holder.execute("ROLLBACK")
    holder.close()
    for opener in openers:
        opener.join()
    assert len(apps) == 2
    for app in (*apps, create_app(state_file=path)):
        answer = app.test_client().get(
            "/chartmogul" + CUSTOM.rsplit("/", 1)[0], headers=AUTH_HEADERS["chartmogul"]("old")
        )
        assert answer.get_json()["custom"]["salesRep"] == "Kept"


def test_seeds_that_build_on_each_other_open_again(tmp_path: Path) -> None:
    """Each seed is taken on the fixtures and the seeds before it, when served and when the file is opened
    again (a seed using a definition an earlier seed made used to make the file refuse to open)."""
    path = tmp_path / "state.db"
    admin = create_app(state_file=path).test_client()
    for seed in (
        {"attribute_definitions": {"tier": "String"}},
        {"customers": [{"uuid": "cus_tiered", "attributes": {"custom": {"tier": "gold"}}}]},
    ):
        assert admin.post("/__mockattr/seed?vendor=chartmogul", json=seed).status_code == 200
    reopened = create_app(state_file=path).test_client()
    answer = reopened.get("/chartmogul/v1/customers/cus_tiered/attributes", headers=AUTH_HEADERS["chartmogul"]("new"))
    assert answer.status_code == 200 and answer.get_json()["custom"] == {"tier": "gold"}


def test_a_world_another_server_changed_is_read_again_from_what_changed(tmp_path: Path) -> None:
    """Two servers on one file (as ``--workers`` are): each sees every change the other made, and a world
    the other changed is rebuilt from the customers whose rows changed; the others are kept as they were,
    not decoded again (so a write to a large tenant does not make every other server decode all of it)."""
    path = tmp_path / "state.db"
    first, second = create_app(state_file=path), create_app(state_file=path)
    headers = AUTH_HEADERS["chartmogul"]("k")
    seed = {"customers": [{"uuid": f"cus_{n}", "attributes": {"custom": {}}} for n in range(50)]}
    assert first.test_client().post("/__mockattr/seed?vendor=chartmogul", json=seed).status_code == 200

    def set_rep(app: object, uuid: str, rep: str) -> None:
        body = {"custom": [{"type": "String", "key": "salesRep", "value": rep}]}
        answer = app.test_client().post(
            f"/chartmogul/v1/customers/{uuid}/attributes/custom", json=body, headers=headers
        )
        assert answer.status_code == 200, answer.text

    def customers(app: object) -> dict:
        store = runtime_of(app).tenants.store
        with store.world("chartmogul", "k") as world:
            return dict(world.customers)

    set_rep(first, "cus_1", "Ann")
    before = customers(second)
    set_rep(second, "cus_2", "Bob")
    set_rep(first, "cus_3", "Cy")
    after = customers(second)
    assert after["cus_1"]["attributes"]["custom"]["salesRep"] == "Ann"
    assert after["cus_3"]["attributes"]["custom"]["salesRep"] == "Cy", "the other server's change is seen"
    assert after["cus_3"] is not before["cus_3"], "the changed customer is read again"
    assert all(after[f"cus_{n}"] is before[f"cus_{n}"] for n in range(4, 50)), "the others are kept"
    for app in (first, second):
        state = app.test_client().get("/__mockattr/state?vendor=chartmogul&key=k").get_json()
        reps = {c["uuid"]: c["attributes"]["custom"].get("salesRep") for c in state["customers"]}
        assert (reps["cus_1"], reps["cus_2"], reps["cus_3"], reps["cus_4"]) == ("Ann", "Bob", "Cy", None)


def test_servers_on_one_file_keep_every_vendors_world_the_same_through_interleaved_writes(tmp_path: Path) -> None:
    """Two servers on one file take turns at random: updates, new customers at the end (Invisible
    Collector), customers the vendor's merge moves (Bunce), new attribute definitions and seeds. Each keeps
    up with the other's changes (from the rows changed since, or whole), and both show what a third
    server reads from the file."""
    import random

    path = tmp_path / "state.db"
    apps = [create_app(state_file=path), create_app(state_file=path)]
    chooser = random.Random(16)

    def send(method: str, vendor: str, url: str, body: object) -> None:
        client = chooser.choice(apps).test_client()
        answer = client.open(f"/{vendor}{url}", method=method, json=body, headers=AUTH_HEADERS[vendor]("k"))
        assert answer.status_code < 300, (vendor, url, answer.get_data(as_text=True))

    seed = {"customers": [{"uuid": f"cus_{n}", "attributes": {"custom": {}}} for n in range(20)]}
    assert apps[0].test_client().post("/__mockattr/seed?vendor=chartmogul", json=seed).status_code == 200
    ic_ids: list[str] = []
    for step in range(150):
        kind = chooser.choice(["update", "update", "define", "create", "annotate", "bunce", "seed"])
        if kind == "update":
            custom = {"custom": {"salesRep": f"rep {step}"}}
            send("PUT", "chartmogul", f"/v1/customers/cus_{chooser.randrange(20)}/attributes/custom", custom)
        elif kind == "define":
            custom = {"custom": [{"type": "Integer", "key": f"n_{step}", "value": step}]}
            send("POST", "chartmogul", f"/v1/customers/cus_{chooser.randrange(20)}/attributes/custom", custom)
        elif kind == "create" or (kind == "annotate" and not ic_ids):
            ic_ids.append(f"ext-{step}")
            customer = {"name": "Acme", "vatNumber": "PT501234567", "country": "PT", "externalId": ic_ids[-1]}
            send("POST", "invisible_collector", "/customers", customer)
        elif kind == "annotate":
            send("POST", "invisible_collector", f"/customers/{chooser.choice(ic_ids)}/attributes", {"k": str(step)})
        elif kind == "bunce":
            row = {"id": "9f171295-6935-400c-af6b-fd628a46bc71", "customer_id": f"c{chooser.randrange(6)}"}
            send("POST", "bunce", "/v1/attributes/customers", {"attributes": [{**row, "value": f"v{step}"}]})
        else:
            more = {"customers": [{"uuid": f"cus_seed_{step}", "attributes": {"custom": {}}}]}
            assert (
                chooser.choice(apps).test_client().post("/__mockattr/seed?vendor=chartmogul", json=more).status_code
                == 200
            )
    reader = create_app(state_file=path)
    for vendor in ("chartmogul", "invisible_collector", "bunce"):
        states = [
            app.test_client().get(f"/__mockattr/state?vendor={vendor}&key=k").get_json() for app in (*apps, reader)
        ]
        assert states[0] == states[2] and states[1] == states[2], vendor
