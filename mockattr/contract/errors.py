"""The one exception a request handler raises to answer with a vendor's error body."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answer: HTTP status, message and (for vendors that have one) the offending field."""

    def __init__(
        self, status: int, message: str, param: str | None = None, extra: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.extra = extra or {}
        """Fields some vendors add to an error body (Invisible Collector's 409 carries ``gid``)."""

    def __repr__(self) -> str:
        return f"ApiError({self.status}, {self.message!r}, param={self.param!r})"
