"""The official ChartMogul Python client (PyPI ``chartmogul``) against a live mockattr, and with its default
configuration under ``mockattr.intercept()``."""

from __future__ import annotations

import json
from collections.abc import Iterator

import chartmogul
import pytest

import mockattr

ADAM = "cus_de305d54-75b4-431b-adb2-eb6b9e546012"
BEN = "cus_ab223d54-75b4-431b-adb2-eb6b9e234571"


@pytest.fixture(params=["served", "intercepted"])
def config(request: pytest.FixtureRequest, server_url: str) -> Iterator[chartmogul.Config]:
    """The client pointed at the plugin's server, then with its default configuration (the real
    https://api.chartmogul.com) under ``mockattr.intercept()``."""
    cfg = chartmogul.Config("sdk-key", max_retries=0)
    if request.param == "served":
        cfg.uri = f"{server_url}/chartmogul/v1"
        yield cfg
        return
    assert cfg.uri.startswith("https://api.chartmogul.com")
    with mockattr.intercept():
        yield cfg


def test_custom_attributes_add_update_remove(config: chartmogul.Config) -> None:
    added = chartmogul.CustomAttributes.add(
        config, uuid=ADAM, data={"custom": [{"type": "Integer", "key": "seats", "value": 3, "source": "sdk"}]}
    ).get()
    assert added.custom["seats"] == 3 and added.custom["salesRep"] == "Gabi"

    updated = chartmogul.CustomAttributes.update(
        config, uuid=ADAM, data={"custom": {"seats": {"value": 4, "source": "sdk"}, "pro": "t"}}
    ).get()
    assert updated.custom["seats"] == 4 and updated.custom["pro"] is True

    removed = chartmogul.CustomAttributes.remove(config, uuid=ADAM, data={"custom": ["seats"]}).get()
    assert "seats" not in removed.custom


def test_removing_the_last_attribute_gives_none(config: chartmogul.Config) -> None:
    result = chartmogul.CustomAttributes.remove(config, uuid=BEN, data={"custom": ["CAC", "SalesRep"]}).get()
    assert result is None


def test_attributes_retrieve(config: chartmogul.Config) -> None:
    attributes = chartmogul.Attributes.retrieve(config, uuid=BEN).get()
    assert attributes.tags == ["engage"]
    assert attributes.custom == {"CAC": 20, "SalesRep": "Mike"}
    assert attributes.stripe == {} and attributes.clearbit == {}


def test_tags_add_and_remove(config: chartmogul.Config) -> None:
    assert chartmogul.Tags.add(config, uuid=BEN, data={"tags": ["vip"]}).get().tags == ["engage", "vip"]
    assert chartmogul.Tags.remove(config, uuid=BEN, data={"tags": ["engage"]}).get().tags == ["vip"]


def test_by_email_calls(config: chartmogul.Config) -> None:
    tagged = chartmogul.Tags.add_by_email(config, data={"email": "ben@example.com", "tags": ["vip"]}).get()
    assert [c.uuid for c in tagged.entries] == [BEN]
    assert tagged.entries[0].attributes.tags == ["engage", "vip"]
    custom = chartmogul.CustomAttributes.add_by_email(
        config, data={"email": "ben@example.com", "custom": [{"type": "Boolean", "key": "beta", "value": "1"}]}
    ).get()
    assert custom.entries[0].attributes.custom["beta"] is True


def test_customer_retrieve_and_modify(config: chartmogul.Config) -> None:
    customer = chartmogul.Customer.retrieve(config, uuid=BEN).get()
    assert customer.name == "Ben" and customer.billing_system_type == "Custom"
    assert customer.address.address_zip == "99801"

    modified = chartmogul.Customer.modify(
        config,
        uuid=BEN,
        data={
            "lead_created_at": "2015-01-01 00:00:00",
            "city": "San Francisco",
            "attributes": {"tags": ["high-value"], "custom": {"CAC": 25}},
        },
    ).get()
    assert modified.city == modified.address.city == "San Francisco"
    assert modified.lead_created_at.isoformat() == "2015-01-01T00:00:00+00:00"
    assert modified.attributes.tags == ["high-value"]
    assert modified.attributes.custom == {"CAC": 25, "SalesRep": "Mike"}


def test_errors_surface_as_api_error_with_the_documented_body(config: chartmogul.Config) -> None:
    with pytest.raises(chartmogul.APIError) as raised:
        chartmogul.CustomAttributes.update(config, uuid=ADAM, data={"custom": {"never_added": 1}}).get()
    body = json.loads(raised.value.args[0])
    assert body["code"] == 400 and "Bad request" in body["message"] and body["param"] == "custom.never_added"
    assert raised.value.__cause__.response.status_code == 400

    with pytest.raises(chartmogul.APIError) as raised:
        chartmogul.Customer.retrieve(config, uuid="cus_missing").get()
    assert raised.value.__cause__.response.status_code == 404


def test_bad_api_key_is_401_through_the_client(server_url: str) -> None:
    cfg = chartmogul.Config("", max_retries=0)
    cfg.uri = f"{server_url}/chartmogul/v1"
    with pytest.raises(chartmogul.APIError) as raised:
        chartmogul.Attributes.retrieve(cfg, uuid=BEN).get()
    assert json.loads(raised.value.args[0]) == {"code": 401, "message": "No valid API key provided", "param": None}
