"""Recorded HTTP traffic read from HAR 1.2 files and VCR cassettes, as plain ``Exchange``s.

HAR is what browsers, mitmproxy, Charles and WireMock's recorder write; VCR cassettes are vcrpy's
(``interactions``, ``request.uri``, ``body: {string}``), go-vcr's (``interactions``, ``request.url``,
``response.code``) and Ruby VCR's (``http_interactions``, ``body: {encoding, string}`` or
``base64_string``, ``!binary`` base64 strings), in YAML or JSON.
Bodies come out as the bytes the application saw: base64 undone, gzip and deflate undone.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SUFFIXES = (".har", ".json", ".yml", ".yaml")
"""What a folder argument reads; other files in it are passed over."""


class RecordingError(Exception):
    """A recording that cannot be read: the message names the file and why."""


@dataclass(frozen=True)
class Exchange:
    """One recorded request and its answer (header names in lower case)."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: bytes
    status: int
    response_headers: dict[str, str]
    response_body: bytes
    source: Path
    index: int = 0
    vendor: str | None = None
    """The vendor the recording says this is (a proxy's HAR: ``_mockattr.vendor``), if it says."""
    upstream: str | None = None
    """The base URL the vendor was reached at (``_mockattr.upstream``): paths below it are the vendor's."""

    @property
    def where(self) -> str:
        """The file and the exchange's place in it, e.g. ``cassette.yml#2``."""
        return f"{self.source}#{self.index}"


class RecordingLoader(yaml.SafeLoader):
    """YAML's safe loader that also reads Ruby's tags: ``!binary`` (base64 bytes) and ``!ruby/...``
    (read as the plain mapping, list or string underneath)."""


def _binary(loader: yaml.SafeLoader, node: yaml.Node) -> bytes:
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except binascii.Error as err:
        raise yaml.constructor.ConstructorError(
            None, None, f"!binary that is not base64: {err}", node.start_mark
        ) from err


