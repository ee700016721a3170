"""The journal: every request a vendor endpoint received, with what it answered."""

from __future__ import annotations

import marshal
import pickle
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from mockattr.contract.auth import secret_headers
from mockattr.server.jsonio import parse_json

JOURNAL_LIMIT = 10_000
"""Entries kept; the oldest go first (bounded memory on a long-running server)."""
JOURNAL_BYTES = 64 * 1024 * 1024
"""Body bytes kept, all entries together; past it the oldest entries go first."""


def redacted_pairs(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Header pairs with credentials replaced by ``[redacted]``: the standard secret headers (Cookie and
    Set-Cookie among them) and every vendor's credential header (``mockattr.contract.auth.secret_headers``)."""
    secret = secret_headers()
    return [(name, "[redacted]" if name.lower() in secret else value) for name, value in pairs]


def redact(headers: Any) -> dict[str, str]:
    """Request headers with credentials replaced by ``[redacted]`` (``redacted_pairs``)."""
    return dict(redacted_pairs(headers.items()))


def redacted_environ_headers(environ: Mapping[str, Any]) -> dict[str, str]:
    """A WSGI request's headers, named as werkzeug names them (``Content-Type``, ``X-Authorization``),
    credentials redacted (``redacted_pairs``); read from the environ directly, as it is done per request."""
    secret = secret_headers()
    found = {}
    for key, value in environ.items():
        if key.startswith("HTTP_") and key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
            name = key[5:].replace("_", "-").title()
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            name = key.replace("_", "-").title()
        else:
            continue
        found[name] = "[redacted]" if name.lower() in secret else value
    return found


def decode_body(raw: bytes | str | None) -> Any:
    """A body as data: parsed JSON when it is JSON, else text, None when empty."""
    if not raw:
        return None
    try:
        return parse_json(raw)
    except (ValueError, RecursionError):
        return raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw


@dataclass
class JournalEntry:
    """One request as the server saw and answered it."""

    vendor: str
    operation: str | None
    """The operation id from the vendor's index; None for a path no operation serves."""
    method: str
    path: str
    query: str
    headers: dict[str, str]
    request_body: bytes | None
    """As received; ``to_json`` decodes it."""
    status: int = 0
    response_body: bytes | None = None
    violations: list[str] = field(default_factory=list)
    """What in the request broke the contract (credential, JSON, schema); empty when nothing did."""
    drift: list[str] = field(default_factory=list)
    """What in the vendor's answer broke the contract (a proxy's; always empty for the mock)."""
    fault: bool = False
    """True when the answer was an injected fault (a status or a broken network), not the mock's own (a
    fault that only delays or slows the mock's answer leaves it False)."""
    network: str | None = None
    """The injected network fault (``reset``, ``empty``, ``malformed``, ``slow``), if any; after
    ``reset`` and ``empty`` the status is 0: nothing was answered."""
    time: float = field(default_factory=time.time)
    id: int = 0
    """Its place in the journal, counting from 1 (``?after=`` pages from it)."""
    tenant: str | None = field(default=None, repr=False)
    """The credential the request presented (accepted or not); never in ``to_json``: it lets a tenant's
    own admin calls find its entries."""

    def to_json(self) -> dict[str, Any]:
        """The entry as plain JSON data, bodies decoded (JSON when they are JSON, else text)."""
        data = asdict(self)
        del data["tenant"]
        data["request_body"] = decode_body(self.request_body)
        data["response_body"] = decode_body(self.response_body)
        return data


_BODIES = ("request_body", "response_body")
_FIELDS = tuple(name for name in JournalEntry.__dataclass_fields__ if name not in _BODIES)
Packed = tuple[int, str, "str | None", int, bytes, "bytes | None", "bytes | None"]
"""A kept entry: its id, vendor, operation and body bytes, all but its bodies in ``marshal``'s bytes, then
its bodies (shared, never copied: they may be a MiB each). Numbers, strings, bytes and a tuple of them are
no work for Python's garbage collector; 10,000 kept entries as objects made it walk the whole heap every
few thousand requests (p99 50 ms beside a tenant of 10,000 customers, bench/README.md)."""


def _pack(entry: JournalEntry, entry_id: int) -> Packed:
    size = len(entry.request_body or b"") + len(entry.response_body or b"")
    fields = tuple(entry_id if name == "id" else entry.__dict__[name] for name in _FIELDS)
    try:
        data = b"m" + marshal.dumps(fields)
    except ValueError:  # marshal takes only plain types (no str or int subclass): pickle takes the rest
        data = b"p" + pickle.dumps(fields)
    return (entry_id, entry.vendor, entry.operation, size, data, entry.request_body, entry.response_body)


def _unpack(packed: Packed) -> JournalEntry:
    data = packed[4]
    values = marshal.loads(data[1:]) if data[:1] == b"m" else pickle.loads(data[1:])  # noqa: S301 (our own)
    return JournalEntry(**dict(zip(_FIELDS, values, strict=True)), request_body=packed[5], response_body=packed[6])


class Journal:
    """A thread-safe list of entries, oldest first, bounded in count and in body bytes. A journal not
    ``enabled`` (``serve --no-journal``, for load tests) keeps nothing. It keeps a copy of each entry
    added (``Packed``); ``entries`` gives copies."""

    def __init__(self, limit: int = JOURNAL_LIMIT, byte_limit: int = JOURNAL_BYTES, enabled: bool = True) -> None:
        self.enabled = enabled
        self._entries: deque[Packed] = deque()
        self._limit, self._byte_limit, self._bytes, self._count = limit, byte_limit, 0, 0
        self._lock = threading.Lock()

    def add(self, entry: JournalEntry) -> None:
        """Keep ``entry`` as the next, giving it its id."""
        if not self.enabled:
            return
        with self._lock:
            packed = _pack(entry, self._count + 1)
            self._count = entry.id = packed[0]
            self._entries.append(packed)
            self._bytes += packed[3]
            while len(self._entries) > self._limit or (self._bytes > self._byte_limit and len(self._entries) > 1):
                self._bytes -= self._entries.popleft()[3]

    def entries(
        self,
        vendor: str | None = None,
        operation: str | None = None,
        after: int = 0,
        keep: Callable[[JournalEntry], bool] | None = None,
        limit: int | None = None,
    ) -> list[JournalEntry]:
        """Entries after id ``after``, oldest first, optionally only one vendor's or one operation's, or
        those ``keep`` keeps; the first ``limit`` of them (read no further than needed)."""
        with self._lock:
            found = [e for e in self._entries if e[0] > after] if after else list(self._entries)
        kept: list[JournalEntry] = []
        for packed in found:
            if limit is not None and len(kept) >= limit:
                break
            if (vendor is None or packed[1] == vendor) and (operation is None or packed[2] == operation):
                entry = _unpack(packed)
                if keep is None or keep(entry):
                    kept.append(entry)
        return kept

    def clear(self, keep: Callable[[JournalEntry], bool] | None = None) -> None:
        """Drop every entry (ids count from 1 again), or those ``keep`` does not keep."""
        with self._lock:
            if keep is None:
                self._count = 0
            self._entries = deque(e for e in self._entries if keep is not None and keep(_unpack(e)))
            self._bytes = sum(e[3] for e in self._entries)
