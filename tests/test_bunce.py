"""Bunce through HTTP: bulk rows, row-level and request-level errors, attribute definitions."""

from __future__ import annotations

import pytest
import requests
from support import VendorClient

JOB_TITLE = "9f171295-6935-400c-af6b-fd628a46bc71"  # text
LAST_SEEN = "3b1f2a4c-8d9e-4f10-a2b3-c4d5e6f7a8b9"  # timestamp
LIFETIME_VALUE = "7c2e9d41-5b6a-4e3f-9a8b-1c2d3e4f5a6b"  # numeric
TIMESTAMP_ERROR = (
    "Provided value is not a valid format for timestamp attribute. ISO 8601 format is required. "
    "Example: 2022-01-01T12:00:00+00:00"
)


def customer(client: VendorClient, customer_id: str | None = None, email: str | None = None) -> dict:
    for found in client.state()["customers"]:
        if (customer_id and found["customer_id"] == customer_id) or (email and found["email"] == email):
            return found
    raise AssertionError(f"no customer {customer_id or email}")


def assert_bunce_error(response: requests.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and body["message"]
    return body


def test_documented_rows_create_and_update_customers(bunce: VendorClient) -> None:
    rows = [
        {"id": JOB_TITLE, "customer_email": "verynewcustomer@gmail.com", "value": "Developer"},
        {"id": JOB_TITLE, "customer_id": "new_id_100", "value": "Developer"},
        {
            "id": JOB_TITLE,
            "value": "Product Manager",
            "customer": {
                "customer_id": "290000",
                "first_name": "Dami Edited",
                "last_name": "Robert Edited",
                "devices": [{"device_type": "ios", "device_token": "111118766834283"}],
            },
        },
    ]
    response = bunce.call("set_values", {"attributes": rows})
    body = response.json()
    assert body["message"] == "Customer attributes successfully updated."
    assert [entry["row"] for entry in body["data"]["saved"]] == [0, 1, 2]
    assert body["data"]["errors"] == {}
    assert customer(bunce, email="verynewcustomer@gmail.com")["attributes"] == {JOB_TITLE: "Developer"}
    assert customer(bunce, "new_id_100")["attributes"] == {JOB_TITLE: "Developer"}
    edited = customer(bunce, "290000")
    assert (edited["first_name"], edited["last_name"], edited["email"]) == (
        "Dami Edited",
        "Robert Edited",
        "mfon9000@gmail.com",
    )
    assert edited["devices"] == [{"device_type": "ios", "device_token": "111118766834283"}]
    assert edited["attributes"][JOB_TITLE] == "Product Manager"


def test_mixed_rows_save_exactly_the_good_ones(bunce: VendorClient) -> None:
    rows = [
        {"id": JOB_TITLE, "customer_id": "290000", "value": "CTO"},
        {"id": LAST_SEEN, "customer_id": "290000", "value": "2024-05-01 10:00:00"},
        {"id": LIFETIME_VALUE, "customer_id": "290000", "value": "1250.50"},
        {"id": "00000000-0000-4000-8000-000000000000", "customer_id": "290000", "value": "x"},
        {"id": LIFETIME_VALUE, "customer_email": "someone.new@example.com", "value": "a lot"},
        {"id": LAST_SEEN, "customer_id": "290000", "value": "2023-02-29T10:00:00Z"},
        {"id": LAST_SEEN, "customer_email": "someone.new@example.com", "value": "2024-02-29T10:00:00Z"},
    ]
    data = bunce.call("set_values", {"attributes": rows}).json()["data"]
    assert [entry["row"] for entry in data["saved"]] == [0, 2, 6]
    assert data["errors"] == {
        "1": TIMESTAMP_ERROR,
        "3": "Attribute not found.",
        "4": "Provided value is not a valid format for numeric attribute. A number is required. Example: 42.5",
        "5": TIMESTAMP_ERROR,
    }
    assert customer(bunce, "290000")["attributes"] == {
        JOB_TITLE: "CTO",
        LIFETIME_VALUE: "1250.50",
        LAST_SEEN: "2024-01-01T09:00:00Z",
    }
    assert customer(bunce, email="someone.new@example.com")["attributes"] == {LAST_SEEN: "2024-02-29T10:00:00Z"}


def test_the_timestamp_errors_own_example_is_saved_and_other_offsets_are_not(bunce: VendorClient) -> None:
    example = TIMESTAMP_ERROR.rsplit("Example: ", 1)[1]
    rows = [
        {"id": LAST_SEEN, "customer_id": "290000", "value": example},
        {"id": LAST_SEEN, "customer_id": "290000", "value": "2022-01-01T12:00:00+01:00"},
        {"id": LAST_SEEN, "customer_id": "290000", "value": "2022-01-01T12:00:00.5Z"},
    ]
    data = bunce.call("set_values", {"attributes": rows}).json()["data"]
    assert [entry["row"] for entry in data["saved"]] == [0]
    assert data["errors"] == {"1": TIMESTAMP_ERROR, "2": TIMESTAMP_ERROR}
    assert customer(bunce, "290000")["attributes"][LAST_SEEN] == example


def test_a_customer_object_merges_devices_by_token(bunce: VendorClient) -> None:
    def row(devices: list[dict]) -> dict:
        return {"id": JOB_TITLE, "value": "x", "customer": {"customer_id": "290000", "devices": devices}}

    bunce.call("set_values", {"attributes": [row([{"device_type": "ios", "device_token": "a"}])]})
    bunce.call(
        "set_values",
        {
            "attributes": [
                row([{"device_type": "android", "device_token": "a"}, {"device_type": "ios", "device_token": "b"}])
            ]
        },
    )
    assert customer(bunce, "290000")["devices"] == [
        {"device_type": "android", "device_token": "a"},
        {"device_type": "ios", "device_token": "b"},
    ]


GOOD_ROW = {"id": JOB_TITLE, "customer_id": "290000", "value": "Changed"}


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"attributes": []},
        {"attributes": "rows"},
        {"attributes": [GOOD_ROW, {"customer_id": "290000", "value": "x"}]},
        {"attributes": [GOOD_ROW, {"id": JOB_TITLE, "customer_id": "290000"}]},
        {"attributes": [GOOD_ROW, {"id": "not-a-uuid", "customer_id": "290000", "value": "x"}]},
        {"attributes": [GOOD_ROW, {"id": JOB_TITLE, "value": "x"}]},
        {"attributes": [GOOD_ROW, {"id": JOB_TITLE, "value": "x", "customer_id": "1", "customer_email": "a@b.c"}]},
        {"attributes": [GOOD_ROW, {"id": JOB_TITLE, "value": 5, "customer_id": "290000"}]},
        {"attributes": [GOOD_ROW, {"id": JOB_TITLE, "value": "x", "customer": {"first_name": "Nobody"}}]},
        {"attributes": [GOOD_ROW, {"id": JOB_TITLE, "value": "x", "customer_email": "not an email"}]},
    ],
)
def test_request_level_problems_are_422_and_save_nothing(bunce: VendorClient, body: dict) -> None:
    before = bunce.state()
    body = assert_bunce_error(bunce.call("set_values", body), 422)
    assert body["errors"], "a 422 carries details in an error object"
    assert bunce.state() == before


