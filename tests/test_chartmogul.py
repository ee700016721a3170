"""ChartMogul through HTTP: every operation, its normalisation rules and its errors."""

from __future__ import annotations

import pytest
from support import VendorClient, assert_error

ADAM = "cus_de305d54-75b4-431b-adb2-eb6b9e546012"
BEN = "cus_ab223d54-75b4-431b-adb2-eb6b9e234571"
MISSING = "cus_00000000-0000-0000-0000-000000000000"


def custom_of(client: VendorClient, uuid: str = ADAM) -> dict:
    response = client.call("retrieve", uuid=uuid)
    assert response.status_code == 200
    return response.json()["custom"]


# --- add -------------------------------------------------------------------------------------


def test_add_defines_the_key_and_returns_all_attributes(chartmogul: VendorClient) -> None:
    response = chartmogul.call("add", {"custom": [{"type": "Decimal", "key": "score", "value": 1.5}]}, uuid=ADAM)
    assert response.status_code == 200
    custom = response.json()["custom"]
    assert custom["score"] == 1.5
    assert custom["salesRep"] == "Gabi", "the answer holds every attribute on the customer"
    assert chartmogul.state()["attribute_definitions"]["score"] == "Decimal"


def test_added_definition_is_account_wide(chartmogul: VendorClient) -> None:
    chartmogul.call("add", {"custom": [{"type": "String", "key": "plan", "value": "gold"}]}, uuid=ADAM)
    response = chartmogul.call("update", {"custom": {"plan": "silver"}}, uuid=BEN)
    assert response.status_code == 200
    assert response.json()["custom"]["plan"] == "silver"


def test_add_with_another_type_for_an_existing_key_is_400(chartmogul: VendorClient) -> None:
    before = chartmogul.state()
    response = chartmogul.call("add", {"custom": [{"type": "Integer", "key": "channel", "value": 3}]}, uuid=ADAM)
    assert_error(response, 400, param="custom[0].type", message="String")
    assert chartmogul.state() == before


@pytest.mark.parametrize(
    ("item", "param"),
    [
        ({"type": "Integer", "key": "n", "value": "12a"}, "custom[0].value"),
        ({"type": "String", "key": "s", "value": "x" * 256}, "custom[0].value"),
        ({"type": "Boolean", "key": "b", "value": "yes"}, "custom[0].value"),
        ({"type": "Timestamp", "key": "t", "value": "yesterday"}, "custom[0].value"),
        ({"type": "Text", "key": "t", "value": "x"}, "custom[0].type"),
        ({"type": "String", "key": "has space", "value": "x"}, "custom[0].key"),
        ({"type": "String", "key": "newline\n", "value": "x"}, "custom[0].key"),
        ({"type": "Decimal", "key": "d", "value": "1e999"}, "custom[0].value"),
        ({"type": "Decimal", "key": "d", "value": "1" * 400}, "custom[0].value"),
        ({"type": "Decimal", "key": "d", "value": 10**400}, "custom[0].value"),
        ({"type": "String", "value": "x"}, "custom[0].key"),
    ],
)
def test_add_rejects_what_the_contract_rejects(chartmogul: VendorClient, item: dict, param: str) -> None:
    before = chartmogul.state()
    response = chartmogul.call("add", {"custom": [{"type": "String", "key": "fine", "value": "ok"}, item]}, uuid=ADAM)
    assert_error(response, 400, param=param.replace("[0]", "[1]"))
    assert chartmogul.state() == before, "a rejected request changes nothing, not even its valid items"


def test_string_of_255_characters_is_accepted(chartmogul: VendorClient) -> None:
    response = chartmogul.call("add", {"custom": [{"type": "String", "key": "s", "value": "é" * 255}]}, uuid=ADAM)
    assert response.status_code == 200
    assert response.json()["custom"]["s"] == "é" * 255


def test_add_by_email_returns_the_customers(chartmogul: VendorClient) -> None:
    body = {"email": "BEN@example.com", "custom": [{"type": "Integer", "key": "seats", "value": "12"}]}
    response = chartmogul.call("add_by_email", body)
    assert response.status_code == 200
    [entry] = response.json()["entries"]
    assert entry["uuid"] == BEN
    assert entry["attributes"]["custom"]["seats"] == 12


