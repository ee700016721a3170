"""Our own tests use the plugin's session server (mockattr.testing.plugin), reset before every test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from support import ServeProcesses, VendorClient

from mockattr.testing.plugin import MockattrHandle


@pytest.fixture
def server_url(mockattr: MockattrHandle) -> str:
    """Base URL of the session's server, every tenant back to the fixtures."""
    return mockattr.base_url


@pytest.fixture
def servers() -> Iterator[ServeProcesses]:
    """Start ``mockattr serve`` processes with ``servers.start(*args)``; they are killed after the test."""
    started = ServeProcesses()
    yield started
    started.kill_all()


@pytest.fixture
def chartmogul(server_url: str) -> VendorClient:
    return VendorClient("chartmogul", f"{server_url}/chartmogul")


@pytest.fixture
def bunce(server_url: str) -> VendorClient:
    return VendorClient("bunce", f"{server_url}/bunce")


@pytest.fixture
def invisible_collector(server_url: str) -> VendorClient:
    return VendorClient("invisible_collector", f"{server_url}/invisible_collector")


# Hypothesis: "ci" (the default) keeps the suite quick; `pytest --hypothesis-profile=deep` runs many more.
# too_slow: the strategies filter by the real validators; on a loaded 2-core machine that can be slow
QUIET = [HealthCheck.too_slow]
settings.register_profile("ci", max_examples=10, deadline=None, print_blob=True, suppress_health_check=QUIET)
settings.register_profile("deep", max_examples=300, deadline=None, print_blob=True, suppress_health_check=QUIET)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