@pytest.mark.parametrize("raw", [b"{", b"", b"[1]", b"null"])
def test_malformed_bodies_are_422(bunce: VendorClient, raw: bytes) -> None:
    before = bunce.state()
    assert_bunce_error(bunce.call("set_values", raw=raw, headers={"Content-Type": "application/json"}), 422)
    assert bunce.state() == before


@pytest.mark.parametrize("headers", [{"X-Authorization": ""}, {}, {"Authorization": "k"}])
def test_missing_or_empty_key_is_401(bunce: VendorClient, headers: dict) -> None:
    before = bunce.state()
    response = bunce.session.post(bunce.url("set_values"), json={"attributes": [GOOD_ROW]}, headers=headers)
    assert_bunce_error(response, 401)
    bunce.assert_conforms("set_values", response)
    assert bunce.state() == before


def test_create_an_attribute_then_set_it(bunce: VendorClient) -> None:
    created = bunce.call("attribute_create", {"name": "plan", "data_type": "numeric"})
    assert created.status_code == 201
    attribute = created.json()["data"]
    assert attribute["name"] == "plan" and attribute["data_type"] == "numeric"
    data = bunce.call(
        "set_values", {"attributes": [{"id": attribute["id"], "customer_id": "290000", "value": "3"}]}
    ).json()["data"]
    assert data["errors"] == {} and customer(bunce, "290000")["attributes"][attribute["id"]] == "3"
    listed = bunce.call("attribute_list", headers={}).json()["data"]
    assert attribute in listed


