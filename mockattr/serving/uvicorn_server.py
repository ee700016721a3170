"""``mockattr serve``'s HTTP server: uvicorn with httptools (llhttp, in C) and uvloop (libuv), chosen by
measurement (bench/README.md): it spends several times less CPU per request than waitress.

Each request is read in full on the event loop, then the WSGI app answers it there; where the app would
wait (a fault's delay, a state file, a forwarded call, the admin API) it says so (``WouldWait``) and one of
``THREADS`` threads answers instead. So a slow or half-sent request holds nothing, and a delayed answer
holds only its own thread. A connection silent for ``IDLE_SECONDS`` (before its request, mid-request, or
between keep-alive requests) is closed. ``mockattr.serving.workers`` runs the server in several processes.

``--tls`` keeps werkzeug's threaded server (``mockattr.serving.werkzeug_server``).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import io
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import unquote_to_bytes

from uvicorn import Config, Server
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from mockattr.server.faults import (
    FLUSH_ENVIRON_KEY,
    ON_LOOP_ENVIRON_KEY,
    DropConnection,
    WouldWait,
    reset_on_close,
)
from mockattr.server.pipeline import MAX_BODY_BYTES
from mockattr.serving.framing import framing_problem

THREADS = 8
"""Threads running the app: requests answered at once."""
IDLE_SECONDS = 10
"""A connection silent this long (before or mid-request, or between keep-alive requests) is closed."""
SPOOL_LIMIT = 8 * MAX_BODY_BYTES
"""Bodies up to this size reach the app, which answers the vendor's 413 past 1 MiB; larger ones the
server refuses itself (413, plain text, connection closed) without keeping them."""
MAX_HEAD_BYTES = 256 * 1024
"""A request line and headers longer than this are refused (431, connection closed)."""
DRAIN_SECONDS = 30.0
"""After SIGTERM or Ctrl-C, requests in flight get this long to be answered."""
STREAM_BYTES = 256 * 1024
"""An answer is sent in one piece up to this size; a longer one goes out in pieces of about this size
as the app writes it."""
CONNECTION_KEY = "mockattr.connection"
"""The scope's ``extensions`` key of the request's transport, for the network faults."""


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools connection, with what it leaves out: a silent connection is closed after
    ``IDLE_SECONDS`` (uvicorn times out only between keep-alive requests), a head past ``MAX_HEAD_BYTES``
    is refused, and the request's transport is in its scope (``CONNECTION_KEY``)."""

    silence: asyncio.TimerHandle | None = None
    head_bytes = 0
    in_head = True

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._listen_for(IDLE_SECONDS)

    def _listen_for(self, seconds: float | None) -> None:
        if self.silence is not None:
            self.silence.cancel()
        self.silence = None if seconds is None else self.loop.call_later(seconds, self._close_silent)

    def _close_silent(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        self._listen_for(IDLE_SECONDS)
        if self.in_head:
            self.head_bytes += len(data)
            if self.head_bytes > MAX_HEAD_BYTES:
                self.transport.write(b"HTTP/1.1 431 Request Header Fields Too Large\r\n" + CLOSING)
                self.transport.close()
                return
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self.in_head = False
        self.scope["extensions"] = {CONNECTION_KEY: self.transport}
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.in_head, self.head_bytes = True, 0
        self._listen_for(None)  # read in full: the app answers, then uvicorn's keep-alive timeout runs

    def connection_lost(self, exc: Exception | None) -> None:
        self._listen_for(None)
        super().connection_lost(exc)


CLOSING = b"content-length: 0\r\nconnection: close\r\n\r\n"


class WSGIBridge:
    """The ASGI app uvicorn runs: reads a request in full (refusing bad framing and bodies past
    ``SPOOL_LIMIT``), calls the WSGI ``app`` on the event loop (again on a thread when it raises
    ``WouldWait``), and sends its answer; a ``DropConnection`` from the app resets or closes the
    connection, and ``FLUSH_ENVIRON_KEY`` sends what a slow answer has so far."""

    def __init__(self, app: Callable[..., Any], threads: int = THREADS) -> None:
        self.app = app
        self.multiprocess = False
        """Whether other processes run the same app (``serve --workers``): the environ says so."""
        self.threads = ThreadPoolExecutor(threads, thread_name_prefix="mockattr")

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            return
        headers = _header_lookup(scope["headers"])
        problem = framing_problem(scope["http_version"], headers)
        if problem is not None:
            await _refuse(send, 400, problem)
            return
        declared = headers("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > SPOOL_LIMIT:
            await _refuse(send, 413, "Request body too large")
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > SPOOL_LIMIT:
                await _refuse(send, 413, "Request body too large")
                return
            if not message.get("more_body"):
                break
        loop, data = asyncio.get_running_loop(), bytes(body)
        environ = wsgi_environ(scope, data, self.multiprocess)
        environ[ON_LOOP_ENVIRON_KEY] = True
        try:  # on the loop: a thread costs more than most answers (bench/README.md)
            answer = self._answer(environ, loop, None)
        except WouldWait:
            fresh = wsgi_environ(scope, data, self.multiprocess)
            answer = await loop.run_in_executor(self.threads, self._answer, fresh, loop, send)
        if isinstance(answer, DropConnection):
            transport = scope["extensions"][CONNECTION_KEY]
            if answer.reset:
                with contextlib.suppress(OSError, AttributeError):
                    reset_on_close(transport.get_extra_info("socket"))
                transport.abort()
            else:
                transport.close()
            return
        await _send_all(send, answer)

    def _answer(self, environ: dict[str, Any], loop: asyncio.AbstractEventLoop, send: Callable[..., Any] | None) -> Any:
        """The app's answer as ASGI messages still to send, or the ``DropConnection`` it raised. On a thread
        (``send`` given), a long answer is sent as it comes and a slow one when it asks (``flush``); on the
        loop, the answer is held whole."""
        head: list[dict[str, Any]] = []
        pending: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            head[:] = [
                {
                    "type": "http.response.start",
                    "status": int(status[:3]),
                    "headers": [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers],
                }
            ]
            return pending.append

        def flush() -> None:
            messages = [*head, {"type": "http.response.body", "body": b"".join(pending), "more_body": True}]
            head.clear()
            pending.clear()
            assert send is not None
            asyncio.run_coroutine_threadsafe(_send_all(send, messages), loop).result()

        if send is not None:
            environ[FLUSH_ENVIRON_KEY] = flush
        try:
            result = self.app(environ, start_response)
            try:
                held = 0
                for chunk in result:
                    pending.append(chunk)
                    held += len(chunk)
                    if held >= STREAM_BYTES and send is not None:  # a long answer (the journal) streams
                        flush()
                        held = 0
            finally:
                if hasattr(result, "close"):
                    result.close()
        except DropConnection as drop:
            return drop
        return [*head, {"type": "http.response.body", "body": b"".join(pending)}]


async def _send_all(send: Callable[..., Any], messages: list[dict[str, Any]]) -> None:
    for message in messages:
        await send(message)


async def _refuse(send: Callable[..., Any], status: int, text: str) -> None:
    """A plain-text refusal that closes the connection, as the server's own (not the vendor's) answer."""
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": text.encode()})


def _header_lookup(headers: list[tuple[bytes, bytes]]) -> Callable[[str], str | None]:
    def header(name: str) -> str | None:
        wanted = name.lower().encode()
        for key, value in headers:
            if key == wanted:
                return value.decode("latin-1")
        return None

    return header


def wsgi_environ(scope: dict[str, Any], body: bytes, multiprocess: bool = False) -> dict[str, Any]:
    """The WSGI environ (PEP 3333) of an ASGI HTTP request read in full. A header whose name has an
    underscore is dropped, as waitress and nginx do: it would pass for one spelled with a hyphen."""
    raw_path = scope["raw_path"]
    query = scope["query_string"]
    server = scope.get("server") or ("localhost", 80)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(raw_path).decode("latin-1"),
        "QUERY_STRING": query.decode("latin-1"),
        "REQUEST_URI": (raw_path + (b"?" + query if query else b"")).decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": "HTTP/" + scope["http_version"],
        "REMOTE_ADDR": scope["client"][0] if scope.get("client") else "",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": multiprocess,
        "wsgi.run_once": False,
    }
    for name, value in scope["headers"]:
        if b"_" in name or name in (b"content-length", b"transfer-encoding"):
            continue
        text = value.decode("latin-1")
        if name == b"content-type":
            environ["CONTENT_TYPE"] = text
            continue
        key = "HTTP_" + name.decode("latin-1").upper().replace("-", "_")
        environ[key] = f"{environ[key]},{text}" if key in environ else text
    return environ


class FrontServer(Server):
    """uvicorn's server on a socket bound beforehand, announcing itself once it listens, and stopping on
    SIGTERM or Ctrl-C without passing the signal on (uvicorn raises it again once it has stopped)."""

    def __init__(self, config: Config, sock: socket.socket) -> None:
        super().__init__(config)
        self.socket = sock
        self.announce: Callable[[], Any] = lambda: None
        self.supervisor: int | None = None
        """In a worker (``serve_in_workers``), the supervisor's pid: the worker stops when it is gone."""

    async def on_tick(self, counter: int) -> bool:
        if self.supervisor is not None and os.getppid() != self.supervisor:
            self.should_exit = True  # the supervisor was killed: no worker outlives it
        return await super().on_tick(counter)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.announce()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        saved = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for sig, handler in saved.items():
                signal.signal(sig, handler)


def bind(app: Callable[..., Any], host: str, port: int) -> FrontServer:
    """A server for the WSGI ``app``, its socket listening now; port 0 picks a free port (read it back
    with ``base_url``)."""
    logging.getLogger("uvicorn.error").setLevel(logging.ERROR)  # a hostile request is no news
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=2048)
    config = Config(
        WSGIBridge(app),
        http=GuardedProtocol,
        loop="auto",
        lifespan="off",
        interface="asgi3",
        timeout_keep_alive=IDLE_SECONDS,
        timeout_graceful_shutdown=DRAIN_SECONDS,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        headers=[("server", "mockattr")],
    )
    return FrontServer(config, sock)


def base_url(server: FrontServer) -> str:
    """``http://host:port`` of a bound server."""
    host, port = server.socket.getsockname()[:2]
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}"


def serve_until_signalled(server: FrontServer, announce: Callable[[], Any]) -> None:
    """Serve until SIGTERM or Ctrl-C, then stop accepting, close idle connections, answer the requests
    in flight (up to ``DRAIN_SECONDS``) and close theirs, and return. ``announce()`` runs once the server
    listens and the signal handlers are in place."""
    server.announce = announce
    gc.freeze()  # what start-up built is never garbage: full collections no longer walk it (bench/README.md)
    try:
        server.run(sockets=[server.socket])
    finally:
        server.config.app.threads.shutdown(wait=False, cancel_futures=True)
