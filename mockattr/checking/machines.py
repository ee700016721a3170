"""Stateful contract tests: one Hypothesis state machine per vendor, run against a live server.

A vendor's own machine (``Machine`` in its ``testing`` module) starts a fresh tenant (a new API key),
mirrors what the vendor promises in a plain model, and after every step compares the server's answers
with the model; an assertion names the operation whose answer broke the promise. A vendor without one
gets ``ContractMachine``: a walk of valid requests on one tenant, each answered with a documented status
and a body that fits its schema.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule

from mockattr.checking.conformance import ContractBroken, answer, assert_fits
from mockattr.checking.target import NO_BODY, Sent, Target
from mockattr.strategies import valid_requests, vendor_contract, vendor_fixture
from mockattr.vendors import vendor_part


def agree(sent: Sent, operation: str, answered: Any, model: Any) -> None:
    """The server's answer (or what it reads back) equals the model's."""
    assert answered == model, f"{operation}: answered {answered!r}, the model holds {model!r}\n  {sent.curl()}"


def expect(sent: Sent, operation: str, status: int | tuple[int, ...]) -> Any:
    """The answer has ``status`` (one of them); returns its JSON body."""
    statuses = (status,) if isinstance(status, int) else status
    assert sent.status in statuses, (
        f"{operation}: expected {statuses}, got {sent.status} {sent.text[:300]}\n{sent.curl()}"
    )
    return sent.json()


class VendorMachine(RuleBasedStateMachine):
    """Base: a target, a fresh key per run, the vendor's URL and fixture."""

    target: Target
    vendor: str

    def __init__(self) -> None:
        super().__init__()
        self.key = self.target.new_key()
        self.url = self.target.vendor_url(self.vendor)
        self.fixture = vendor_fixture(self.vendor)

    def call(self, method: str, path: str, body: Any = NO_BODY) -> Sent:
        return self.target.call(self.vendor, method, self.url + path, self.key, body)


class ContractMachine(VendorMachine):
    """The default machine: any operation's valid requests, in any order, on one tenant. Each answer
    has a status the operation documents and a body that fits that status's schema."""

    @rule(data=st.data())
    def any_operation(self, data: st.DataObject) -> None:
        operations = vendor_contract(self.vendor).operations
        operation = data.draw(st.sampled_from(sorted(operations)))
        sent = self.target.send(data.draw(valid_requests(self.vendor, operation)), self.key)
        if sent.status not in operations[operation].responses:
            raise ContractBroken(sent, f"a status {operation} documents", answer(sent))
        assert_fits(sent, self.target, self.vendor, operation)


def machine_for(vendor: str, target: Target) -> type[VendorMachine]:
    """The vendor's machine (its ``testing.Machine``, else ``ContractMachine``) bound to ``target``."""
    base = getattr(vendor_part(vendor, "testing"), "Machine", ContractMachine)
    return type(base.__name__, (base,), {"target": target, "vendor": vendor})
