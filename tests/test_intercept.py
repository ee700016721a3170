"""``mockattr.intercept()``: the vendors' real hostnames answered in-process, for requests and httpx."""

from __future__ import annotations

import asyncio
import socket

import chartmogul
import httpx
import pytest
import requests
from hypothesis import given
from support import AUTH_HEADERS, fixture_read

import mockattr
from mockattr import VENDOR_IDS
from mockattr.contract import load_contract
from mockattr.strategies import valid_requests
from mockattr.testing.intercept import InterceptedMockattr

ADAM = "cus_de305d54-75b4-431b-adb2-eb6b9e546012"
CHARTMOGUL = (f"https://api.chartmogul.com/v1/customers/{ADAM}/attributes", AUTH_HEADERS["chartmogul"]("k"))
"""ChartMogul's retrieve, for the tests of one vendor's behaviour."""
READS = {  # one read per vendor with a real host, at that host, with its own credential header
    vendor: (f"https://{hosts[0]}{fixture_read(vendor)}", AUTH_HEADERS[vendor]("k"))
    for vendor in VENDOR_IDS
    if (hosts := load_contract(vendor).index.get("hosts"))
}


@pytest.mark.parametrize("vendor", sorted(READS))
def test_httpx_sync_and_async_reach_each_vendor(vendor: str) -> None:
    url, headers = READS[vendor]

    async def read_async() -> int:
        async with httpx.AsyncClient() as client:
            return (await client.get(url, headers=headers)).status_code

    with mockattr.intercept() as mock:
        assert httpx.get(url, headers=headers).status_code == 200
        assert asyncio.run(read_async()) == 200
        assert [e.status for e in mock.requests(vendor)] == [200, 200]


@pytest.mark.parametrize("vendor", sorted(READS))
def test_requests_reach_each_vendor_and_http_too(vendor: str) -> None:
    url, headers = READS[vendor]
    with mockattr.intercept() as mock:
        assert requests.get(url, headers=headers, timeout=5).status_code == 200
        assert requests.get(url.replace("https://", "http://"), headers=headers, timeout=5).status_code == 200
        assert mock.url(vendor) == url.split("/v1")[0].rsplit("/customers", 1)[0]


