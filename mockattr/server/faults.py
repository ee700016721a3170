"""Faults on demand: the next calls of an operation answer an error status, or come late."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Fault:
    """``times`` calls of ``vendor``'s ``operation`` (None: any operation) are delayed by ``delay``
    seconds, then answer ``status`` with the vendor's error body (None: answer normally)."""

    vendor: str
    operation: str | None = None
    status: int | None = None
    times: int = 1
    retry_after: int | None = None
    delay: float | None = None

    @classmethod
    def from_json(cls, data: Any, operations: dict[str, set[str]]) -> Fault:
        """A fault from admin-API JSON; ValueError naming what is wrong. ``operations``: ids per vendor."""
        if not isinstance(data, dict):
            raise ValueError("a fault is a JSON object")
        if "vendor" not in data:
            raise ValueError("vendor is required")
        unknown = set(data) - {"vendor", "operation", "status", "times", "retry_after", "delay"}
        if unknown:
            raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
        fault = cls(**data)
        if fault.vendor not in operations:
            raise ValueError(f"vendor must be one of: {', '.join(operations)}")
        if fault.operation is not None and fault.operation not in operations[fault.vendor]:
            raise ValueError(f"operation must be one of: {', '.join(sorted(operations[fault.vendor]))}")
        if fault.status is not None and (not _is_int(fault.status) or not 400 <= fault.status <= 599):
            raise ValueError("status must be an integer from 400 to 599")
        if not _is_int(fault.times) or fault.times < 1:
            raise ValueError("times must be a positive integer")
        if fault.retry_after is not None and (not _is_int(fault.retry_after) or fault.retry_after < 0):
            raise ValueError("retry_after must be a whole number of seconds")
        if fault.delay is not None and (
            isinstance(fault.delay, bool) or not isinstance(fault.delay, (int, float)) or not 0 <= fault.delay <= 60
        ):
            raise ValueError("delay must be a number of seconds from 0 to 60")
        if fault.status is None and fault.delay is None:
            raise ValueError("a fault needs a status, a delay, or both")
        return fault

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class FaultPlan:
    """Faults waiting to happen, first added first used."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def take(self, vendor: str, operation: str) -> Fault | None:
        """The first fault matching this call, counted as used once; None when none waits."""
        if not self._faults:
            return None
        with self._lock:
            for fault in self._faults:
                if fault.vendor == vendor and fault.operation in (None, operation):
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
