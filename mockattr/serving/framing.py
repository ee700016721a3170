"""HTTP framing both servers refuse before the app runs (RFC 9112): a request with both Content-Length
and Transfer-Encoding (request smuggling's shape: the bytes past one framing would be read as a second
request), and an HTTP/1.1 request without Host."""

from __future__ import annotations

from collections.abc import Callable


def framing_problem(version: str, header: Callable[[str], str | None]) -> str | None:
    """Why a request of HTTP ``version`` (``"1.1"`` or ``"HTTP/1.1"``) whose headers ``header(name)``
    gives must be refused with a 400 and the connection closed, or None."""
    if header("Transfer-Encoding") is not None and header("Content-Length") is not None:
        return "Content-Length together with Transfer-Encoding"
    if version.removeprefix("HTTP/") == "1.1" and not header("Host"):
        return "an HTTP/1.1 request needs a Host header"
    return None