def test_add_by_unknown_email_is_the_recorded_404(chartmogul: VendorClient) -> None:
    body = {"email": "no@email.com", "custom": [{"type": "Integer", "key": "seats", "value": 1}]}
    response = chartmogul.call("add_by_email", body)
    assert response.json() == {
        "code": 404,
        "message": 'Can\'t find any customers with email: "no@email.com"',
        "param": "email",
    }
    assert "seats" not in chartmogul.state()["attribute_definitions"]


# --- update and normalisation ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "sent", "returned"),
    [
        ("convertedAt", "2016-01-31 00:00:00 UTC", "2016-01-31T00:00:00.000Z"),
        ("convertedAt", "2016-01-31T02:30:00+02:00", "2016-01-31T00:30:00.000Z"),
        ("convertedAt", "2016-01-31T23:30:00-0100", "2016-02-01T00:30:00.000Z"),
        ("convertedAt", "2016-01-31T10:00:00.25Z", "2016-01-31T10:00:00.250Z"),
        ("convertedAt", "2016-01-31", "2016-01-31T00:00:00.000Z"),
        ("convertedAt", "2024-02-29T12:00:00", "2024-02-29T12:00:00.000Z"),
        ("convertedAt", "0999-06-01", "0999-06-01T00:00:00.000Z"),
        ("age", 2.0, 2),
        ("pro", "TRUE", True),
        ("pro", "t", True),
        ("pro", "1", True),
        ("pro", 1, True),
        ("pro", True, True),
        ("pro", "FALSE", False),
        ("pro", "f", False),
        ("pro", "0", False),
        ("pro", False, False),
        ("age", "42", 42),
        ("age", -7, -7),
        ("CAC", {"value": "99", "source": "crm"}, 99),
    ],
)
def test_update_normalises_values(chartmogul: VendorClient, key: str, sent: object, returned: object) -> None:
    response = chartmogul.call("update", {"custom": {key: sent}}, uuid=ADAM)
    assert response.status_code == 200
    assert response.json()["custom"][key] == returned
    assert custom_of(chartmogul)[key] == returned


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("pro", "yes"),
        ("pro", "True "),
        ("pro", 2),
        ("age", "1.5"),
        ("age", 1.5),
        ("age", "12a"),
        ("convertedAt", "2023-02-29T00:00:00Z"),
        ("convertedAt", "2016-13-01"),
        ("convertedAt", 20160131),
        ("salesRep", "x" * 256),
        ("age", "12\n"),
        ("age", "١٢"),
        ("age", 2**63),
        ("convertedAt", "2024-01-01\n"),
        ("salesRep", 5),
        ("CAC", {"source": "crm"}),
    ],
)
def test_update_with_a_value_that_does_not_fit_is_400(chartmogul: VendorClient, key: str, value: object) -> None:
    before = chartmogul.state()
    response = chartmogul.call("update", {"custom": {"utmCampaign": "changed", key: value}}, uuid=ADAM)
    assert_error(response, 400)
    assert response.json()["param"].startswith(f"custom.{key}")
    assert chartmogul.state() == before


def test_update_of_an_undefined_key_is_bad_request(chartmogul: VendorClient) -> None:
    before = chartmogul.state()
    response = chartmogul.call("update", {"custom": {"pro": False, "nobody_made_me": 1}}, uuid=ADAM)
    assert_error(response, 400, param="custom.nobody_made_me", message="Bad request")
    assert chartmogul.state() == before


def test_update_answers_every_attribute(chartmogul: VendorClient) -> None:
    custom = chartmogul.call("update", {"custom": {"age": 9}}, uuid=ADAM).json()["custom"]
    assert set(custom) == {"CAC", "utmCampaign", "convertedAt", "pro", "salesRep", "channel", "age"}


# --- remove ----------------------------------------------------------------------------------


