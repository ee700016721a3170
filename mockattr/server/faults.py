"""Faults on demand: the next calls of an operation answer an error status, come late, or meet a
broken network (a reset connection, one closed with no answer, a cut-off body, a body that dribbles).
A fault may be limited to one credential's requests (``key``) and to bodies that contain ``match``."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, fields
from typing import Any

from werkzeug.wrappers import Response

from mockattr.contract.matching import contains

NETWORK_FAULTS = ("reset", "empty", "malformed", "slow")
"""``reset``: the connection is reset, no answer; ``empty``: closed with no bytes; ``malformed``: 200 with a
cut-off JSON body; ``slow``: the answer's body dribbles out over ``delay`` seconds."""
MAX_PENDING = 1000
"""Faults waiting at once; past it a new one is refused (every vendor request looks through them)."""


class TooManyFaults(ValueError):
    """``MAX_PENDING`` faults wait already."""


@dataclass
class Fault:
    """``times`` calls of ``vendor``'s ``operation`` (None: any operation), from credential ``key`` (None:
    any) with a JSON body that contains ``match`` (None: any), are delayed by ``delay`` seconds, then
    answer ``status`` with the vendor's error body (None: answer normally), or meet the ``network`` fault."""

    vendor: str
    operation: str | None = None
    status: int | None = None
    times: int = 1
    retry_after: int | None = None
    delay: float | None = None
    key: str | None = None
    match: dict[str, Any] | None = None
    network: str | None = None

    @classmethod
    def from_json(cls, data: Any, operations: dict[str, set[str]]) -> Fault:
        """A fault from admin-API JSON; ValueError naming what is wrong. ``operations``: ids per vendor."""
        if not isinstance(data, dict):
            raise ValueError("a fault is a JSON object")
        if "vendor" not in data:
            raise ValueError("vendor is required")
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
        fault = cls(**data)
        fault._check(operations)
        return fault

    def _check(self, operations: dict[str, set[str]]) -> None:
        if not isinstance(self.vendor, str) or not isinstance(self.operation, (str, type(None))):
            raise ValueError("vendor and operation are strings (operation may be null)")
        if self.vendor not in operations:
            raise ValueError(f"vendor must be one of: {', '.join(operations)}")
        if self.operation is not None and self.operation not in operations[self.vendor]:
            raise ValueError(f"operation must be one of: {', '.join(sorted(operations[self.vendor]))}")
        if self.status is not None and (not _is_int(self.status) or not 400 <= self.status <= 599):
            raise ValueError("status must be an integer from 400 to 599")
        if not _is_int(self.times) or self.times < 1:
            raise ValueError("times must be a positive integer")
        if self.retry_after is not None and (not _is_int(self.retry_after) or self.retry_after < 0):
            raise ValueError("retry_after must be a whole number of seconds")
        if self.delay is not None and (
            isinstance(self.delay, bool) or not isinstance(self.delay, (int, float)) or not 0 <= self.delay <= 60
        ):
            raise ValueError("delay must be a number of seconds from 0 to 60")
        if self.key is not None and (not isinstance(self.key, str) or not self.key):
            raise ValueError("key must be a non-empty string (a credential)")
        if self.match is not None and not isinstance(self.match, dict):
            raise ValueError("match must be a JSON object (a part of the request body)")
        if self.network is not None and (not isinstance(self.network, str) or self.network not in NETWORK_FAULTS):
            raise ValueError(f"network must be one of: {', '.join(NETWORK_FAULTS)}")
        if self.network in ("reset", "empty", "malformed") and (self.status, self.retry_after) != (None, None):
            raise ValueError(f"a {self.network!r} network fault sends no status of its own")
        if self.network == "slow" and not self.delay:
            raise ValueError("a 'slow' network fault needs a delay: the seconds the body takes to arrive")
        if self.status is None and self.delay is None and self.network is None:
            raise ValueError("a fault needs a status, a delay or a network fault")

    def applies(
        self, vendor: str, operation: str, credential: Callable[[], str | None], body: Callable[[], Any]
    ) -> bool:
        """Whether a call of ``operation`` by ``credential()`` with the body ``body()`` meets this fault."""
        return (
            self.vendor == vendor
            and self.operation in (None, operation)
            and (self.key is None or self.key == credential())
            and (self.match is None or contains(body(), self.match))
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def use(self, may_wait: bool) -> bool:
        """Count one call met (a plan calls this under its lock); whether the fault is used up. Unless
        ``may_wait``, a fault with a delay is left as it is and ``WouldWait`` raised."""
        if self.delay and not may_wait:
            raise WouldWait(self.network or "delay")
        self.times -= 1
        return self.times == 0


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class FaultPlan:
    """Faults waiting to happen, first added first used."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        """Plan ``fault``; TooManyFaults when ``MAX_PENDING`` wait already."""
        with self._lock:
            if len(self._faults) >= MAX_PENDING:
                raise TooManyFaults(f"{MAX_PENDING} faults are waiting already: clear them first")
            self._faults.append(fault)

    def take(
        self,
        vendor: str,
        operation: str,
        credential: Callable[[], str | None],
        body: Callable[[], Any],
        may_wait: bool = True,
    ) -> Fault | None:
        """The first fault this call meets, counted as used once; None when none waits. ``credential()``
        and ``body()`` give the request's credential and JSON body (called only when a fault asks). Unless
        ``may_wait``, a fault with a delay is left as it is and ``WouldWait`` raised."""
        if not self._faults:
            return None
        with self._lock:
            for fault in self._faults:
                if fault.applies(vendor, operation, credential, body):
                    if fault.use(may_wait):
                        self._faults.remove(fault)
                    return fault
        return None

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def clear(self, keep: Callable[[Fault], bool] | None = None) -> None:
        """Drop every pending fault, or those ``keep`` does not keep."""
        with self._lock:
            self._faults = [f for f in self._faults if keep is not None and keep(f)]


# --- answers for network faults --------------------------------------------------------------------

MALFORMED_BODY = b'{"mockattr_fault": "malformed", "body": "cut o'
"""A ``malformed`` fault's body: JSON cut off in the middle."""
SLOW_CHUNKS = 10
"""A ``slow`` fault sends the body in this many pieces at most, evenly over its ``delay``."""


class DropConnection(ConnectionError):
    """Raised out of the WSGI app to close the connection with no answer: the serving layer resets it
    (``reset``) or closes it cleanly."""

    def __init__(self, reset: bool) -> None:
        super().__init__("mockattr network fault: " + ("reset" if reset else "empty"))
        self.reset = reset


class DroppedConnection(Response):
    """An answer that is no answer: called as a WSGI app it raises ``DropConnection``."""

    def __init__(self, reset: bool) -> None:
        super().__init__(b"", 200)
        self.reset = reset

    def __call__(self, environ: Any, start_response: Any) -> Any:
        raise DropConnection(self.reset)


ON_LOOP_ENVIRON_KEY = "mockattr.on_loop"
"""A WSGI environ key, set by a server that calls the app on its event loop (``mockattr serve``'s): the
app raises ``WouldWait`` rather than wait there."""


class WouldWait(Exception):
    """Raised out of the WSGI app, before it has changed anything, when a request called on the server's
    event loop (``ON_LOOP_ENVIRON_KEY``) would wait: a fault's delay, a state file, a forwarded call or the
    admin API. The server calls the app again with the request on a thread."""


def reset_on_close(sock: socket.socket) -> None:
    """Make closing ``sock`` reset the connection (RST) instead of closing it cleanly (FIN)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def network_fault(kind: str) -> Response:
    """The answer to a ``reset``, ``empty`` or ``malformed`` fault."""
    if kind == "malformed":
        return Response(MALFORMED_BODY, 200, mimetype="application/json")
    return DroppedConnection(reset=kind == "reset")


FLUSH_ENVIRON_KEY = "mockattr.flush"
"""A WSGI environ key: a function that sends what the app has written so far, set by a server that
buffers its output (``mockattr serve``'s); a ``slow`` fault calls it before each pause."""


class SlowResponse(Response):
    """A response whose body dribbles out in pieces, ``pause`` seconds apart; the status, the headers and
    the first piece go at once."""

    def __init__(self, response: Response, pieces: list[bytes], pause: float) -> None:
        super().__init__(b"", response.status_code, headers=response.headers, direct_passthrough=True)
        self.pieces, self.pause = pieces, pause
        self.sent = b"".join(pieces)
        """The whole body, for the journal."""
        self.headers["Content-Length"] = str(len(self.sent))

    def __call__(self, environ: Any, start_response: Any) -> Any:
        flush = environ.get(FLUSH_ENVIRON_KEY) or (lambda: None)

        def dribble() -> Iterator[bytes]:
            yield self.pieces[0]  # with the status and headers (WSGI servers send them with the first bytes)
            for piece in self.pieces[1:]:
                flush()
                time.sleep(self.pause)
                yield piece

        self.response = dribble()
        return super().__call__(environ, start_response)


def slowed(response: Response, fault: Fault | None) -> Response:
    """``response`` as it is, or with a ``slow`` fault its body dribbling out over the fault's delay."""
    if fault is None or fault.network != "slow":
        return response
    body = response.get_data()
    size = max(1, -(-(len(body) - 1) // SLOW_CHUNKS))
    pieces = body[:1], *(body[i : i + size] for i in range(1, len(body), size))
    return SlowResponse(response, list(pieces), (fault.delay or 0) / max(1, len(pieces) - 1))
