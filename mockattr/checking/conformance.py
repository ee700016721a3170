"""Does one answer keep the contract? Shared by the contract suite's checks and its state machines."""

from __future__ import annotations

from functools import cache

from mockattr.checking.target import Sent, Target
from mockattr.contract import Contract, check, load_contract
from mockattr.strategies import vendor_contract


class ContractBroken(AssertionError):
    """What a check saw: the request (as curl), what the contract expects, what came back."""

    def __init__(self, sent: Sent, expected: str, got: str) -> None:
        super().__init__(f"expected {expected}; got {got}\n  {sent.curl()}")
        self.sent, self.expected, self.got = sent, expected, got


def answer(sent: Sent) -> str:
    """The answer in one line: status and the start of the body."""
    return f"{sent.status} {sent.text[:300]}"


@cache
def _strict_contract(vendor: str) -> Contract:
    return load_contract(vendor, strict=True)


def assert_fits(sent: Sent, target: Target, vendor: str, operation: str) -> None:
    """The answer's body fits the schema the index gives for its status: exactly, when the target is a
    mockattr mock (what the mock sends); else as the vendor guarantees it (fields added later pass).
    Raises ``ContractBroken``."""
    contract = _strict_contract(vendor) if target.is_mock else vendor_contract(vendor)
    responses = contract.operations[operation].responses
    validator = responses.get(sent.status)
    if validator is None:
        if sent.text:
            raise ContractBroken(sent, f"no body with {sent.status}", answer(sent))
        return
    try:
        body = sent.json()
    except ValueError:
        raise ContractBroken(sent, "a JSON body", answer(sent)) from None
    violation = check(validator, body)
    if violation:
        raise ContractBroken(sent, f"a body that fits the {sent.status} schema", f"{answer(sent)} ({violation})")