def test_remove_returns_what_remains(chartmogul: VendorClient) -> None:
    response = chartmogul.call("remove", {"custom": ["age", "pro", "not_there"]}, uuid=ADAM)
    assert response.status_code == 200
    assert set(response.json()["custom"]) == {"CAC", "utmCampaign", "convertedAt", "salesRep", "channel"}
    assert "age" in chartmogul.state()["attribute_definitions"], "the definition stays"


def test_removing_the_last_attribute_answers_204_without_body(chartmogul: VendorClient) -> None:
    response = chartmogul.call("remove", {"custom": ["CAC", "SalesRep"]}, uuid=BEN)
    assert response.status_code == 204
    assert response.content == b""
    assert "Content-Type" not in response.headers, "an answer with no body has no type"
    assert custom_of(chartmogul, BEN) == {}


# --- retrieve and tags -----------------------------------------------------------------------


def test_retrieve_is_the_unwrapped_attributes_object(chartmogul: VendorClient) -> None:
    body = chartmogul.call("retrieve", uuid=BEN).json()
    assert body == {"tags": ["engage"], "stripe": {}, "clearbit": {}, "custom": {"CAC": 20, "SalesRep": "Mike"}}


def test_tags_add_and_remove(chartmogul: VendorClient) -> None:
    added = chartmogul.call("tags_add", {"tags": ["vip", "engage", "vip"]}, uuid=BEN)
    assert added.json() == {"tags": ["engage", "vip"]}
    removed = chartmogul.call("tags_remove", {"tags": ["engage", "never"]}, uuid=BEN)
    assert removed.json() == {"tags": ["vip"]}
    assert chartmogul.call("retrieve", uuid=BEN).json()["tags"] == ["vip"]


def test_tags_add_by_email(chartmogul: VendorClient) -> None:
    response = chartmogul.call("tags_add_by_email", {"email": "adam@example.com", "tags": ["champion"]})
    assert response.status_code == 200
    assert response.json()["entries"][0]["attributes"]["tags"] == ["important", "champion"]


@pytest.mark.parametrize(
    ("body", "param"), [({"tags": []}, "tags"), ({"tags": [""]}, "tags[0]"), ({"tags": "vip"}, "tags"), ({}, "tags")]
)
def test_bad_tags_are_400(chartmogul: VendorClient, body: dict, param: str) -> None:
    response = chartmogul.call("tags_add", body, uuid=BEN)
    assert_error(response, 400, param=param)


# --- customers -------------------------------------------------------------------------------


def test_customer_get(chartmogul: VendorClient) -> None:
    body = chartmogul.call("customer_get", uuid=BEN).json()
    assert body["name"] == "Ben"
    assert body["billing-system-type"] == "Custom"
    assert body["attributes"]["custom"] == {"CAC": 20, "SalesRep": "Mike"}


def test_patch_keeps_address_in_step_and_merges_custom(chartmogul: VendorClient) -> None:
    body = {"zip": "94105", "name": "Benjamin", "attributes": {"custom": {"CAC": "30"}}}
    customer = chartmogul.call("customer_update", body, uuid=BEN).json()
    assert customer["zip"] == customer["address"]["address_zip"] == "94105"
    assert customer["name"] == "Benjamin"
    assert customer["attributes"]["custom"] == {"CAC": 30, "SalesRep": "Mike"}
    assert customer["attributes"]["tags"] == ["engage"], "tags not sent stay"
    assert chartmogul.call("customer_get", uuid=BEN).json() == customer


def test_patch_ignores_read_only_fields(chartmogul: VendorClient) -> None:
    fetched = chartmogul.call("customer_get", uuid=BEN).json()
    sent = {**fetched, "mrr": 1, "uuid": "cus_other", "customer-since": None, "city": "Sitka"}
    customer = chartmogul.call("customer_update", sent, uuid=BEN).json()
    assert customer["mrr"] == 3000 and customer["uuid"] == BEN
    assert customer["city"] == customer["address"]["city"] == "Sitka"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"attributes": {"custom": {"undefined_key": 1}}}, "attributes.custom.undefined_key"),
        ({"attributes": {"custom": {"CAC": "lots"}}}, "attributes.custom.CAC"),
        ({"lead_created_at": "soon"}, "lead_created_at"),
        ({"lead_created_at": "2015-02-30 00:00:00"}, "lead_created_at"),
        ({"name": 5}, "name"),
        ({"favourite_colour": "blue"}, "favourite_colour"),
        ({"attributes": {"tags": "vip"}}, "attributes.tags"),
    ],
)
def test_bad_patch_is_400_and_changes_nothing(chartmogul: VendorClient, body: dict, param: str) -> None:
    before = chartmogul.state()
    response = chartmogul.call("customer_update", {"city": "Nome", **body}, uuid=BEN)
    assert_error(response, 400, param=param)
    assert chartmogul.state() == before


