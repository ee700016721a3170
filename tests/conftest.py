"""A live mockattr server for the whole test session, reset before every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from support import VendorClient

from mockattr.app import create_app
from mockattr.server import BackgroundServer, start_background


@pytest.fixture(scope="session")
def live_server() -> Iterator[BackgroundServer]:
    server = start_background(create_app())
    yield server
    server.stop()


@pytest.fixture
def server_url(live_server: BackgroundServer) -> str:
    """Base URL of the shared server, with every tenant back to the fixtures."""
    response = requests.post(f"{live_server.url}/__mockattr/reset", timeout=10)
    assert response.status_code == 200
    return live_server.url


@pytest.fixture
def chartmogul(server_url: str) -> VendorClient:
    return VendorClient("chartmogul", f"{server_url}/chartmogul")


@pytest.fixture
def bunce(server_url: str) -> VendorClient:
    return VendorClient("bunce", f"{server_url}/bunce")


@pytest.fixture
def invisible_collector(server_url: str) -> VendorClient:
    return VendorClient("invisible_collector", f"{server_url}/invisible_collector")
