"""How a vendor's credential travels, read from the ``auth`` block of its ``index.json``.

``auth.openapi`` is an OpenAPI security scheme, and it says all there is to say: HTTP Basic (the API key
as user name), HTTP Bearer, or an API key in a named header. Clients (``mockattr check``, the tests),
the server (who is the tenant) and the journal (what to redact) all read it from there, so no code names a
vendor's header.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from functools import cache
from typing import Any

from werkzeug.datastructures import Authorization

from mockattr.contract.discovery import schema_folder, vendor_ids

STANDARD_SECRET_HEADERS = frozenset(["authorization", "proxy-authorization", "cookie", "set-cookie"])
"""Headers that carry secrets whatever the vendor."""


def header_name(scheme: Mapping[str, Any]) -> str:
    """The request header a credential travels in."""
    if scheme.get("type") == "apiKey":
        if scheme.get("in") != "header":
            raise ValueError(f"an apiKey credential must travel in a header, not in {scheme.get('in')!r}")
        return str(scheme["name"])
    if scheme.get("type") == "http" and scheme.get("scheme") in ("basic", "bearer"):
        return "Authorization"
    raise ValueError(f"unsupported security scheme {dict(scheme)!r}: http basic, http bearer or apiKey in a header")


def client_headers(scheme: Mapping[str, Any], key: str) -> dict[str, str]:
    """The header a client sends ``key`` in: Basic ``key:`` (an empty password), Bearer, or the key itself."""
    name = header_name(scheme)
    if scheme.get("scheme") == "basic":
        return {name: "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
    if scheme.get("scheme") == "bearer":
        return {name: f"Bearer {key}"}
    return {name: key}


def credential(scheme: Mapping[str, Any], headers: Mapping[str, str]) -> str | None:
    """The credential in ``headers`` (the tenant), or None when missing, blank, undecodable or of another
    scheme.

    Basic: the user name, or ``user:password`` when a password is given; Bearer: the token; a header key:
    its value, trimmed.
    """
    value = headers.get(header_name(scheme), "")
    if scheme.get("type") == "apiKey":
        return value.strip() or None
    try:
        auth = Authorization.from_header(value)
    except ValueError:  # undecodable: not ASCII base64, or not UTF-8 inside
        return None
    if auth is None or auth.type != scheme.get("scheme"):
        return None
    if auth.type == "bearer":
        return auth.token or None
    if not auth.username:
        return None
    return auth.username if not auth.password else f"{auth.username}:{auth.password}"


@cache
def scheme_of(vendor_id: str) -> dict[str, Any]:
    """The vendor's security scheme: ``auth.openapi`` of its index.json."""
    index = json.loads((schema_folder(vendor_id) / "index.json").read_text(encoding="utf-8"))
    return index["auth"]["openapi"]


def vendor_client_headers(vendor_id: str, key: str) -> dict[str, str]:
    """The header a client of ``vendor_id`` sends ``key`` in."""
    return client_headers(scheme_of(vendor_id), key)


@cache
def secret_headers() -> frozenset[str]:
    """Lower-cased names of every header that carries a secret: the standard ones and every vendor's."""
    return STANDARD_SECRET_HEADERS | {header_name(scheme_of(vendor_id)).lower() for vendor_id in vendor_ids()}
