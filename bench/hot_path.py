"""CPU per request of the app alone, in-process: no HTTP server, no sockets, no other process.

    .venv/bin/python bench/hot_path.py [--baseline DIR] [--requests 2000] [--repeats 5]

Calls the WSGI app of ``create_app()`` directly with ``update`` and ``retrieve`` requests and prints the
CPU time each takes (the best of ``--repeats`` runs of ``--requests`` calls: the least disturbed by other
work on the machine). With ``--baseline DIR`` (a source checkout of another revision, e.g. from
``git worktree add DIR REV``) the same runs go to that revision's code in a second process, alternating,
for before/after in one run. bench/run.py measures the served whole; this isolates the Python work of the
request path, where a change of a few microseconds shows.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

UUID = "cus_de305d54-75b4-431b-adb2-eb6b9e546012"
REQUESTS = {
    "update": ("PUT", f"/chartmogul/v1/customers/{UUID}/attributes/custom", {"custom": {"age": 8, "channel": "x"}}),
    "retrieve": ("GET", f"/chartmogul/v1/customers/{UUID}/attributes", None),
}
AUTH = "Basic " + base64.b64encode(b"bench:").decode()


def measure(requests: int, repeats: int) -> dict[str, float]:
    """Microseconds of CPU per request of each kind, in this process."""
    try:
        from mockattr.server.app import create_app
    except ImportError:  # revisions before the layered package
        from mockattr.app import create_app  # type: ignore[no-redef]

    app = create_app()

    def call(method: str, path: str, data: bytes) -> None:
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "bench",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(data),
            "CONTENT_LENGTH": str(len(data)),
            "CONTENT_TYPE": "application/json",
            "HTTP_AUTHORIZATION": AUTH,
        }
        b"".join(app(environ, lambda status, headers, exc_info=None: None))

    results = {}
    for name, (method, path, body) in REQUESTS.items():
        data = json.dumps(body).encode() if body is not None else b""
        for _ in range(300):  # warm up: the tenant is built on its first request
            call(method, path, data)
        best = float("inf")
        for _ in range(repeats):
            started = time.process_time()
            for _ in range(requests):
                call(method, path, data)
            best = min(best, time.process_time() - started)
        results[name] = best / requests * 1e6
    return results


def in_process(source: Path | None, requests: int, repeats: int) -> dict[str, float]:
    """``measure`` in a fresh interpreter, on ``source``'s code when given."""
    env = {**os.environ, **({"PYTHONPATH": str(source)} if source else {})}
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(requests), str(repeats)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=source,
    ).stdout
    return json.loads(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="a source checkout of another revision to compare with")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3, help="alternating processes per side (default 3)")
    parser.add_argument("--child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(*args.child)))
        return
    sides = {"this checkout": None, **({f"baseline {args.baseline}": args.baseline} if args.baseline else {})}
    found: dict[str, list[dict[str, float]]] = {side: [] for side in sides}
    for _ in range(args.rounds):
        for side, source in sides.items():
            found[side].append(in_process(source, args.requests, args.repeats))
    print("| code | " + " | ".join(f"{name} CPU µs/request (best of rounds)" for name in REQUESTS) + " |")
    print("| --- |" + " ---: |" * len(REQUESTS))
    for side, rounds in found.items():
        cells = [f"{min(r[name] for r in rounds):.1f}" for name in REQUESTS]
        print(f"| {side} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
