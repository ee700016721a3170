"""``mockattr serve --workers 2``: whatever a client observes is the same whichever worker answers it —
tenants' worlds, seeds, namespaces, faults, the journal, a reset.

The workers accept on one shared socket, so a stopped worker (SIGSTOP) accepts nothing: stopping one
sends every new connection to the other. Each step below is sent to the worker it names."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from support import ServeProcesses, basic

from mockattr.testing.handle import Mockattr

ADAM = "cus_de305d54-75b4-431b-adb2-eb6b9e546012"
RETRIEVE = f"/v1/customers/{ADAM}/attributes"


@dataclass
class Workers:
    process: subprocess.Popen[str]
    base: str
    pids: list[int]

    @contextmanager
    def on(self, n: int) -> Iterator[Mockattr]:
        """Worker ``n`` (0 or 1) alone takes new connections for the ``with`` block."""
        other = self.pids[1 - n]
        os.kill(other, signal.SIGSTOP)
        try:
            mock = Mockattr(self.base)
            assert mock.health()["pid"] == self.pids[n]
            yield mock
        finally:
            os.kill(other, signal.SIGCONT)

    def rep(self, n: int, key: str = "k", namespace: str | None = None) -> str:
        with self.on(n) as mock:
            mock = mock.namespace(namespace) if namespace else mock
            answer = requests.get(mock.url("chartmogul") + RETRIEVE, headers=basic(key), timeout=5)
            assert answer.status_code == 200, answer.text
            return answer.json()["custom"]["salesRep"]

    def set_rep(self, n: int, value: str, key: str = "k", namespace: str | None = None) -> int:
        with self.on(n) as mock:
            mock = mock.namespace(namespace) if namespace else mock
            url = mock.url("chartmogul") + RETRIEVE + "/custom"
            return requests.put(url, json={"custom": {"salesRep": value}}, headers=basic(key), timeout=5).status_code


@pytest.fixture
def workers(servers: ServeProcesses) -> Workers:
    process, urls = servers.start("--workers", "2")
    seen: set[int] = set()
    deadline = time.monotonic() + 20
    while len(seen) < 2 and time.monotonic() < deadline:  # a new connection each: either worker accepts it
        seen.add(requests.get(urls["base"] + "/__mockattr/health", timeout=5).json()["pid"])
    assert len(seen) == 2, "two workers answer"
    assert process.pid not in seen, "the supervisor answers nothing itself"
    return Workers(process, urls["base"], sorted(seen))


def test_a_tenants_world_and_a_seed_are_the_same_in_every_worker(workers: Workers) -> None:
    assert workers.set_rep(0, "written by 0") == 200
    assert workers.rep(1) == "written by 0"
    assert workers.set_rep(1, "written by 1") == 200
    assert workers.rep(0) == "written by 1"
    with workers.on(1) as mock:
        mock.seed("chartmogul", {"attribute_definitions": {"seeded": "String"}})
    with workers.on(0) as mock:
        assert "seeded" in mock.state("chartmogul", key="new-tenant")["attribute_definitions"]
        [adam] = [c for c in mock.state("chartmogul")["customers"] if c["uuid"] == ADAM]
        assert adam["attributes"]["custom"]["salesRep"] == "written by 1", "the last tenant's, written in 1"


def test_a_namespace_is_the_same_in_every_worker(workers: Workers) -> None:
    assert workers.set_rep(0, "in ns", namespace="run-a") == 200
    assert workers.rep(1, namespace="run-a") == "in ns"
    assert workers.rep(1) == "Gabi", "the server's own tenant is apart"
    with workers.on(1):
        listed = requests.get(workers.base + "/__mockattr/namespaces", timeout=5).json()["namespaces"]
        assert listed == ["run-a"]
        assert requests.delete(workers.base + "/__ns/run-a/__mockattr/namespace", timeout=5).status_code == 200
    assert workers.rep(0, namespace="run-a") == "Gabi", "dropped in 1, gone in 0"


def test_a_fault_fires_exactly_its_times_whichever_worker_takes_the_call(workers: Workers) -> None:
    with workers.on(0) as mock:
        mock.fail("chartmogul", "retrieve", 503, times=3)
    statuses = []
    for n in (1, 0, 1, 0, 1):
        with workers.on(n) as mock:
            statuses.append(requests.get(mock.url("chartmogul") + RETRIEVE, headers=basic("k"), timeout=5).status_code)
    assert statuses == [503, 503, 503, 200, 200]
    with workers.on(1):
        assert requests.get(workers.base + "/__mockattr/faults", timeout=5).json()["faults"] == []


def test_one_journal_holds_every_workers_requests_in_order(workers: Workers) -> None:
    order = [0, 1, 1, 0, 1, 0]
    for step, n in enumerate(order):
        assert workers.set_rep(n, f"step {step}") == 200
    for n in (0, 1):
        with workers.on(n) as mock:
            entries = mock.requests("chartmogul")
            assert [e.request_body["custom"]["salesRep"] for e in entries] == [f"step {i}" for i in range(len(order))]
            assert [e.id for e in entries] == list(range(1, len(order) + 1))


def test_a_reset_reaches_every_worker(workers: Workers) -> None:
    workers.set_rep(0, "changed in 0", key="a")
    workers.set_rep(1, "changed in 1", key="b")
    with workers.on(0) as mock:
        mock.fail("chartmogul", "retrieve", 503, times=5)
        mock.reset()
    assert (workers.rep(1, key="a"), workers.rep(1, key="b")) == ("Gabi", "Gabi")
    with workers.on(1) as mock:
        assert requests.get(workers.base + "/__mockattr/faults", timeout=5).json()["faults"] == []
        assert [e.status for e in mock.requests("chartmogul")] == [200, 200], "the two reads since the reset"


def test_sigterm_stops_every_worker_and_killing_the_supervisor_stops_them_too(servers: ServeProcesses) -> None:
    for stop in (signal.SIGTERM, signal.SIGKILL):
        process, urls = servers.start("--workers", "2")
        pids = {requests.get(urls["base"] + "/__mockattr/health", timeout=5).json()["pid"] for _ in range(30)}
        process.send_signal(stop)
        assert process.wait(15) == (0 if stop == signal.SIGTERM else -signal.SIGKILL)
        deadline = time.monotonic() + 5
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in pids), "no worker outlives its supervisor"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] if os.path.exists(f"/proc/{pid}") else "X"
    return state not in ("Z", "X")


def test_tls_serves_from_one_process() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mockattr", "serve", "--port", "0", "--tls", "--workers", "2"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and "--tls serves from one process" in result.stderr


def test_namespaces_do_not_grow_a_workers_open_files(workers: Workers) -> None:
    """Every namespace's store shares the worker's connection to the file (and its lock file)."""
    with workers.on(0) as mock:
        files = f"/proc/{workers.pids[0]}/fd"
        requests.get(mock.namespace("warm-up").url("chartmogul") + RETRIEVE, headers=basic("k"), timeout=5)
        before = len(os.listdir(files))
        for n in range(40):
            answer = requests.get(mock.namespace(f"ns-{n}").url("chartmogul") + RETRIEVE, headers=basic("k"), timeout=5)
            assert answer.status_code == 200
        assert len(os.listdir(files)) - before < 10, "40 namespaces, a handful of descriptors at most"


def test_killing_the_supervisor_leaves_no_shared_folder(tmp_path: Path) -> None:
    """Its own exit removes the folder; killed, it cannot: the orphaned workers do."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mockattr", "serve", "--port", "0", "--workers", "2"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert process.stdout is not None and "listening" in process.stdout.readline()
    assert [p.name[:17] for p in tmp_path.iterdir()] == ["mockattr-workers-"]
    process.kill()
    process.wait(10)
    deadline = time.monotonic() + 10
    while list(tmp_path.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert list(tmp_path.iterdir()) == []


def test_a_journal_that_cannot_be_written_does_not_undo_the_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The change is committed before the journal entry is written: its answer stands (a 500 would
    have a client retry, and apply a tag twice)."""
    from mockattr.server.app import create_app
    from mockattr.server.shared import SharedState

    def full_disk(self: SharedState, space: str, entry: object) -> None:
        raise OSError("disk I/O error")

    monkeypatch.setattr(SharedState, "journal_add", full_disk)
    client = create_app(shared_folder=tmp_path).test_client()
    url = f"/chartmogul/v1/customers/{ADAM}/attributes/tags"
    answer = client.post(url, json={"tags": ["new-tag"]}, headers=basic("k"))
    assert answer.status_code == 200, answer.text
    assert "new-tag" in client.get(f"/chartmogul/v1/customers/{ADAM}/attributes", headers=basic("k")).json["tags"]