def test_duplicate_attribute_name_is_422(bunce: VendorClient) -> None:
    before = bunce.state()
    body = assert_bunce_error(bunce.call("attribute_create", {"name": "Job_Title", "data_type": "text"}), 422)
    assert body["errors"] == {"name": [body["message"]]}
    assert bunce.state() == before


@pytest.mark.parametrize("body", [{"name": "x"}, {"name": "", "data_type": "text"}, {"name": "x", "data_type": "date"}])
def test_bad_attribute_definitions_are_422(bunce: VendorClient, body: dict) -> None:
    assert_bunce_error(bunce.call("attribute_create", body), 422)


def test_attribute_list_pages_with_cursors(bunce: VendorClient) -> None:
    for n in range(4):
        bunce.call("attribute_create", {"name": f"extra_{n}", "data_type": "text"})
    seen: list[str] = []
    cursor = None
    while True:
        params = {"per_page": "3", **({"cursor": cursor} if cursor else {})}
        response = bunce.session.get(bunce.url("attribute_list"), params=params, headers=bunce.headers())
        bunce.assert_conforms("attribute_list", response)
        page = response.json()
        seen += [attribute["name"] for attribute in page["data"]]
        cursor = page["meta"]["next_page_cursor"]
        if not page["meta"]["has_next_page"]:
            break
    assert seen == ["job_title", "last_seen_at", "lifetime_value", "extra_0", "extra_1", "extra_2", "extra_3"]


@pytest.mark.parametrize("params", [{"per_page": "0"}, {"per_page": "many"}, {"per_page": "101"}, {"cursor": "junk"}])
def test_bad_list_parameters_are_422(bunce: VendorClient, params: dict) -> None:
    response = bunce.session.get(bunce.url("attribute_list"), params=params, headers=bunce.headers())
    assert_bunce_error(response, 422)
    bunce.assert_conforms("attribute_list", response)


def test_an_id_and_email_of_two_customers_is_a_row_error(bunce: VendorClient) -> None:
    bunce.call(
        "set_values",
        {"attributes": [{"id": JOB_TITLE, "value": "x", "customer": {"customer_id": "B1", "email": "b@x.io"}}]},
    )
    before = bunce.state()
    rows = [
        {"id": JOB_TITLE, "value": "y", "customer": {"customer_id": "290000", "email": "b@x.io"}},
        {"id": JOB_TITLE, "value": "z", "customer": {"customer_id": "NEW", "email": "mfon9000@gmail.com"}},
    ]
    data = bunce.call("set_values", {"attributes": rows}).json()["data"]
    assert data["saved"] == [] and set(data["errors"]) == {"0", "1"}
    assert "two different customers" in data["errors"]["0"]
    assert bunce.state() == before


def test_an_email_identifies_one_customer_across_rows(bunce: VendorClient) -> None:
    rows = [
        {"id": JOB_TITLE, "customer_email": "d@x.io", "value": "1"},
        {"id": JOB_TITLE, "customer_id": "D", "value": "2"},
        {"id": JOB_TITLE, "value": "3", "customer": {"customer_id": "D", "email": "d@x.io"}},
    ]
    data = bunce.call("set_values", {"attributes": rows}).json()["data"]
    assert [e["row"] for e in data["saved"]] == [0, 1] and set(data["errors"]) == {"2"}
    assert len([c for c in bunce.state()["customers"] if c["email"] == "d@x.io"]) == 1, "e-mails stay unique"


def test_attribute_ids_match_in_any_case(bunce: VendorClient) -> None:
    data = bunce.call(
        "set_values", {"attributes": [{"id": JOB_TITLE.upper(), "customer_id": "290000", "value": "CEO"}]}
    ).json()["data"]
    assert data["errors"] == {} and customer(bunce, "290000")["attributes"][JOB_TITLE] == "CEO"


def test_every_422_names_its_details(bunce: VendorClient) -> None:
    body = assert_bunce_error(bunce.call("set_values", raw=b"{", headers={"Content-Type": "application/json"}), 422)
    assert body["errors"] == {"body": [body["message"]]}
    body = assert_bunce_error(bunce.call("set_values", {"attributes": [{"id": JOB_TITLE, "value": "x"}]}), 422)
    assert "exactly one of customer_id, customer_email or customer" in body["message"]
