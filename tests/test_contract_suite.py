"""The contract suite (mockattr.checking.checks) against the session's live server, through HTTP; and the state
machines' power to find a planted bug."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import Phase, settings

from mockattr import VENDOR_IDS
from mockattr.checking.checks import Suite, check_machine
from mockattr.checking.target import Target
from mockattr.server.app import create_app
from mockattr.server.runtime import runtime_of
from mockattr.server.store import TenantStore
from mockattr.serving.werkzeug_server import start_background
from mockattr.vendors import vendor_part


def _suite(url: str = "http://unused") -> Suite:
    return Suite(Target(url), max_examples=settings().max_examples)


CHECK_NAMES = [name for name, _ in _suite().checks()]


@pytest.mark.parametrize("name", CHECK_NAMES)
def test_contract(mockattr, name: str) -> None:
    """Valid requests succeed with fitting bodies; invalid ones get the vendor's error and change nothing;
    each vendor's state machine agrees with its model."""
    [run] = [run for check_name, run in _suite(mockattr.base_url).checks() if check_name == name]
    run()


class ForgetfulStore(TenantStore):
    """A deliberately broken store: every third request of a tenant works on a copy, so its change is
    lost (counted per tenant, so a replayed run breaks at the same step)."""

    calls: dict[str, int] = {}

    @contextmanager
    def world(self, vendor: str, credential: str) -> Iterator[Any]:
        count = self.calls[credential] = self.calls.get(credential, 0) + 1
        with super().world(vendor, credential) as world:
            yield copy.deepcopy(world) if count % 3 == 0 else world


MODELLED = [vendor for vendor in VENDOR_IDS if getattr(vendor_part(vendor, "testing"), "Machine", None)]
"""The vendors with a state machine of their own (a model of their state): the generic machine checks
answers' shapes, not state, so only these can find a lost update."""


@pytest.mark.parametrize("vendor", MODELLED)
def test_state_machine_finds_a_planted_bug(vendor: str) -> None:
    app = create_app()
    runtime = runtime_of(app)
    plain_sibling = runtime.tenants.sibling

    def forgetful_sibling(max_tenants: int, space: str) -> Any:  # check works in a namespace: plant the bug there
        sibling = plain_sibling(max_tenants, space)
        sibling.store = ForgetfulStore({v: sibling.seeder(v) for v in sibling.vendors})
        return sibling

    runtime.tenants.sibling = forgetful_sibling
    server = start_background(app)
    try:
        with pytest.raises(AssertionError) as found:
            no_shrinking = (Phase.explicit, Phase.reuse, Phase.generate)
            check_machine(
                Target(server.url), vendor, settings(max_examples=50, deadline=None, database=None, phases=no_shrinking)
            )
        assert "model" in str(found.value) or "differs" in str(found.value) or "expected" in str(found.value)
    finally:
        server.stop()
