"""Run one app on one HTTP server, for bench/run.py: the mockattr app or the bare-Flask ceiling (a constant
JSON body), on the server `mockattr serve` uses (uvicorn) or on another one being compared.

    python bench/apps.py SERVER APP PORT     SERVER: uvicorn | werkzeug | waitress | gunicorn | granian
                                             APP: mockattr | bare

gunicorn and granian come with `pip install '.[bench]'`. Each server gets 8 threads, as `mockattr serve` has.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from flask import Flask, Response

BODY = '{"custom":{"CAC":213,"utmCampaign":"social media 1","pro":true,"channel":"Twitter"}}'
SERVERS = ("uvicorn", "werkzeug", "waitress", "gunicorn", "granian")


def bare_app() -> Flask:
    """The ceiling for mockattr's stack: Flask answering a constant JSON body on every path."""
    app = Flask("bare")

    @app.route("/", defaults={"path": ""}, methods=["GET", "PUT", "POST"])
    @app.route("/<path:path>", methods=["GET", "PUT", "POST"])
    def constant(path: str) -> Response:
        return Response(BODY, mimetype="application/json")

    return app


def mockattr_app() -> Flask:
    """mockattr with its embedded fixtures, state in memory."""
    from mockattr.server.app import create_app

    return create_app()


def main() -> None:
    server, app_name, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    factory = {"bare": bare_app, "mockattr": mockattr_app}[app_name]
    here = str(Path(__file__).resolve().parent)
    if server == "uvicorn":
        from mockattr.serving.uvicorn_server import bind as bind_uvicorn
        from mockattr.serving.uvicorn_server import serve_until_signalled

        serve_until_signalled(bind_uvicorn(factory(), "127.0.0.1", port), lambda: None)
    elif server == "werkzeug":
        from mockattr.serving.werkzeug_server import bind

        bind(factory(), "127.0.0.1", port).serve_forever()
    elif server == "waitress":
        from waitress import serve  # mockattr serve's server before uvicorn

        serve(factory(), host="127.0.0.1", port=port, threads=8, _quiet=True)
    elif server == "gunicorn":
        command = ["-m", "gunicorn", "--chdir", here, "-b", f"127.0.0.1:{port}", "-k", "gthread", "--threads", "8"]
        os.execv(sys.executable, [sys.executable, *command, f"apps:{app_name}_app()"])
    elif server == "granian":
        command = ["-m", "granian", "--interface", "wsgi", "--factory", "--working-dir", here, "--port", str(port)]
        command += ["--blocking-threads", "8", "--no-ws", "--log-level", "error", f"apps:{app_name}_app"]
        os.execv(sys.executable, [sys.executable, *command])
    else:
        sys.exit(f"unknown server {server!r}; one of {', '.join(SERVERS)}")


if __name__ == "__main__":
    main()
