"""A property test of an SDK round trip: a small Invisible Collector attributes client, tested with
values drawn from mockattr's schemas. It runs at Hypothesis's default settings: ``@given`` tests take
the session fixture ``mockattr_server`` and open ``fresh()`` state for each example."""

from __future__ import annotations

import pytest
import requests
from hypothesis import given

from mockattr.strategies import attribute_values, invalid_requests, valid_requests

ADAM = "cus_de305d54-75b4-431b-adb2-eb6b9e546012"  # a customer in mockattr's ChartMogul fixtures


class ApiError(Exception):
    """The API refused a call."""

    def __init__(self, status: int, body: object) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status


class Attributes:
    """The SDK under test: a customer's custom attributes at Invisible Collector."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {api_key}"

    def _answer(self, response: requests.Response) -> dict[str, str]:
        if response.status_code != 200:
            raise ApiError(response.status_code, response.json())
        return response.json()

    def get(self, customer: str) -> dict[str, str]:
        return self._answer(self.session.get(f"{self.base_url}/customers/{customer}/attributes", timeout=10))

    def set(self, customer: str, attributes: dict[str, str]) -> dict[str, str]:
        url = f"{self.base_url}/customers/{customer}/attributes"
        return self._answer(self.session.post(url, json=attributes, timeout=10))


@given(request=valid_requests("invisible_collector", "attributes_set"))
def test_what_the_sdk_sets_it_reads_back(mockattr_server, request) -> None:
    with mockattr_server.fresh() as mock:
        sdk = Attributes(mock.url("invisible_collector"), "sdk-test-key")
        customer = request.path_params["id"]
        before = sdk.get(customer)

        after = sdk.set(customer, request.body)

        assert after == {**before, **request.body}
        assert sdk.get(customer) == after
        mock.assert_called("invisible_collector", "attributes_set", times=1, body=request.body)
        mock.assert_no_violations()


@given(pair=invalid_requests("invisible_collector", "attributes_set"))
def test_the_sdk_raises_what_the_api_refuses_and_nothing_changes(mockattr_server, pair) -> None:
    request, status = pair
    with mockattr_server.fresh() as mock:
        sdk = Attributes(mock.url("invisible_collector"), "sdk-test-key")
        customer = request.path_params["id"]
        before = sdk.get(customer)

        with pytest.raises(ApiError) as refused:
            sdk.set(customer, request.body)

        assert refused.value.status == status
        assert sdk.get(customer) == before


@given(value=attribute_values("chartmogul", "Timestamp", valid=False))
def test_a_timestamp_the_contract_refuses_is_a_400(mockattr_server, value) -> None:
    with mockattr_server.fresh() as mock:
        url = mock.url("chartmogul") + f"/v1/customers/{ADAM}/attributes/custom"
        answer = requests.put(url, json={"custom": {"convertedAt": value}}, auth=("sdk-test-key", ""), timeout=10)
        assert answer.status_code == 400 and answer.json()["param"] == "custom.convertedAt"
        mock.assert_called("chartmogul", "update", times=1)


@given(request=valid_requests("invisible_collector", "attributes_set"))
def test_the_sdk_against_the_real_hostname(mockattr_intercept, request) -> None:
    """No base URL to change: ``mockattr_intercept`` answers https://api.invisiblecollector.com in-process."""
    with mockattr_intercept.fresh() as mock:
        sdk = Attributes("https://api.invisiblecollector.com", "sdk-test-key")
        after = sdk.set(request.path_params["id"], request.body)
        assert sdk.get(request.path_params["id"]) == after
        mock.assert_called("invisible_collector", "attributes_set", times=1)
