"""The handle's assertions, as a test meets them: what passes, and what a failure says."""

from __future__ import annotations

import pytest
import requests

from mockattr.testing.handle import Mockattr
from mockattr.testing.plugin import MockattrHandle, MockattrServer

ADAM = "cus_de305d54-75b4-431b-adb2-eb6b9e546012"
UPDATE = f"/v1/customers/{ADAM}/attributes/custom"


def update(mock: Mockattr, custom: object) -> requests.Response:
    return requests.put(mock.url("chartmogul") + UPDATE, json={"custom": custom}, auth=("k", ""), timeout=5)


def test_assert_called_matches_a_subset_of_the_body_and_returns_the_calls(mockattr: MockattrHandle) -> None:
    update(mockattr, {"salesRep": "Ann", "pro": True})
    update(mockattr, {"salesRep": "Bo"})
    [call] = mockattr.assert_called("chartmogul", "update", body={"custom": {"salesRep": "Ann"}})
    assert call.request_body == {"custom": {"salesRep": "Ann", "pro": True}}
    assert len(mockattr.assert_called("chartmogul", "update", times=2)) == 2


def test_assert_called_shows_the_closest_call_first_with_what_differs(mockattr: MockattrHandle) -> None:
    update(mockattr, {"salesRep": "Bo", "channel": "x"})
    update(mockattr, {"salesRep": "Ann", "pro": False})
    with pytest.raises(AssertionError) as raised:
        mockattr.assert_called("chartmogul", "update", body={"custom": {"salesRep": "Ann", "pro": True}})
    message = str(raised.value)
    assert message.startswith(
        'expected chartmogul update to be called at least once with a body containing {"custom": '
    )
    assert "got 0 matching calls of 2" in message
    closest = message.index('"pro": false')
    assert closest < message.index('"channel": "x"'), "the closest call comes first"
    assert "differs: .custom.pro: expected true, got false" in message
    assert 'differs: .custom.salesRep: expected "Ann", got "Bo"' in message


def test_assert_called_times_counts_exactly(mockattr: MockattrHandle) -> None:
    update(mockattr, {"salesRep": "Ann"})
    update(mockattr, {"salesRep": "Ann"})
    with pytest.raises(AssertionError, match="to be called 1 time; got 2 matching calls of 2"):
        mockattr.assert_called("chartmogul", "update", times=1)


def test_assert_called_lists_the_vendors_other_calls_when_the_operation_had_none(mockattr: MockattrHandle) -> None:
    requests.get(mockattr.url("chartmogul") + f"/v1/customers/{ADAM}/attributes", auth=("k", ""), timeout=5)
    with pytest.raises(AssertionError) as raised:
        mockattr.assert_called("chartmogul", "update")
    assert "GET /chartmogul/v1/customers/" in str(raised.value) and "(chartmogul retrieve) -> 200" in str(raised.value)


def test_assert_not_called(mockattr: MockattrHandle) -> None:
    assert mockattr.assert_not_called("bunce") == []
    update(mockattr, {"salesRep": "Ann"})
    assert mockattr.assert_not_called("chartmogul", "retrieve") == []
    with pytest.raises(AssertionError, match=r"expected no call of chartmogul \(any operation\); got 1"):
        mockattr.assert_not_called("chartmogul")


def test_assert_no_violations_names_each_broken_request(mockattr: MockattrHandle) -> None:
    update(mockattr, {"salesRep": "Ann"})
    assert len(mockattr.assert_no_violations()) == 1
    update(mockattr, ["salesRep"])
    with pytest.raises(AssertionError) as raised:
        mockattr.assert_no_violations()
    assert str(raised.value).splitlines() == [
        "1 request broke the contract:",
        f"  PUT /chartmogul{UPDATE} (chartmogul update) -> 400",
        "      custom: must be of type object, not array",
    ]


def test_fresh_gives_the_same_api_on_fixture_state(mockattr_server: MockattrServer) -> None:
    with mockattr_server.fresh() as mock:
        update(mock, {"salesRep": "Ann"})
        mock.assert_called("chartmogul", "update", times=1)
        mock.fail("chartmogul", "retrieve", 500)
    with mockattr_server.fresh() as mock:
        mock.assert_not_called("chartmogul")
        answer = requests.get(mock.url("chartmogul") + f"/v1/customers/{ADAM}/attributes", auth=("k", ""), timeout=5)
        assert answer.status_code == 200, "no fault left over"
        assert answer.json()["custom"]["salesRep"] == "Gabi", "state back to the fixtures"
