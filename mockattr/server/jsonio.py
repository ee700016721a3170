"""Strict JSON in, compact JSON out."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson
from werkzeug.wrappers import Response

JSON = "application/json"


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text}")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


LONG_INTEGER = re.compile(rb"\d{19}")
"""Nineteen digits in a row: maybe an integer past 64 bits, which orjson would read as a float."""
ORJSON_DEPTH = 254
"""orjson writes JSON nested up to this deep (and reads deeper): a body with more brackets than this,
which could be nested deeper, is read by the standard library, whose limits the rest of the server
(schemas, copies, the journal) shares."""


def parse_json(raw: bytes | str) -> Any:
    """Strict JSON: no NaN or Infinity, no number that overflows a float, no lone surrogate
    (which could be stored but never sent back as UTF-8). orjson reads it when it can; what orjson
    refuses, the standard library reads, with the same rules, and says why it is not JSON (orjson
    refuses everything it would refuse, and more: UTF-16, a byte order mark, a lone surrogate). Bodies
    orjson would read otherwise (an integer past 64 bits, deep nesting) go to the standard library."""
    if isinstance(raw, bytes) and raw.count(b"[") + raw.count(b"{") <= ORJSON_DEPTH and not LONG_INTEGER.search(raw):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    value = json.loads(raw, parse_constant=_reject_constant, parse_float=_finite_float)
    # Plain ASCII (so UTF-8: no NUL, as UTF-16 and UTF-32 would have) with no \u escape holds no surrogate
    if not (isinstance(raw, bytes) and raw.isascii() and b"\x00" not in raw and b"\\u" not in raw):
        try:
            dump_json(value).encode("utf-8")
        except UnicodeEncodeError as err:
            raise ValueError("a string holds a lone UTF-16 surrogate") from err
    return value


KEY = re.compile(rb'"((?:[^"\\]|\\.)*)"\s*:')
"""A quoted name followed by a colon: an object key (or a string ending in a colon, which only costs a
second look)."""
BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def json_problems(raw: bytes, content_type: str | None) -> list[str]:
    """What in a body that parsed breaks the rules of JSON over HTTP (RFC 8259): a Content-Type other than
    JSON, an encoding other than UTF-8 (BOM, UTF-16, UTF-32), a key given twice in one object."""
    found = []
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media and media != JSON and not media.endswith("+json"):
        found.append(f"content-type: {media}, not {JSON}")
    if raw.startswith(BOMS) or b"\x00" in raw:
        found.append("body: not UTF-8 (a byte order mark, or UTF-16 / UTF-32)")
    elif not raw.isascii():
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            found.append("body: not UTF-8")
    keys = KEY.findall(raw)
    if len(keys) != len(set(keys)):  # a key name comes twice somewhere: in one object, or in two?
        repeated: list[str] = []

        def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
            names = [name for name, _ in items]
            repeated.extend(sorted({name for name in names if names.count(name) > 1}))
            return dict(items)

        json.loads(raw, object_pairs_hook=pairs)
        found += [f"body: key {name!r} given twice in one object (the last one counts)" for name in repeated]
    return found


def dump_json(body: Any) -> str:
    """Compact JSON, as the vendors send it (never NaN or Infinity: nothing parsed or computed holds one).
    By orjson; by the standard library where orjson refuses (a lone surrogate, an integer past 64 bits,
    a key that is not a string, nesting past ``ORJSON_DEPTH``). orjson writes the same numbers as the
    standard library, but for floats of exponent -5 to -9, the same value written otherwise (``1e-7``
    where the standard library writes ``1e-07``, ``0.00001`` for ``1e-05``)."""
    try:
        return orjson.dumps(body).decode()
    except TypeError:  # orjson.JSONEncodeError is one
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


class JSONAnswer(Response):
    """A werkzeug ``Response`` that sends a plain answer (a body in hand, a status with a body, not to a
    HEAD) as it is: werkzeug's rework of every answer's headers at sending time costs more than building
    the answer (bench/README.md). Any other answer is sent the werkzeug way. Without a body it has no
    Content-Type."""

    default_mimetype = None

    def __call__(self, environ: Any, start_response: Any) -> Any:
        plain = 200 <= self.status_code < 300 and self.status_code != 204 and environ["REQUEST_METHOD"] != "HEAD"
        if plain and self.is_sequence:
            start_response(self.status, self.headers.to_wsgi_list())
            return self.response
        return super().__call__(environ, start_response)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """``body`` as an ``application/json`` response."""
    return JSONAnswer(dump_json(body), status, headers=headers, mimetype=JSON)
