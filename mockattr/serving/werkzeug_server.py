"""Run the app on werkzeug's threaded server: the pytest plugin's (a background thread) and ``serve --tls``'s."""

from __future__ import annotations

import signal
import ssl
import threading
from dataclasses import dataclass
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, ThreadedWSGIServer, WSGIRequestHandler

from mockattr.server.faults import DropConnection, reset_on_close
from mockattr.serving.framing import framing_problem

HANDSHAKE_TIMEOUT = 10.0
"""Seconds a client gets to finish the TLS handshake."""
IDLE_TIMEOUT = 10.0
"""Seconds a connection may stay silent (mid-request or between keep-alive requests) before it is
closed: a slow or half-sent request holds only its own thread, and only this long."""


class RequestHandler(WSGIRequestHandler):
    """werkzeug's handler with a socket timeout, no access log (``serve --log-requests`` has its own),
    and the mock's network faults: ``DropConnection`` closes the connection with no answer."""

    timeout = IDLE_TIMEOUT

    def connection_dropped(self, error: BaseException, environ: Any = None) -> None:
        if isinstance(error, DropConnection):
            if error.reset:
                reset_on_close(self.connection)
                self.server.resetting.add(self.connection.fileno())  # type: ignore[attr-defined]
            self.close_connection = True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass

    error_message_format = '{"error": "%(explain)s"}'
    error_content_type = "application/json"

    def parse_request(self) -> bool:
        """The request line and headers, refusing what ``framing_problem`` names with a 400 (and a close)."""
        if not super().parse_request():
            return False
        problem = framing_problem(self.request_version, self.headers.get)
        if problem is None:
            return True
        self.close_connection = True
        self.send_error(400, "Bad Request", problem)
        return False


class MockServer(ThreadedWSGIServer):
    """werkzeug's threaded server; with ``drain``, closing it waits for requests in flight (its request
    threads are not daemons); with an SSL context, the TLS handshake happens in each connection's own
    thread (werkzeug does it in the accept loop, where one silent client stops every other)."""

    def __init__(self, host: str, port: int, app: Flask, ssl_context: ssl.SSLContext | None, drain: bool) -> None:
        super().__init__(host, port, app, handler=RequestHandler)
        self.ssl_context = ssl_context  # werkzeug reads it for the https scheme
        self.daemon_threads = not drain
        self.block_on_close = drain
        self.resetting: set[int] = set()
        """Connections (by file descriptor) a ``reset`` fault closes: no clean shutdown first."""

    def shutdown_request(self, request: Any) -> None:
        fileno = request.fileno()
        if fileno in self.resetting:
            self.resetting.discard(fileno)
            self.close_request(request)  # with SO_LINGER 0: a reset, not the FIN a shutdown sends first
        else:
            super().shutdown_request(request)

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.ssl_context is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(HANDSHAKE_TIMEOUT)
        try:
            secure = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            super().finish_request(secure, client_address)
        finally:
            secure.close()


def bind(
    app: Flask,
    host: str = "127.0.0.1",
    port: int = 0,
    ssl_context: ssl.SSLContext | None = None,
    drain: bool = False,
) -> BaseWSGIServer:
    """A threaded server for ``app`` bound now; port 0 picks a free port (read it back, no race). With
    ``drain``, stopping it lets the requests in flight finish first."""
    return MockServer(host, port, app, ssl_context, drain)


def base_url(server: BaseWSGIServer) -> str:
    """``http(s)://host:port`` of a bound server."""
    host = server.server_address[0]
    host = f"[{host}]" if ":" in host else host
    scheme = "https" if server.ssl_context else "http"
    return f"{scheme}://{host}:{server.server_port}"


@dataclass
class BackgroundServer:
    """A server running in a daemon thread, for tests and embedding."""

    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return base_url(self.server)

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def start_background(
    app: Flask, host: str = "127.0.0.1", port: int = 0, ssl_context: ssl.SSLContext | None = None
) -> BackgroundServer:
    """Bind ``app`` and serve it from a daemon thread."""
    server = bind(app, host, port, ssl_context)
    thread = threading.Thread(target=server.serve_forever, name="mockattr-server", daemon=True)
    thread.start()
    return BackgroundServer(server, thread)


def stop_on_signals(server: BaseWSGIServer) -> None:
    """Make SIGTERM and Ctrl-C (SIGINT) stop ``server`` cleanly, whenever they come: install this before
    announcing the server, so a signal sent as soon as its URL is printed is not lost."""

    def stop(signum: int, frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def serve_until_stopped(server: BaseWSGIServer) -> None:
    """Serve in the foreground until ``stop_on_signals`` stops it; return once the requests in flight
    are answered (when the server was bound with ``drain``)."""
    server.serve_forever()  # werkzeug's serve_forever ends with server_close, which joins the threads
