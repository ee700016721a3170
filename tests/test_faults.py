"""Faults a real network has, and faults limited to one credential or one body: each shown with the
exception the client library raises, on the plugin's server (werkzeug) and on `mockattr serve`
(uvicorn), as a client meets them."""

from __future__ import annotations

import time
from collections.abc import Iterator

import chartmogul
import pytest
import requests
from support import ServeProcesses

from mockattr.server.faults import MAX_PENDING
from mockattr.testing.handle import AdminError, Mockattr
from mockattr.testing.plugin import MockattrHandle

ADAM = "cus_de305d54-75b4-431b-adb2-eb6b9e546012"
RETRIEVE = f"/v1/customers/{ADAM}/attributes"
UPDATE = f"/v1/customers/{ADAM}/attributes/custom"


@pytest.fixture(params=["plugin", "serve"])
def mock(request: pytest.FixtureRequest, mockattr: MockattrHandle, servers: ServeProcesses) -> Iterator[Mockattr]:
    """A handle on the plugin's server (werkzeug), or on a `mockattr serve` process (uvicorn)."""
    if request.param == "plugin":
        yield mockattr
    else:
        _, urls = servers.start()
        yield Mockattr(urls["base"])


def get(mock: Mockattr, key: str = "k", timeout: object = 5) -> requests.Response:
    return requests.get(mock.url("chartmogul") + RETRIEVE, auth=(key, ""), timeout=timeout)


def test_reset_is_a_connection_error_and_the_journal_says_no_answer(mock: Mockattr) -> None:
    mock.fail("chartmogul", "retrieve", network="reset")
    with pytest.raises(requests.ConnectionError) as raised:
        get(mock)
    assert "reset" in str(raised.value).lower()
    assert get(mock).status_code == 200, "one time only; the server serves on"
    first, second = mock.requests("chartmogul")
    assert (first.status, first.fault, first.network) == (0, True, "reset")
    assert "no answer (reset)" in first.summary()
    assert (second.status, second.fault) == (200, False)


def test_empty_closes_with_no_bytes(mock: Mockattr) -> None:
    mock.fail("chartmogul", "retrieve", network="empty")
    with pytest.raises(requests.ConnectionError) as raised:
        get(mock)
    assert "RemoteDisconnected" in repr(raised.value) or "closed" in str(raised.value).lower()
    assert get(mock).status_code == 200


def test_malformed_is_a_200_whose_json_does_not_parse(mock: Mockattr) -> None:
    mock.fail("chartmogul", "retrieve", network="malformed")
    response = get(mock)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    with pytest.raises(requests.JSONDecodeError):
        response.json()
    [entry] = mock.requests("chartmogul")
    assert entry.network == "malformed" and entry.status == 200


def test_slow_dribbles_the_normal_answer_over_the_delay(mock: Mockattr) -> None:
    mock.fail("chartmogul", "retrieve", network="slow", delay=2.0)
    response = requests.get(mock.url("chartmogul") + RETRIEVE, auth=("k", ""), timeout=(5, 0.1), stream=True)
    assert response.status_code == 200, "the status and headers come at once"
    with pytest.raises(requests.ConnectionError, match="Read timed out"):  # pieces come 0.2 s apart
        _ = response.content
    mock.fail("chartmogul", "retrieve", network="slow", delay=0.6)
    started = time.monotonic()
    response = get(mock)
    assert time.monotonic() - started >= 0.5
    assert response.status_code == 200 and response.json()["custom"]["salesRep"] == "Gabi"


def test_slow_with_a_status_dribbles_the_error(mock: Mockattr) -> None:
    mock.fail("chartmogul", "retrieve", 503, network="slow", delay=0.3)
    response = get(mock)
    assert response.status_code == 503


def test_the_official_client_meets_each_network_fault(mockattr: MockattrHandle) -> None:
    config = chartmogul.Config("sdk-key", max_retries=0)
    config.uri = mockattr.url("chartmogul") + "/v1"
    for network in ("reset", "empty"):
        mockattr.fail("chartmogul", "retrieve", network=network)
        with pytest.raises(requests.ConnectionError):
            chartmogul.Attributes.retrieve(config, uuid=ADAM).get()
    mockattr.fail("chartmogul", "retrieve", network="malformed")
    answer = chartmogul.Attributes.retrieve(config, uuid=ADAM).get()
    assert isinstance(answer, bytes), "chartmogul-python hands back the raw body when it is not JSON"


def test_a_keyed_fault_meets_only_that_credentials_calls(mock: Mockattr) -> None:
    mock.fail("chartmogul", "retrieve", 500, key="worker-a", times=2)
    assert get(mock, key="worker-b").status_code == 200
    assert get(mock, key="worker-a").status_code == 500
    assert get(mock, key="worker-b").status_code == 200
    assert get(mock, key="worker-a").status_code == 500
    assert get(mock, key="worker-a").status_code == 200


def test_a_matching_fault_meets_only_bodies_that_contain_its_match(mockattr: MockattrHandle) -> None:
    mockattr.fail("chartmogul", "update", 422, match={"custom": {"salesRep": "Gold"}})
    url = mockattr.url("chartmogul") + UPDATE
    other = requests.put(url, json={"custom": {"salesRep": "Silver", "pro": True}}, auth=("k", ""), timeout=5)
    hit = requests.put(url, json={"custom": {"salesRep": "Gold", "pro": True}}, auth=("k", ""), timeout=5)
    assert (other.status_code, hit.status_code) == (200, 422), other.text
    assert get(mockattr).json()["custom"]["salesRep"] == "Silver", "the fault changed nothing"


@pytest.mark.parametrize(
    "fault",
    [
        {"vendor": "chartmogul", "network": "lost"},
        {"vendor": "chartmogul", "network": "reset", "status": 500},
        {"vendor": "chartmogul", "network": "malformed", "retry_after": 3},
        {"vendor": "chartmogul", "network": "slow"},
        {"vendor": "chartmogul", "status": 500, "key": ""},
        {"vendor": "chartmogul", "status": 500, "key": 7},
        {"vendor": "chartmogul", "status": 500, "match": ["plan"]},
    ],
)
def test_bad_network_key_and_match_fields_are_400(mockattr: MockattrHandle, fault: object) -> None:
    response = requests.post(mockattr.base_url + "/__mockattr/faults", json=fault, timeout=5)
    assert response.status_code == 400 and response.json()["error"].startswith("bad fault"), response.text
    assert mockattr.requests() == [] and requests.get(mockattr.base_url + "/__mockattr/faults", timeout=5).json() == {
        "faults": []
    }


def test_pending_faults_are_capped(mockattr: MockattrHandle) -> None:
    for _ in range(MAX_PENDING):
        mockattr.fail("bunce", "attribute_list", 500)
    with pytest.raises(AdminError, match="400: 1000 faults are waiting already"):
        mockattr.fail("bunce", "attribute_list", 500)
    mockattr.clear_faults()
    mockattr.fail("bunce", "attribute_list", 500)
