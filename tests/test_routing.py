"""One request path: the router answers every vendor path itself (Flask sees only the admin API), every
answer carries the version header, and an unexpected error has one answer, logged once."""

from __future__ import annotations

import logging

import pytest

from mockattr import VENDOR_IDS, __version__
from mockattr.contract import load_contract
from mockattr.contract.auth import vendor_client_headers
from mockattr.server.app import create_app
from mockattr.server.runtime import runtime_of


@pytest.fixture
def app_and_flask_calls():
    app = create_app()
    calls: list[str] = []
    app.before_request(lambda: calls.append("flask"))
    return app, calls


@pytest.mark.parametrize("vendor", VENDOR_IDS)
def test_an_unknown_vendor_path_is_the_vendors_404_without_flask(app_and_flask_calls, vendor: str) -> None:
    app, calls = app_and_flask_calls
    response = app.test_client().get(f"/{vendor}/no/such/path")
    assert response.status_code == 404 and response.headers["X-Mockattr-Version"] == __version__
    assert response.get_json() == runtime_of(app).vendors[vendor].error_body(
        runtime_of(app).contracts[vendor].error("route_not_found")
    )
    assert calls == []
    assert [e.operation for e in runtime_of(app).journal.entries(vendor)] == [None]


def test_a_path_of_no_vendor_is_a_plain_404_without_flask(app_and_flask_calls) -> None:
    app, calls = app_and_flask_calls
    response = app.test_client().get("/nowhere")
    assert (response.status_code, response.get_json()) == (404, {"error": "Not Found"})
    assert response.headers["X-Mockattr-Version"] == __version__ and calls == []


def test_the_admin_api_goes_through_flask_and_carries_the_version_header(app_and_flask_calls) -> None:
    app, calls = app_and_flask_calls
    response = app.test_client().get("/__mockattr/health")
    assert response.status_code == 200 and response.headers["X-Mockattr-Version"] == __version__
    assert calls == ["flask"]
    missing = app.test_client().get("/__mockattr/nope")
    assert (missing.status_code, missing.get_json()) == (404, {"error": "Not Found"})
    assert missing.headers["X-Mockattr-Version"] == __version__


def test_an_unexpected_error_in_the_admin_api_is_one_logged_500(caplog: pytest.LogCaptureFixture) -> None:
    app = create_app()

    def broken(*args: object) -> str:
        raise RuntimeError("boom")

    runtime_of(app).tenants.state_json = broken  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR, logger="mockattr"):
        response = app.test_client().get("/__mockattr/state?vendor=" + VENDOR_IDS[0])
    assert (response.status_code, response.get_json()) == (500, {"error": "Internal Server Error"})
    assert response.headers["X-Mockattr-Version"] == __version__
    assert [r.getMessage() for r in caplog.records].count("mockattr: unexpected error on GET /__mockattr/state") == 1


@pytest.mark.parametrize("vendor", VENDOR_IDS)
def test_an_unexpected_error_in_a_handler_is_the_vendors_500(vendor: str, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app()
    runtime = runtime_of(app)
    operation = next(o for o in runtime.contracts[vendor].operations.values() if o.method == "GET")

    def broken(*args: object) -> None:
        raise RuntimeError("boom")

    runtime.tenants.store.world = broken  # type: ignore[method-assign]
    path = operation.path.replace("{", "").replace("}", "")
    headers = vendor_client_headers(vendor, "key")
    with caplog.at_level(logging.ERROR, logger="mockattr"):
        response = app.test_client().get(f"/{vendor}{path}", headers=headers)
    assert response.status_code == 500
    assert response.get_json() == runtime.vendors[vendor].error_body(runtime.contracts[vendor].error("internal"))
    assert response.headers["X-Mockattr-Version"] == __version__
    assert any("unexpected error" in r.getMessage() for r in caplog.records)


UNSERVED = [(v, e) for v in VENDOR_IDS for e in load_contract(v).index.get("unserved", [])]


@pytest.mark.parametrize(("vendor", "endpoint"), UNSERVED)
def test_a_vendors_endpoint_we_do_not_serve_is_its_404_not_an_operation(vendor: str, endpoint: dict) -> None:
    app = create_app()
    runtime = runtime_of(app)
    response = app.test_client().open(
        f"/{vendor}{endpoint['path']}", method=endpoint["method"], headers=vendor_client_headers(vendor, "key")
    )
    assert (response.status_code, response.get_json()) == (
        404,
        runtime.vendors[vendor].error_body(runtime.contracts[vendor].error("route_not_found")),
    )
    assert [e.operation for e in runtime.journal.entries(vendor)] == [None]
