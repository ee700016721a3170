"""The contract suite, runnable against any live server (``mockattr check``) and by mockattr's own tests.

Per operation: every valid request gets a documented success status and a body that fits its schema;
every invalid request gets the vendor's error status and error body and changes nothing. Per vendor: the
state machine of ``mockattr.machines``. Each example runs on a fresh tenant (a new API key) unless the
target has a fixed key.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from xml.etree import ElementTree

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.stateful import run_state_machine_as_test

from mockattr import VENDOR_IDS
from mockattr.contract import Contract, check, load_contract
from mockattr.machines import machine_for
from mockattr.runtime import load_fixture
from mockattr.strategies import GeneratedRequest, _contract, invalid_requests, valid_requests
from mockattr.target import Sent, Target


class ContractBroken(AssertionError):
    """What a check saw: the request (as curl), what the contract expects, what came back."""

    def __init__(self, sent: Sent, expected: str, got: str) -> None:
        super().__init__(f"expected {expected}; got {got}\n  {sent.curl()}")
        self.sent, self.expected, self.got = sent, expected, got


@dataclass
class CheckResult:
    """One check: its name (``vendor.operation: what``), how long it took, and its failure if any."""

    name: str
    seconds: float
    failure: str | None = None


def _answer(sent: Sent) -> str:
    return f"{sent.status} {sent.text[:300]}"


@cache
def _strict_contract(vendor: str) -> Contract:
    return load_contract(vendor, strict=True)


def _fits(sent: Sent, target: Target, vendor: str, operation: str) -> None:
    """The answer's body fits the schema the index gives for its status: exactly, when the target is a
    mockattr mock (what the mock sends); else as the vendor guarantees it (fields added later pass)."""
    contract = _strict_contract(vendor) if target.is_mock else _contract(vendor)
    responses = contract.operations[operation].responses
    validator = responses.get(sent.status)
    if validator is None:
        if sent.text:
            raise ContractBroken(sent, f"no body with {sent.status}", _answer(sent))
        return
    try:
        body = sent.json()
    except ValueError:
        raise ContractBroken(sent, "a JSON body", _answer(sent)) from None
    violation = check(validator, body)
    if violation:
        raise ContractBroken(sent, f"a body that fits the {sent.status} schema", f"{_answer(sent)} ({violation})")


def snapshot(target: Target, vendor: str, key: str) -> list[Any]:
    """What the vendor's own read operations show of the fixtures' records (works on any server)."""
    fixture = load_fixture(vendor, _contract(vendor))
    url = target.vendor_url(vendor)
    if vendor == "chartmogul":
        reads = [f"/v1/customers/{c['uuid']}" for c in fixture["customers"]]
    elif vendor == "invisible_collector":
        reads = [f"/customers/{c['gid']}{tail}" for c in fixture["customers"] for tail in ("", "/attributes")]
    else:
        reads = ["/v1/attributes?per_page=100"]
    return [(path, (sent := target.call(vendor, "GET", url + path, key)).status, sent.text) for path in reads]


def _seeded(test: Callable[[], None], seed_value: int | None) -> Callable[[], None]:
    return test if seed_value is None else seed(seed_value)(test)


def refused(target: Target, vendor: str) -> str | None:
    """Why the server will not let the checks in (a 401 to the key), or None."""
    key = target.new_key()
    for path, status, _ in snapshot(target, vendor, key):
        if status == 401:
            return f"{vendor}: GET {path} answered 401 to the key {key!r}: does the server want --api-key?"
    return None


def check_valid(target: Target, vendor: str, operation: str, config: settings, seed_value: int | None = None) -> None:
    """Valid requests: a documented success status, a body that fits."""
    successes = sorted(s for s in _contract(vendor).operations[operation].responses if 200 <= s < 300)

    @config
    @given(valid_requests(vendor, operation))
    def run(request: GeneratedRequest) -> None:
        sent = target.send(request, target.new_key())
        if sent.status not in successes:
            raise ContractBroken(sent, f"a status in {successes}", _answer(sent))
        _fits(sent, target, vendor, operation)

    _seeded(run, seed_value)()


def check_invalid(target: Target, vendor: str, operation: str, config: settings, seed_value: int | None = None) -> None:
    """Invalid requests: the vendor's error status and body, and no change."""

    @config
    @given(invalid_requests(vendor, operation))
    def run(pair: tuple[GeneratedRequest, int]) -> None:
        request, status = pair
        key = target.new_key()
        before = snapshot(target, vendor, key)
        sent = target.send(request, key)
        if sent.status != status:
            raise ContractBroken(sent, f"status {status} for a request that breaks the schema", _answer(sent))
        _fits(sent, target, vendor, operation)
        if snapshot(target, vendor, key) != before:
            raise ContractBroken(sent, "no change after a rejected request", "the vendor's records changed")

    _seeded(run, seed_value)()


