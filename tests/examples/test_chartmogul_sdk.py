"""How an SDK's test suite uses mockattr: the official ChartMogul client against the mock.

Installing mockattr registers the pytest plugin; the `mockattr` fixture is all these tests need.
"""

from __future__ import annotations

import chartmogul
import pytest

ADAM = "cus_de305d54-75b4-431b-adb2-eb6b9e546012"  # a customer in mockattr's ChartMogul fixtures


@pytest.fixture
def config(mockattr) -> chartmogul.Config:
    """The client pointed at the mock (with --mockattr-tls the session trusts the mock's CA already)."""
    cfg = chartmogul.Config("sdk-test-key", max_retries=3, backoff_factor=0)
    cfg.uri = mockattr.url("chartmogul") + "/v1"
    return cfg


def test_the_client_reads_what_the_fixtures_hold(config: chartmogul.Config) -> None:
    attributes = chartmogul.Attributes.retrieve(config, uuid=ADAM).get()
    assert attributes.custom["salesRep"] == "Gabi"


def test_the_journal_shows_what_the_client_sent(mockattr, config: chartmogul.Config) -> None:
    chartmogul.CustomAttributes.update(config, uuid=ADAM, data={"custom": {"pro": True}}).get()

    [sent] = mockattr.requests("chartmogul", "update")
    assert sent.method == "PUT"
    assert sent.request_body == {"custom": {"pro": True}}
    assert sent.headers["Authorization"] == "[redacted]"
    assert sent.status == 200 and sent.violations == []


def test_a_429_with_retry_after_is_retried_by_the_client(mockattr, config: chartmogul.Config) -> None:
    if mockattr.ca_bundle is None:
        pytest.skip("chartmogul-python retries only over https: run with --mockattr-tls")
    mockattr.fail("chartmogul", "retrieve", 429, retry_after=1)

    attributes = chartmogul.Attributes.retrieve(config, uuid=ADAM).get()

    assert attributes.custom["salesRep"] == "Gabi"
    assert [r.status for r in mockattr.requests("chartmogul", "retrieve")] == [429, 200]


def test_a_test_seeds_its_own_customer(mockattr, config: chartmogul.Config) -> None:
    mockattr.seed(
        "chartmogul",
        {
            "attribute_definitions": {"plan": "String"},
            "customers": [{"uuid": "cus_seeded", "name": "Seeded Ltd", "attributes": {"custom": {"plan": "gold"}}}],
        },
    )

    customer = chartmogul.Customer.retrieve(config, uuid="cus_seeded").get()

    assert customer.name == "Seeded Ltd"
    assert customer.attributes.custom == {"plan": "gold"}


def test_an_error_reaches_the_client_as_the_vendor_sends_it(mockattr, config: chartmogul.Config) -> None:
    mockattr.fail("chartmogul", "customer_get", 403)  # a status the client does not retry
    with pytest.raises(chartmogul.APIError) as raised:
        chartmogul.Customer.retrieve(config, uuid=ADAM).get()
    assert raised.value.__cause__.response.status_code == 403
    assert raised.value.__cause__.response.json() == {"code": 403, "message": "Forbidden", "param": None}


STRICT_TEST = f"""
import pytest
import requests

URL = "/v1/customers/{ADAM}/attributes/custom"

@pytest.mark.mockattr(strict=True)
def test_sdk_with_a_bug(mockattr):
    # the SDK under test sends a list where the contract wants an object: the mock answers 400 ...
    requests.put(mockattr.url("chartmogul") + URL, json={{"custom": ["pro"]}}, auth=("key", ""))

@pytest.mark.mockattr(strict=True, expect_rejections=True)
def test_sdk_error_handling(mockattr):
    # ... which is fine in a test that means to send it
    response = requests.put(mockattr.url("chartmogul") + URL, json={{"custom": ["pro"]}}, auth=("key", ""))
    assert response.status_code == 400
"""


def test_strict_mode_catches_a_malformed_request(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(STRICT_TEST)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*mockattr strict: requests broke the contract:*",
            "*PUT /chartmogul/v1/customers/*/attributes/custom -> 400: custom*",
        ]
    )
