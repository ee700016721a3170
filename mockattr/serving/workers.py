"""``mockattr serve --workers N``: N processes forked from one, each serving the same app on the same
listening socket (``mockattr.serving.uvicorn_server``); the app keeps its state where all of them see it
(``mockattr.server.shared``). The first process only supervises: it forwards SIGTERM and Ctrl-C, replaces
a worker that dies, and returns once every worker has drained."""

from __future__ import annotations

import contextlib
import gc
import os
import select
import signal
import sys
from collections.abc import Callable
from typing import Any

from mockattr.serving.uvicorn_server import FrontServer


def serve_in_workers(server: FrontServer, count: int, announce: Callable[[], Any]) -> None:
    """Serve from ``count`` processes forked from this one, all accepting on the server's socket, until
    SIGTERM or Ctrl-C; then each drains as ``serve_until_signalled`` does, and this returns once all have
    stopped. ``announce()`` runs once every worker listens. A worker that dies is replaced."""
    ready, tell_ready = os.pipe()
    server.supervisor = os.getpid()
    gc.freeze()  # before forking: the workers share the start-up heap, and collections skip it
    workers: set[int] = set()

    def start_worker(first: bool) -> None:
        pid = os.fork()
        if pid:
            workers.add(pid)
            return
        code = 1
        try:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, signal.SIG_DFL)  # until uvicorn puts its own handlers in place
            os.close(ready)
            server.announce = (lambda: os.write(tell_ready, b".")) if first else (lambda: None)
            server.run(sockets=[server.socket])
            code = 0
        finally:
            os._exit(code)  # a forked worker leaves without running the supervisor's exit handlers

    for _ in range(count):
        start_worker(first=True)
    stopping: list[int] = []

    def stop(signum: int, frame: object) -> None:
        stopping.append(signum)
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    started = 0
    while started < count and not stopping:
        if select.select([ready], [], [], 0.2)[0]:
            started += len(os.read(ready, count - started))
        pid, _ = os.waitpid(-1, os.WNOHANG)
        if pid:  # a worker that cannot start: none will
            workers.discard(pid)
            stop(signal.SIGTERM, None)
            stopping.append(-1)
    if not stopping:
        announce()
    while workers:
        pid, status = os.wait()
        workers.discard(pid)
        if not stopping:
            print(f"mockattr: worker {pid} stopped ({status}); starting another", file=sys.stderr, flush=True)
            start_worker(first=False)
    os.close(ready)
    os.close(tell_ready)
    if -1 in stopping:
        raise SystemExit("mockattr: a worker stopped as it started")
