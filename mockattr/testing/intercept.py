"""``mockattr.intercept()``: the vendors' real hostnames answered in-process, for requests and httpx.

While it is active, calls to every vendor's hosts (its ``index.json`` ``hosts``, e.g.
``https://api.chartmogul.com``; ``http://`` too) go to the same WSGI app ``mockattr serve`` runs, in
this process: no socket, no port. requests is patched through ``responses``, httpx (sync and async)
through ``respx``; both are installed with ``pip install 'mockattr[intercept]'``.

- Other hosts pass through untouched; ``intercept(allow_other_hosts=False)`` makes them an error that
  names the URL.
- The handle it gives has the ``mockattr`` fixture's API (state, seeds, journal, faults, assertions); its
  ``url(vendor)`` is the vendor's real base URL.
- A network fault raises what the client library raises for a real one: ``requests.ConnectionError``,
  ``httpx.ConnectError``.
- Nesting: the innermost intercept answers, with its own state; the outer one answers again after it
  ends. Threads: the patch is process-wide, so calls from any thread are answered by the active intercept
  (its state is thread-safe, as the server's is). pytest-xdist: each worker process has its own.
"""

from __future__ import annotations

import asyncio
import functools
import io
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import unquote_to_bytes, urlsplit

from werkzeug.test import Client

from mockattr.contract.routes import vendor_hosts
from mockattr.server.app import create_app
from mockattr.server.faults import DropConnection
from mockattr.server.runtime import runtime_of
from mockattr.testing.handle import Mockattr

F = TypeVar("F", bound=Callable[..., Any])

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


class InterceptedMockattr(Mockattr):
    """The handle of an ``intercept()``: the ``mockattr`` fixture's API on an app in this process, with
    each vendor's ``url()`` its real base URL."""

    expect_rejections = False

    @classmethod
    def new(cls) -> InterceptedMockattr:
        """A handle on a new app (every tenant from the fixtures), not yet answering anything."""
        app = create_app()
        return cls(app, vendor_hosts(runtime_of(app).contracts))

    @contextmanager
    def fresh(self) -> Iterator[InterceptedMockattr]:
        """This handle on state back to the fixtures, with an empty journal and no faults, reset again on
        leaving: one Hypothesis example's worth."""
        self.reset()
        try:
            yield self
        finally:
            self.reset()

    def __init__(self, app: Any, hosts: dict[str, str]) -> None:
        super().__init__("http://mockattr.intercept")
        self._app, self._hosts = app, hosts
        self._client = Client(app)

    @property
    def hosts(self) -> dict[str, str]:
        """``{host: vendor id}`` this handle answers."""
        return dict(self._hosts)

    def _exchange(self, method: str, target: str, data: bytes | None, headers: dict[str, str]) -> tuple[int, bytes]:
        response = self._client.open(target, method=method, data=data, headers=headers)
        return response.status_code, response.get_data()

    def url(self, vendor: str) -> str:
        """The vendor's real base URL, e.g. ``https://api.chartmogul.com`` (append ``/v1`` and so on)."""
        for host, vendor_id in self._hosts.items():
            if vendor_id == vendor:
                return f"https://{host}"
        raise ValueError(f"{vendor!r} names no host in its index.json (hosts): {sorted(set(self._hosts.values()))}")

    def answer(
        self, method: str, url: str, headers: list[tuple[str, str]], body: bytes | None
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """The app's answer to a request for ``url``: status, headers, body; ``DropConnection`` for a
        network fault that answers nothing. The WSGI environ is built here, as a server would."""
        parts = urlsplit(url)
        path = f"/{self._hosts[parts.hostname or '']}{parts.path or '/'}"
        body = body or b""
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": parts.query,
            "REQUEST_URI": path + (f"?{parts.query}" if parts.query else ""),
            "SERVER_NAME": parts.hostname,
            "SERVER_PORT": str(parts.port or (443 if parts.scheme == "https" else 80)),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": parts.scheme,
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "CONTENT_LENGTH": str(len(body)) if body else "",
        }
        for name, value in headers:
            key = name.upper().replace("-", "_")
            if key == "CONTENT_TYPE":
                environ["CONTENT_TYPE"] = value
            elif key != "CONTENT_LENGTH":
                environ["HTTP_" + key] = value
        started: list[Any] = []
        chunks = self._app(environ, lambda status, sent, exc_info=None: started.extend((status, sent)))
        try:
            content = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        return int(started[0].split(" ", 1)[0]), list(started[1]), content