def test_no_socket_is_opened(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("a socket was opened")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    url, headers = CHARTMOGUL
    with mockattr.intercept():
        assert requests.get(url, headers=headers, timeout=5).status_code == 200
        assert httpx.get(url, headers=headers).status_code == 200


def test_the_official_client_retries_a_429_with_its_default_configuration() -> None:
    with mockattr.intercept() as mock:
        mock.fail("chartmogul", "retrieve", 429, retry_after=1)
        config = chartmogul.Config("sdk-key", backoff_factor=0)  # no uri: https://api.chartmogul.com
        attributes = chartmogul.Attributes.retrieve(config, uuid=ADAM).get()
        assert attributes.custom["salesRep"] == "Gabi"
        assert [e.status for e in mock.requests("chartmogul", "retrieve")] == [429, 200]


def test_other_hosts_pass_through(server_url: str) -> None:
    local = server_url + "/__mockattr/health"  # a real server on a real socket
    with mockattr.intercept():
        assert requests.get(local, timeout=5).json()["status"] == "ok"
        assert httpx.get(local).json()["status"] == "ok"


def test_other_hosts_are_an_error_naming_them_when_not_allowed(server_url: str) -> None:
    local = server_url + "/__mockattr/health"
    with mockattr.intercept(allow_other_hosts=False):
        with pytest.raises(requests.ConnectionError, match="127.0.0.1"):
            requests.get(local, timeout=5)
        with pytest.raises(Exception, match="127.0.0.1"):
            httpx.get(local)
        assert requests.get(READS["bunce"][0], headers=READS["bunce"][1], timeout=5).status_code == 200


def test_network_faults_raise_what_each_library_raises() -> None:
    url, headers = CHARTMOGUL
    with mockattr.intercept() as mock:
        mock.fail("chartmogul", "retrieve", network="reset")
        with pytest.raises(requests.ConnectionError):
            requests.get(url, headers=headers, timeout=5)
        mock.fail("chartmogul", "retrieve", network="empty")
        with pytest.raises(httpx.ConnectError):
            httpx.get(url, headers=headers)
        assert requests.get(url, headers=headers, timeout=5).status_code == 200


def test_nested_intercepts_each_have_their_own_state() -> None:
    url, headers = CHARTMOGUL
    with mockattr.intercept() as outer:
        requests.get(url, headers=headers, timeout=5)
        with mockattr.intercept() as inner:
            requests.get(url, headers=headers, timeout=5)
            requests.get(url, headers=headers, timeout=5)
        requests.get(url, headers=headers, timeout=5)
        assert (len(outer.requests()), len(inner.requests())) == (2, 2)


@mockattr.intercept()
def test_as_a_decorator() -> None:
    url, headers = READS["bunce"]
    assert requests.get(url, headers=headers, timeout=5).status_code == 200


@mockattr.intercept()
async def _read_bunce_async() -> int:
    async with httpx.AsyncClient() as client:
        return (await client.get(READS["bunce"][0], headers=READS["bunce"][1])).status_code


def test_as_a_decorator_of_an_async_function() -> None:
    assert asyncio.run(_read_bunce_async()) == 200


def test_the_fixture_is_fresh_and_journals(mockattr_intercept: InterceptedMockattr) -> None:
    url, headers = CHARTMOGUL
    requests.put(url + "/custom", json={"custom": ["not an object"]}, headers=headers, timeout=5)
    [entry] = mockattr_intercept.requests()
    assert entry.status == 400 and entry.violations == ["custom: must be of type object, not array"]


STRICT_INTERCEPT = """
import requests
URL = "https://api.chartmogul.com/v1/customers/cus_de305d54-75b4-431b-adb2-eb6b9e546012/attributes/custom"

def test_sdk_with_a_bug(mockattr_intercept):
    requests.put(URL, json={"custom": ["pro"]}, auth=("key", ""))
"""


def test_strict_mode_fails_a_test_whose_code_broke_the_contract(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(STRICT_INTERCEPT)
    result = pytester.runpytest_inprocess("--mockattr-strict", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*mockattr strict: requests broke the contract:*"])


@given(request=valid_requests("invisible_collector", "attributes_set"))
def test_a_property_round_trip_at_default_settings(request) -> None:
    """A fresh intercept per example (a function-scoped fixture would be shared by every example)."""
    with mockattr.intercept() as mock:
        url = f"{mock.url('invisible_collector')}/customers/{request.path_params['id']}/attributes"
        auth = {"Authorization": "Bearer sdk-key"}
        before = requests.get(url, headers=auth, timeout=5).json()
        after = requests.post(url, json=request.body, headers=auth, timeout=5).json()
        assert after == {**before, **request.body} == requests.get(url, headers=auth, timeout=5).json()
        mock.assert_no_violations()


def test_calls_from_another_thread_reach_the_active_intercept() -> None:
    import threading

    url, headers = CHARTMOGUL
    statuses: list[int] = []
    with mockattr.intercept() as mock:
        worker = threading.Thread(
            target=lambda: statuses.append(requests.get(url, headers=headers, timeout=5).status_code)
        )
        worker.start()
        worker.join()
        assert statuses == [200] and len(mock.requests()) == 1


FIXTURE_SCOPE = """
import requests, requests.adapters

URL = "https://api.bunce.so/v1/attributes"

def test_a_uses_it(mockattr_intercept):
    assert requests.get(URL, headers={"X-Authorization": "k"}).status_code == 200
    mockattr_intercept.fail("bunce", "attribute_list", 500)

def test_b_does_not_take_it():
    assert requests.adapters.HTTPAdapter.send.__module__ == "requests.adapters", "nothing patched"

def test_c_takes_it_fresh(mockattr_intercept):
    assert mockattr_intercept.requests() == []
    assert requests.get(URL, headers={"X-Authorization": "k"}).status_code == 200, "no fault left over"
"""


def test_the_fixture_answers_only_in_the_tests_that_take_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(FIXTURE_SCOPE)
    pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:randomly").assert_outcomes(passed=3)
