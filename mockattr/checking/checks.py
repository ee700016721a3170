"""The contract suite, runnable against any live server (``mockattr check``) and by mockattr's own tests.

Per operation: every valid request gets a documented success status and a body that fits its schema;
every invalid request gets the vendor's error status and error body and changes nothing. Per vendor: the
state machine of ``mockattr.checking.machines``. Each example runs on a fresh tenant (a new API key) unless the
target has a fixed key.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.stateful import run_state_machine_as_test

from mockattr import VENDOR_IDS
from mockattr.checking.conformance import ContractBroken, answer, assert_fits
from mockattr.checking.junit import CheckResult
from mockattr.checking.machines import machine_for
from mockattr.checking.target import Target
from mockattr.strategies import GeneratedRequest, invalid_requests, state_reads, valid_requests, vendor_contract


def snapshot(target: Target, vendor: str, operation: str, key: str) -> list[Any]:
    """What the vendor's own reads show of the fixture's records (``strategies.state_reads``): what a
    rejected ``operation`` must leave as it was. Works on any server."""
    return [
        (read.method(), read.path(), read.query, (sent := target.send(read, key)).status, sent.text)
        for read in state_reads(vendor, operation)
    ]


def _seeded(test: Callable[[], None], seed_value: int | None) -> Callable[[], None]:
    return test if seed_value is None else seed(seed_value)(test)


def refused(target: Target, vendor: str) -> str | None:
    """Why the server will not let the checks in (a 401 to the key), or None."""
    key = target.new_key()
    read = state_reads(vendor, next(iter(vendor_contract(vendor).operations)))[0]
    if (sent := target.send(read, key)).status == 401:
        return f"{vendor}: {sent.curl()} answered 401 to the key {key!r}: does the server want --api-key?"
    return None


def check_valid(target: Target, vendor: str, operation: str, config: settings, seed_value: int | None = None) -> None:
    """Valid requests: a documented success status, a body that fits."""
    successes = sorted(s for s in vendor_contract(vendor).operations[operation].responses if 200 <= s < 300)

    @config
    @given(valid_requests(vendor, operation))
    def run(request: GeneratedRequest) -> None:
        sent = target.send(request, target.new_key())
        if sent.status not in successes:
            raise ContractBroken(sent, f"a status in {successes}", answer(sent))
        assert_fits(sent, target, vendor, operation)

    _seeded(run, seed_value)()


def check_invalid(target: Target, vendor: str, operation: str, config: settings, seed_value: int | None = None) -> None:
    """Invalid requests: the vendor's error status and body, and no change."""

    @config
    @given(invalid_requests(vendor, operation, well_formed=False))
    def run(pair: tuple[GeneratedRequest, int]) -> None:
        request, status = pair
        key = target.new_key()
        before = snapshot(target, vendor, operation, key)
        sent = target.send(request, key)
        if sent.status != status:
            raise ContractBroken(sent, f"status {status} for a request that breaks the schema", answer(sent))
        assert_fits(sent, target, vendor, operation)
        if snapshot(target, vendor, operation, key) != before:
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
            contract = vendor_contract(vendor)
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
