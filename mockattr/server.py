"""Run the app on werkzeug's threaded server: in the foreground (CLI) or in a background thread."""

from __future__ import annotations

import signal
import ssl
import threading
from dataclasses import dataclass

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server


def bind(
    app: Flask, host: str = "127.0.0.1", port: int = 0, ssl_context: ssl.SSLContext | None = None
) -> BaseWSGIServer:
    """A threaded server for ``app`` bound now; port 0 picks a free port (read it back, no race)."""
    return make_server(host, port, app, threaded=True, ssl_context=ssl_context)


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


def stop_on_sigterm(server: BaseWSGIServer) -> None:
    """Make SIGTERM stop ``server`` cleanly (install before announcing the server, so no SIGTERM is lost)."""

    def stop(signum: int, frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)


def serve_until_stopped(server: BaseWSGIServer) -> None:
    """Serve in the foreground until Ctrl-C or SIGTERM (see ``stop_on_sigterm``), then return."""
    server.serve_forever()  # werkzeug's own loop treats Ctrl-C as a clean stop
