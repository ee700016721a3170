"""``mockattr serve --workers N``: N processes forked from one, each serving the same app on the same
listening socket (``mockattr.serving.uvicorn_server``); the app keeps its state where all of them see it
(``mockattr.server.shared``). The first process only supervises: it forwards SIGTERM and Ctrl-C, replaces
a worker that dies, and returns once every worker has drained."""

from __future__ import annotations

import contextlib
import gc
import os
import select
import shutil
import signal
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mockattr.serving.uvicorn_server import FrontServer


def serve_in_workers(
    server: FrontServer, count: int, announce: Callable[[], Any], shared_folder: Path | None = None
) -> None:
    """Serve from ``count`` processes forked from this one, all accepting on the server's socket, until
    SIGTERM or Ctrl-C; then each drains as ``serve_until_signalled`` does, and this returns once all have
    stopped. ``announce()`` runs once every worker listens. A worker that dies is replaced (after a
    second, if it had run less than one). If this process is killed, the workers stop and remove
    ``shared_folder`` (their shared state), which this process's own exit would have removed."""
    ready, tell_ready = os.pipe()
    server.supervisor = os.getpid()
    server.config.app.multiprocess = True
    gc.freeze()  # before forking: the workers share the start-up heap, and collections skip it
    workers: dict[int, float] = {}
    """Each worker's pid and when it started."""

    def start_worker(first: bool) -> None:
        pid = os.fork()
        if pid:
            workers[pid] = time.monotonic()
            return
        code = 1
        try:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, signal.SIG_DFL)  # until uvicorn puts its own handlers in place
            os.close(ready)
            server.announce = (lambda: os.write(tell_ready, b".")) if first else (lambda: None)
            server.run(sockets=[server.socket])
            if shared_folder is not None and os.getppid() != server.supervisor:  # orphaned: nobody else will
                shutil.rmtree(shared_folder, ignore_errors=True)
            code = 0
        except BaseException:
            traceback.print_exc()  # os._exit would leave without it
        finally:
            sys.stderr.flush()
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
            workers.pop(pid, None)
            stop(signal.SIGTERM, None)
            stopping.append(-1)
    if not stopping:
        announce()
    while workers:
        pid, status = os.wait()
        ran = time.monotonic() - workers.pop(pid, 0.0)
        if not stopping:
            code = os.waitstatus_to_exitcode(status)
            how = f"exit code {code}" if code >= 0 else f"signal {signal.Signals(-code).name}"
            print(f"mockattr: worker {pid} stopped ({how}); starting another", file=sys.stderr, flush=True)
            if ran < 1.0:
                time.sleep(1.0)  # one that dies at once would otherwise be restarted in a tight loop
            if not stopping:
                start_worker(first=False)
    os.close(ready)
    os.close(tell_ready)
    if -1 in stopping:
        raise SystemExit("mockattr: a worker stopped as it started")
