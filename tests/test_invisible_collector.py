"""Invisible Collector through HTTP: attribute maps, customers, flat JSON errors."""

from __future__ import annotations

import pytest
import requests
from support import VendorClient

GID = "061d2feb-81c2-4694-a74a-13cecbe7d2ce"
EXTERNAL_ID = "100001"
NEW_CUSTOMER = {"name": "Acme Lda", "vatNumber": "PT501234567", "country": "PT", "externalId": "acme-1"}


def assert_flat_error(response: requests.Response, status: int, message: str | None = None) -> dict:
    """Flat JSON, numeric code, application/json, no gid or id (except the 409's gid)."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == status and isinstance(body["message"], str)
    assert all(isinstance(value, (str, int)) for value in body.values()), "flat, for the C# client"
    assert "id" not in body
    assert ("gid" in body) == (status == 409)
    if message is not None:
        assert message in body["message"]
    return body


def test_set_adds_and_updates_and_returns_all(invisible_collector: VendorClient) -> None:
    first = invisible_collector.call("attributes_set", {"a": "1", "existing_name_1": "new"}, id=GID)
    assert first.json() == {"existing_name_1": "new", "a": "1"}
    again = invisible_collector.call("attributes_set", {"a": "1", "existing_name_1": "new"}, id=GID)
    assert again.json() == first.json(), "idempotent"
    assert invisible_collector.call("attributes_get", id=GID).json() == first.json()


def test_external_id_names_the_customer_too(invisible_collector: VendorClient) -> None:
    invisible_collector.call("attributes_set", {"tier": "gold"}, id=EXTERNAL_ID)
    assert invisible_collector.call("attributes_get", id=GID).json()["tier"] == "gold"
    assert invisible_collector.call("customer_get", id=EXTERNAL_ID).json()["gid"] == GID


def test_an_empty_request_returns_the_current_attributes(invisible_collector: VendorClient) -> None:
    """The Go client sends no body and no Content-Type for an empty map."""
    response = invisible_collector.session.post(
        invisible_collector.url("attributes_set", id=GID), headers=invisible_collector.headers()
    )
    invisible_collector.assert_conforms("attributes_set", response)
    assert response.json() == {"existing_name_1": "old_attribute_1"}
    assert invisible_collector.call("attributes_set", {}, id=GID).json() == {"existing_name_1": "old_attribute_1"}


@pytest.mark.parametrize(
    "raw",
    [
        b'{"": "x"}',
        b'{"k": ""}',
        b'{"k": 1}',
        b'{"k": null}',
        b'{"k": {"v": "x"}}',
        b'["k"]',
        b'"k"',
        b"{",
        b'{"ok": "fine", "bad": ""}',
    ],
)
def test_bad_attribute_maps_are_422_and_change_nothing(invisible_collector: VendorClient, raw: bytes) -> None:
    before = invisible_collector.state()
    response = invisible_collector.call("attributes_set", raw=raw, headers={"Content-Type": "application/json"}, id=GID)
    assert_flat_error(response, 422, "Unprocessable request")
    assert invisible_collector.state() == before


@pytest.mark.parametrize(
    ("operation", "body"), [("attributes_set", {"k": "v"}), ("attributes_get", None), ("customer_get", None)]
)
def test_unknown_customer_is_404(invisible_collector: VendorClient, operation: str, body: object) -> None:
    before = invisible_collector.state()
    assert_flat_error(invisible_collector.call(operation, body, id="no-such-customer"), 404, "Customer not found")
    assert invisible_collector.state() == before


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": ""},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic dG9rZW46"},
        {"Authorization": "token"},
    ],
)
def test_missing_or_malformed_bearer_is_401(invisible_collector: VendorClient, headers: dict) -> None:
    before = invisible_collector.state()
    response = invisible_collector.call("attributes_set", {"k": "v"}, headers=headers, id=GID)
    assert_flat_error(response, 401)
    assert invisible_collector.state() == before


def test_create_then_annotate_a_customer(invisible_collector: VendorClient) -> None:
    created = invisible_collector.call("customer_create", {**NEW_CUSTOMER, "email": None})
    assert created.status_code == 200
    customer = created.json()
    assert customer["gid"] != GID and customer["name"] == "Acme Lda" and customer["email"] is None
    assert invisible_collector.call("customer_get", id=customer["gid"]).json() == customer
    assert invisible_collector.call("attributes_get", id="acme-1").json() == {}
    assert invisible_collector.call("attributes_set", {"k": "v"}, id="acme-1").json() == {"k": "v"}


def test_duplicate_external_id_is_409_with_the_existing_gid(invisible_collector: VendorClient) -> None:
    before = invisible_collector.state()
    response = invisible_collector.call("customer_create", {**NEW_CUSTOMER, "externalId": EXTERNAL_ID})
    body = assert_flat_error(response, 409, "Customer already registered")
    assert body["gid"] == GID
    assert invisible_collector.state() == before


def test_an_external_id_that_is_already_a_gid_is_409(invisible_collector: VendorClient) -> None:
    response = invisible_collector.call("customer_create", {**NEW_CUSTOMER, "externalId": GID})
    assert assert_flat_error(response, 409)["gid"] == GID


def test_an_external_id_with_a_slash_is_422(invisible_collector: VendorClient) -> None:
    assert_flat_error(invisible_collector.call("customer_create", {**NEW_CUSTOMER, "externalId": "a/b"}), 422)


@pytest.mark.parametrize("missing", ["name", "vatNumber", "country"])
def test_create_without_a_required_field_is_422(invisible_collector: VendorClient, missing: str) -> None:
    before = invisible_collector.state()
    body = {key: value for key, value in NEW_CUSTOMER.items() if key != missing}
    assert_flat_error(invisible_collector.call("customer_create", body), 422, missing)
    assert invisible_collector.state() == before


def test_unknown_route_is_flat_json_404(invisible_collector: VendorClient) -> None:
    response = invisible_collector.session.get(
        invisible_collector.base_url + "/debts", headers=invisible_collector.headers()
    )
    assert_flat_error(response, 404)