def _ruby(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


RecordingLoader.add_constructor("!binary", _binary)
RecordingLoader.add_multi_constructor("!ruby/", _ruby)


def read_recordings(paths: Iterable[Path]) -> list[Exchange]:
    """Every exchange in ``paths``: files, and folders searched recursively for ``SUFFIXES`` (where files
    that are not recordings, e.g. other JSON, are passed over). Raises ``RecordingError``."""
    exchanges: list[Exchange] = []
    for path in paths:
        if path.is_dir():
            found = [file for file in sorted(path.rglob("*")) if file.suffix.lower() in SUFFIXES and file.is_file()]
            read = [got for file in found if (got := read_file(file, must_be=False)) is not None]
            if not read:
                raise RecordingError(f"{path}: no HAR file or VCR cassette in this folder")
            exchanges += [exchange for got in read for exchange in got]
        elif path.is_file():
            exchanges += read_file(path) or []
        else:
            raise RecordingError(f"{path}: not found")
    return exchanges


def read_file(path: Path, must_be: bool = True) -> list[Exchange] | None:
    """The exchanges of one HAR file or cassette; None for a readable file that is neither, unless
    ``must_be`` (then a ``RecordingError``)."""
    document = _parse(path)
    kind, entries = _entries(document)
    if entries is None:
        if must_be:
            raise RecordingError(f"{path}: not a HAR file (log.entries) or a VCR cassette (interactions)")
        return None
    exchanges = []
    for index, entry in enumerate(entries):
        try:
            exchanges.append((_from_har if kind == "entry" else _from_vcr)(entry, path, index))
        except (KeyError, TypeError, ValueError, AttributeError, OSError, EOFError, zlib.error) as err:
            raise RecordingError(f"{path}: {kind} {index} cannot be read ({type(err).__name__}: {err})") from err
    return exchanges


def _parse(path: Path) -> Any:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as err:
        raise RecordingError(f"{path}: cannot be read ({err.strerror or err})") from err
    except UnicodeDecodeError as err:
        raise RecordingError(f"{path}: not UTF-8 text, so neither HAR nor VCR ({err.reason})") from err
    as_json = path.suffix.lower() in (".har", ".json") or (
        path.suffix.lower() not in (".yml", ".yaml") and text.lstrip().startswith(("{", "["))
    )
    if as_json:
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise RecordingError(f"{path}: bad JSON: {err}") from err
    try:
        return yaml.load(text, Loader=RecordingLoader)  # noqa: S506 (a safe loader with two more tags)
    except yaml.YAMLError as err:
        raise RecordingError(f"{path}: bad YAML: {' '.join(str(err).split())}") from err


def _entries(document: Any) -> tuple[str, list[Any] | None]:
    """What kind of recording ``document`` is, and its list of exchanges (None: not a recording)."""
    if not isinstance(document, dict):
        return "entry", None
    log = document.get("log")
    if isinstance(log, dict) and isinstance(log.get("entries"), list):
        return "entry", log["entries"]
    for key in ("http_interactions", "interactions"):
        if isinstance(document.get(key), list):
            return "interaction", document[key]
    return "entry", None


def _from_har(entry: dict[str, Any], source: Path, index: int) -> Exchange:
    request, response = entry["request"], entry["response"]
    request_headers = {h["name"].lower(): str(h["value"]) for h in request.get("headers", [])}
    response_headers = {h["name"].lower(): str(h["value"]) for h in response.get("headers", [])}
    post = request.get("postData") or {}
    content = response.get("content") or {}
    return Exchange(
        method=request["method"].upper(),
        url=request["url"],
        request_headers=request_headers,
        request_body=_decoded(_text(post.get("text"), post.get("encoding")), request_headers),
        status=int(response["status"]),
        response_headers=response_headers,
        response_body=_decoded(_text(content.get("text"), content.get("encoding")), response_headers),
        source=source,
        index=index,
        vendor=_string((entry.get("_mockattr") or {}).get("vendor")),
        upstream=_string((entry.get("_mockattr") or {}).get("upstream")),
    )


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _from_vcr(interaction: dict[str, Any], source: Path, index: int) -> Exchange:
    request, response = interaction["request"], interaction["response"]
    request_headers = _vcr_headers(request.get("headers"))
    response_headers = _vcr_headers(response.get("headers"))
    status = response["code"] if "code" in response else response["status"]  # go-vcr: code 201, status "201 Created"
    return Exchange(
        method=str(request["method"]).upper(),
        url=request["uri"] if "uri" in request else request["url"],
        request_headers=request_headers,
        request_body=_decoded(_vcr_body(request.get("body")), request_headers),
        status=int(status["code"] if isinstance(status, dict) else status),
        response_headers=response_headers,
        response_body=_decoded(_vcr_body(response.get("body")), response_headers),
        source=source,
        index=index,
    )


def _vcr_headers(headers: dict[str, Any] | None) -> dict[str, str]:
    """VCR keeps each header's values as a list (or, by hand, one value)."""
    return {
        str(name).lower(): ", ".join(map(str, values)) if isinstance(values, list) else str(values)
        for name, values in (headers or {}).items()
    }


def _vcr_body(body: Any) -> bytes:
    """vcrpy: ``{string}`` or a bare string or bytes; Ruby VCR: ``{encoding, string}`` or ``{base64_string}``."""
    if isinstance(body, dict):
        if "base64_string" in body:
            return base64.b64decode("".join(str(body["base64_string"]).split()))
        body = body.get("string")
    return _text(body)


def _text(value: str | bytes | None, encoding: str | None = None) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    return base64.b64decode(value) if encoding == "base64" else value.encode("utf-8")


def _decoded(body: bytes, headers: dict[str, str]) -> bytes:
    """``body`` without its content coding. gzip is known by its magic bytes (a HAR file keeps the
    ``Content-Encoding`` header but holds the text already decoded); deflate by the header."""
    if body[:2] == b"\x1f\x8b":
        return gzip.decompress(body)
    if "deflate" in headers.get("content-encoding", "").lower():
        for wbits in (zlib.MAX_WBITS, -zlib.MAX_WBITS):
            try:
                return zlib.decompress(body, wbits)
            except zlib.error:
                continue
    return body