# --- errors common to every operation --------------------------------------------------------

OPERATIONS_ON_A_CUSTOMER = [
    ("add", {"custom": [{"type": "String", "key": "k", "value": "v"}]}),
    ("update", {"custom": {"pro": True}}),
    ("remove", {"custom": ["pro"]}),
    ("retrieve", None),
    ("tags_add", {"tags": ["x"]}),
    ("tags_remove", {"tags": ["x"]}),
    ("customer_get", None),
    ("customer_update", {"name": "x"}),
]


@pytest.mark.parametrize(("operation", "body"), OPERATIONS_ON_A_CUSTOMER)
def test_unknown_customer_is_404(chartmogul: VendorClient, operation: str, body: object) -> None:
    before = chartmogul.state()
    assert_error(chartmogul.call(operation, body, uuid=MISSING), 404, param="uuid")
    assert chartmogul.state() == before


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": ""},
        {"Authorization": "Basic !!!not-base64"},
        {"Authorization": "Basic Og=="},  # ":" - empty key
        {"Authorization": "Bearer test-key"},
    ],
)
@pytest.mark.parametrize(("operation", "body"), OPERATIONS_ON_A_CUSTOMER[:4])
def test_missing_or_malformed_basic_auth_is_401(
    chartmogul: VendorClient, operation: str, body: object, headers: dict
) -> None:
    before = chartmogul.state()
    response = chartmogul.call(operation, body, headers=headers, uuid=ADAM)
    assert response.json() == {"code": 401, "message": "No valid API key provided", "param": None}
    assert response.status_code == 401
    assert chartmogul.state() == before


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{", "not valid JSON"),
        (b"", "not valid JSON"),
        (b'{"custom": {"pro": NaN}}', "not valid JSON"),
        (b'{"custom": {"CAC": 1e999}}', "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[" * 100_000, "not valid JSON"),
        (b'{"custom": {"channel": ' + b"[" * 1000 + b"]" * 1000 + b"}}", "not valid JSON"),  # deeper than Python reads
        (b'{"custom": {"channel": "\\ud800"}}', "not valid JSON"),
        (b'{"custom": {"channel": "\xed\xa0\x80"}}', "not valid JSON"),  # the surrogate in UTF-8 bytes
        ('{"custom": {"channel": "\ud800"}}'.encode("utf-16-le", "surrogatepass"), "not valid JSON"),
        ('{"custom": {"channel": "\\ud800"}}'.encode("utf-16-le"), "not valid JSON"),  # ASCII bytes, NULs between
        (b"[]", "must be a JSON object"),
        (b'"custom"', "must be a JSON object"),
    ],
)
def test_malformed_bodies_are_400(chartmogul: VendorClient, raw: bytes, message: str) -> None:
    before = chartmogul.state()
    response = chartmogul.call("update", raw=raw, headers={"Content-Type": "application/json"}, uuid=ADAM)
    assert_error(response, 400, param=None, message=message)
    assert chartmogul.state() == before
    journal = chartmogul.session.get(chartmogul.base_url.rsplit("/", 1)[0] + "/__mockattr/requests", timeout=10)
    assert journal.status_code == 200, "the journal stays readable"


@pytest.mark.parametrize("depth", [300, 600, 900])
def test_a_body_nested_deeper_than_the_checks_follow_is_400(chartmogul: VendorClient, depth: int) -> None:
    before = chartmogul.state()
    raw = b'{"custom": {"channel": ' + b"[" * depth + b"]" * depth + b"}}"
    response = chartmogul.call("update", raw=raw, headers={"Content-Type": "application/json"}, uuid=ADAM)
    assert_error(response, 400)
    assert chartmogul.state() == before