def check_machine(target: Target, vendor: str, config: settings) -> None:
    """The vendor's state machine: add / update / remove / read back agree with the model. Its runs
    are derandomized (the same every time) and not shrunk: shrinking a run of HTTP steps takes minutes,
    and the failure already names the operation and the request."""
    config = settings(
        config,
        derandomize=True,
        report_multiple_bugs=False,
        stateful_step_count=20,
        phases=(Phase.explicit, Phase.reuse, Phase.generate),
    )
    run_state_machine_as_test(machine_for(vendor, target), settings=config)


@dataclass
class Suite:
    """Which checks to run against a target, with how many examples and which seed."""

    target: Target
    vendors: Iterable[str] = VENDOR_IDS
    max_examples: int = 25
    seed: int | None = None
    results: list[CheckResult] = field(default_factory=list)

    def settings(self, max_examples: int | None = None) -> settings:
        """No seed: derandomized, the same examples every run; a seed: that seed's examples."""
        return settings(
            max_examples=max_examples or self.max_examples,
            deadline=None,
            database=None,
            derandomize=self.seed is None,
            print_blob=False,
            report_multiple_bugs=False,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )

    def checks(self) -> list[tuple[str, Callable[[], None]]]:
        found: list[tuple[str, Callable[[], None]]] = []
        for vendor in self.vendors:
            contract = _contract(vendor)
            for operation, spec in contract.operations.items():
                found.append(
                    (
                        f"{vendor}.{operation}: valid requests",
                        lambda v=vendor, o=operation: check_valid(self.target, v, o, self.settings(), self.seed),
                    )
                )
                if spec.request is not None or spec.query is not None:
                    found.append(
                        (
                            f"{vendor}.{operation}: invalid requests",
                            lambda v=vendor, o=operation: check_invalid(self.target, v, o, self.settings(), self.seed),
                        )
                    )
            found.append(
                (
                    f"{vendor}: state machine",
                    lambda v=vendor: check_machine(self.target, v, self.settings(max(self.max_examples // 2, 5))),
                )
            )
        return found

    def run(self, progress: Callable[[CheckResult], None] | None = None) -> list[CheckResult]:
        """Run every check; a failing one is recorded, not raised."""
        for name, run in self.checks():
            started = time.monotonic()
            failure = None
            try:
                run()
            except AssertionError as err:
                failure = str(err)
            except Exception as err:  # an answer so far off that reading it failed
                failure = f"{type(err).__name__}: {err}"
            result = CheckResult(name, time.monotonic() - started, failure)
            self.results.append(result)
            if progress:
                progress(result)
        return self.results


def junit_xml(results: list[CheckResult]) -> str:
    """The results as a JUnit XML report."""
    suite = ElementTree.Element(
        "testsuite",
        name="mockattr check",
        tests=str(len(results)),
        failures=str(sum(1 for r in results if r.failure)),
        time=f"{sum(r.seconds for r in results):.3f}",
    )
    for result in results:
        case = ElementTree.SubElement(
            suite, "testcase", classname="mockattr.check", name=result.name, time=f"{result.seconds:.3f}"
        )
        if result.failure:
            ElementTree.SubElement(case, "failure", message=result.failure.splitlines()[0]).text = result.failure
    return ElementTree.tostring(suite, encoding="unicode")