class intercept:  # noqa: N801  (used as a function: ``with mockattr.intercept() as mock``)
    """Answer the vendors' hostnames in-process while active: a context manager (``with
    mockattr.intercept() as mock:``) and a decorator (``@mockattr.intercept()``; async functions too)."""

    def __init__(self, allow_other_hosts: bool = True, handle: InterceptedMockattr | None = None) -> None:
        """``handle``: answer with that handle's app (its state as it is) instead of a new one."""
        self.allow_other_hosts = allow_other_hosts
        self.handle = handle
        self._stack: list[tuple[Any, Any, InterceptedMockattr]] = []

    def __enter__(self) -> InterceptedMockattr:
        try:
            import responses
            import respx
        except ImportError as err:  # pragma: no cover - the extra is part of the test install
            raise ImportError("mockattr.intercept() needs: pip install 'mockattr[intercept]'") from err
        handle = self.handle or InterceptedMockattr.new()
        hosts = handle.hosts
        requests_mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        pattern = re.compile(r"https?://(" + "|".join(re.escape(h) for h in hosts) + r")(:\d+)?(/.*)?$")
        for method in METHODS:
            requests_mock.add_callback(method, pattern, callback=functools.partial(_requests_answer, handle))
        if self.allow_other_hosts:
            requests_mock.add_passthru(
                re.compile(r"https?://(?!(" + "|".join(re.escape(h) for h in hosts) + r")(:\d+)?/)")
            )
        httpx_mock = respx.mock(assert_all_called=False, assert_all_mocked=not self.allow_other_hosts)
        for host in hosts:
            httpx_mock.route(host=host).mock(side_effect=functools.partial(_httpx_answer, handle))
        if self.allow_other_hosts:
            httpx_mock.route().pass_through()
        requests_mock.start()
        httpx_mock.start()
        self._stack.append((requests_mock, httpx_mock, handle))
        return handle

    def __exit__(self, *exc: object) -> None:
        requests_mock, httpx_mock, _ = self._stack.pop()
        httpx_mock.stop()
        requests_mock.stop()
        requests_mock.reset()

    def __call__(self, func: F) -> F:
        if asyncio.iscoroutinefunction(func):

            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with self:
                    return await func(*args, **kwargs)

            return run_async  # type: ignore[return-value]

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return run  # type: ignore[return-value]


def _requests_answer(handle: InterceptedMockattr, request: Any) -> tuple[int, dict[str, str], bytes]:
    """responses' callback: the app's answer, or ``requests.ConnectionError`` for a dropped connection."""
    import requests

    body = request.body.encode() if isinstance(request.body, str) else request.body
    try:
        status, headers, content = handle.answer(request.method, request.url, list(request.headers.items()), body)
    except DropConnection as drop:
        raise requests.ConnectionError(str(drop), request=request) from None
    return status, dict(headers), content


def _httpx_answer(handle: InterceptedMockattr, request: Any) -> Any:
    """respx's side effect: the app's answer, or ``httpx.ConnectError`` for a dropped connection."""
    import httpx

    try:
        status, headers, content = handle.answer(
            request.method, str(request.url), list(request.headers.items()), request.read()
        )
    except DropConnection as drop:
        raise httpx.ConnectError(str(drop), request=request) from None
    return httpx.Response(
        status, headers=[(k, v) for k, v in headers if k.lower() != "content-length"], content=content
    )
