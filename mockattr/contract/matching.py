"""JSON subset matching: whether a request body contains what a fault or an assertion names."""

from __future__ import annotations

import json
from typing import Any


def contains(value: Any, subset: Any) -> bool:
    """Whether ``value`` holds ``subset``: an object holds each of the subset's members (recursively), a
    list holds each of the subset's items in some item of its own, anything else is equal (``True`` is
    not ``1``)."""
    if isinstance(subset, dict):
        return isinstance(value, dict) and all(k in value and contains(value[k], v) for k, v in subset.items())
    if isinstance(subset, list):
        return isinstance(value, list) and all(any(contains(item, want) for item in value) for want in subset)
    if isinstance(subset, bool) or isinstance(value, bool):
        return value is subset
    return bool(value == subset)


def mismatches(value: Any, subset: Any, path: str = "") -> list[str]:
    """Where ``value`` fails to hold ``subset``, one line per place (empty when it holds it)."""
    if isinstance(subset, dict):
        if not isinstance(value, dict):
            return [f"{path or '.'}: expected an object, got {_short(value)}"]
        found = []
        for key, want in subset.items():
            where = f"{path}.{key}"
            found += [f"{where}: missing"] if key not in value else mismatches(value[key], want, where)
        return found
    if not contains(value, subset):
        return [f"{path or '.'}: expected {_short(subset)}, got {_short(value)}"]
    return []


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."
