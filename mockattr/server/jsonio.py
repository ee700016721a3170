"""Strict JSON in, compact JSON out."""

from __future__ import annotations

import json
import math
from typing import Any

from flask import Response

JSON = "application/json"


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text}")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(raw: bytes | str) -> Any:
    """Strict JSON: no NaN or Infinity, no number that overflows a float, no lone surrogate
    (which could be stored but never sent back as UTF-8)."""
    value = json.loads(raw, parse_constant=_reject_constant, parse_float=_finite_float)
    # Plain ASCII (so UTF-8: no NUL, as UTF-16 and UTF-32 would have) with no \u escape holds no surrogate
    if not (isinstance(raw, bytes) and raw.isascii() and b"\x00" not in raw and b"\\u" not in raw):
        try:
            dump_json(value).encode("utf-8")
        except UnicodeEncodeError as err:
            raise ValueError("a string holds a lone UTF-16 surrogate") from err
    return value


def dump_json(body: Any) -> str:
    """Compact JSON, as the vendors send it (never NaN or Infinity)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """``body`` as an ``application/json`` response."""
    return Response(dump_json(body), status, headers=headers, mimetype=JSON)
