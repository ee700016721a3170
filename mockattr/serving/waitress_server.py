"""``mockattr serve``'s HTTP server: waitress, chosen by measurement (bench/README.md) among the servers
that keep a slow client from holding others up. waitress reads each request in full on its event loop
before a thread runs the app, so a half-sent body holds no thread, and a silent connection is closed
after ``IDLE_SECONDS``. granian was faster, but a client that stops mid-body holds one of its threads
until it goes (no body timeout: granian issue #728); gunicorn's threads fail the same way.

``--tls`` keeps werkzeug's threaded server (``mockattr.serving.werkzeug_server``): waitress does not speak TLS.
"""

from __future__ import annotations

import logging
import re
import signal
import time
from collections.abc import Callable
from typing import Any

from flask import Flask
from waitress import create_server
from waitress.channel import ClientDisconnected, HTTPChannel
from waitress.parser import HTTPRequestParser, ParsingError
from waitress.server import BaseWSGIServer

from mockattr.server.faults import FLUSH_ENVIRON_KEY, DropConnection, reset_on_close
from mockattr.server.pipeline import MAX_BODY_BYTES
from mockattr.serving.framing import framing_problem

THREADS = 8
"""Threads running the app: requests answered at once."""
IDLE_SECONDS = 10
"""A connection silent this long (mid-request or between keep-alive requests) is closed."""
CLEANUP_SECONDS = 1
"""How often waitress looks for silent connections (its default, 30 s, closed them after 28 to 40 s)."""
SPOOL_LIMIT = 8 * MAX_BODY_BYTES
"""waitress buffers a body before the app runs (in memory, then a temporary file). Bodies up to this
size reach the app, which answers the vendor's 413 past 1 MiB; larger ones waitress refuses itself
(413, plain text) without keeping them."""
DRAIN_SECONDS = 30.0
"""After SIGTERM or Ctrl-C, requests in flight get this long to be answered."""


TRANSFER_ENCODING = re.compile(rb"\r\ntransfer-encoding:", re.IGNORECASE)
"""A Transfer-Encoding header line in a request's head."""


class StrictRequestParser(HTTPRequestParser):
    """waitress's parser, refusing what ``framing_problem`` names (waitress's own 400, connection closed).
    waitress drops Transfer-Encoding from the headers it keeps, so that one is looked for as sent."""

    def parse_header(self, header_plus: bytes) -> None:
        chunked = TRANSFER_ENCODING.search(header_plus) is not None  # as sent: waitress drops it from headers
        super().parse_header(header_plus)

        def header(name: str) -> str | None:
            if name == "Transfer-Encoding":
                return "sent" if chunked else None
            return "sent" if name.upper().replace("-", "_") in self.headers else None

        problem = framing_problem(self.version, header)
        if problem is not None:
            raise ParsingError(problem)


class DrainingChannel(HTTPChannel):
    """waitress's connection, which stops reading new requests once the server is stopping, with the
    strict parser."""

    draining = False
    parser_class = StrictRequestParser

    def readable(self) -> bool:
        return not self.draining and super().readable()


def bind(app: Flask, host: str, port: int) -> BaseWSGIServer:
    """A waitress server for ``app``, listening now; port 0 picks a free port (read it back with
    ``base_url``). waitress's "Task queue depth" warning, written for each request that waits for a
    thread, is silenced: a burst of requests is normal for a mock, and the thread count is fixed."""
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    server = create_server(
        with_network_faults(app),
        host=host,
        port=port,
        threads=THREADS,
        channel_timeout=IDLE_SECONDS,
        cleanup_interval=CLEANUP_SECONDS,
        max_request_body_size=SPOOL_LIMIT,
        ident="mockattr",
        clear_untrusted_proxy_headers=True,
    )
    server.channel_class = DrainingChannel
    return server


def with_network_faults(app: Any) -> Any:
    """``app`` with the mock's network faults: ``DropConnection`` closes the connection with no answer
    (reset, or a clean close: waitress writes nothing when the app says the client went away), and a
    slow body can make waitress send what it has buffered (``FLUSH_ENVIRON_KEY``)."""

    def serve(environ: Any, start_response: Any) -> Any:
        channel = environ["waitress.client_disconnected"].__self__

        def flush() -> None:  # what write_soon does past send_bytes, from this same task thread
            with channel.outbuf_lock:
                channel._flush_exception(channel._flush_some, do_close=False)

        environ[FLUSH_ENVIRON_KEY] = flush
        try:
            return app(environ, start_response)
        except DropConnection as drop:
            if drop.reset:
                reset_on_close(channel.socket)
            raise ClientDisconnected(str(drop)) from None

    return serve


def base_url(server: BaseWSGIServer) -> str:
    """``http://host:port`` of a bound server."""
    host = server.effective_host
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{server.effective_port}"


def serve_until_signalled(server: BaseWSGIServer, announce: Callable[[], Any]) -> None:
    """Serve until SIGTERM or Ctrl-C, then stop accepting, close idle connections, answer the requests
    in flight (up to ``DRAIN_SECONDS``) and close theirs, and return. ``announce()`` runs once the signal
    handlers are in place. A client that sends on a kept-alive connection as it closes sees it closed,
    as with any server that stops."""
    stopping: list[float] = []

    def stop(signum: int, frame: object) -> None:
        if not stopping:
            stopping.append(time.monotonic())
            server.pull_trigger()  # wake the loop

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    announce()
    while not stopping:
        server.asyncore.loop(timeout=1.0, map=server._map, use_poll=True, count=1)
    server.accepting = False
    server.del_channel()  # no new connections
    server.socket.close()
    for channel in list(server.active_channels.values()):
        if channel.requests or channel.total_outbufs_len:
            channel.draining = True  # answer what it has, read nothing more
        else:
            channel.handle_close()  # idle between keep-alive requests
    while _busy(server) and time.monotonic() - stopping[0] < DRAIN_SECONDS:
        server.asyncore.loop(timeout=0.05, map=server._map, use_poll=True, count=1)
    server.task_dispatcher.shutdown(timeout=1)
    server.asyncore.close_all(server._map)


def _busy(server: BaseWSGIServer) -> bool:
    """Whether a request read in full is waiting, running or being answered on any connection (one
    still being sent by its client is dropped: it was not in flight yet)."""
    return any(channel.requests or channel.total_outbufs_len for channel in list(server.active_channels.values()))