def test_an_integer_past_64_bits_is_read_as_the_integer_sent(chartmogul: VendorClient) -> None:
    """JSON has no integer limit: one past 64 bits is read exactly (not as a float), so the 400 names it
    as it was sent."""
    raw = b'{"custom": {"CAC": 18446744073709551617}}'
    response = chartmogul.call("update", raw=raw, headers={"Content-Type": "application/json"}, uuid=ADAM)
    assert_error(response, 400, param="custom.CAC", message="18446744073709551617 is not a valid Integer value")
    answered = chartmogul.call("update", raw=b'{"custom": {"channel": "12345678901234567890123"}}', uuid=ADAM)
    assert answered.json()["custom"]["channel"] == "12345678901234567890123"


@pytest.mark.parametrize(
    ("body", "param", "message"),
    [
        ({}, "custom", 'Parameter "custom" is missing'),
        ({"custom": ["pro"]}, "custom", 'Parameter "custom" is invalid'),
        ({"custom": {"pro": True}, "extra": 1}, "extra", 'Parameter "extra" is invalid'),
        ({"custom": {"bad key": 1}}, "custom", 'Parameter "custom" is invalid'),
    ],
)
def test_wrong_fields_name_the_param(chartmogul: VendorClient, body: dict, param: str, message: str) -> None:
    assert_error(chartmogul.call("update", body, uuid=ADAM), 400, param=param, message=message)


def test_body_over_one_mebibyte_is_413(chartmogul: VendorClient) -> None:
    before = chartmogul.state()
    huge = b'{"custom": {"salesRep": "' + b"x" * (1024 * 1024) + b'"}}'
    response = chartmogul.call("update", raw=huge, headers={"Content-Type": "application/json"}, uuid=ADAM)
    assert_error(response, 413, param=None)
    assert chartmogul.state() == before


def test_chunked_body_over_one_mebibyte_is_413_not_cut(chartmogul: VendorClient) -> None:
    before = chartmogul.state()

    def chunks():
        yield b'{"custom": {"channel": "CHUNKED"}}'
        for _ in range(3):
            yield b" " * (1024 * 1024)

    response = chartmogul.session.put(
        chartmogul.url("update", uuid=ADAM),
        data=chunks(),
        headers={**chartmogul.headers(), "Content-Type": "application/json"},
    )
    assert "Content-Length" not in response.request.headers
    assert_error(response, 413, param=None)
    assert chartmogul.state() == before


def test_options_is_no_operation(chartmogul: VendorClient) -> None:
    response = chartmogul.session.options(chartmogul.url("retrieve", uuid=ADAM))
    assert_error(response, 405)


def test_unknown_route_and_method_answer_in_chartmogul_error_body(chartmogul: VendorClient) -> None:
    session = chartmogul.session
    not_found = session.get(chartmogul.base_url + "/v1/nothing/here", headers=chartmogul.headers())
    assert not_found.status_code == 404
    assert set(not_found.json()) == {"code", "message", "param"}
    wrong_method = session.put(chartmogul.url("retrieve", uuid=ADAM), headers=chartmogul.headers())
    assert wrong_method.status_code == 405
    assert wrong_method.json()["code"] == 405
    doubled_slash = session.get(chartmogul.base_url + f"/v1//customers/{ADAM}/attributes", headers=chartmogul.headers())
    assert doubled_slash.status_code == 200  # merged, as nginx's merge_slashes (not a redirect to an HTML page)
    assert doubled_slash.json()["custom"]["salesRep"] == "Gabi"
    head = session.head(chartmogul.url("retrieve", uuid=ADAM), headers=chartmogul.headers())
    got = session.get(chartmogul.url("retrieve", uuid=ADAM), headers=chartmogul.headers())
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(got.content))


def test_header_names_in_any_case(chartmogul: VendorClient) -> None:
    response = chartmogul.call(
        "update", raw=b'{"custom": {"age": 3}}', headers={"content-type": "application/json"}, uuid=ADAM
    )
    assert response.json()["custom"]["age"] == 3
