"""HAR 1.2 (the HTTP Archive format browsers export): ``mockattr proxy --record FILE.har`` writes every
exchange it forwards as one entry.

The file is valid JSON after every entry: the entries are written once each, in place of the closing
brackets, which follow them again in the same write. A proxy stopped by SIGTERM or Ctrl-C leaves a
complete file (the requests in flight are answered, and written, first).
"""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mockattr import __version__

TAIL = b"\n]}}\n"


def har_headers(headers: dict[str, str] | list[tuple[str, str]]) -> list[dict[str, str]]:
    """Headers as HAR lists them: ``[{"name", "value"}]``."""
    pairs = headers.items() if isinstance(headers, dict) else headers
    return [{"name": name, "value": value} for name, value in pairs]


def har_content(raw: bytes, mime_type: str) -> dict[str, Any]:
    """A body as HAR holds it: text when it is UTF-8, else base64."""
    content: dict[str, Any] = {"size": len(raw), "mimeType": mime_type}
    try:
        content["text"] = raw.decode("utf-8")
    except UnicodeDecodeError:
        content["text"], content["encoding"] = base64.b64encode(raw).decode("ascii"), "base64"
    return content


def har_entry(
    *,
    started: float,
    method: str,
    url: str,
    request_headers: dict[str, str],
    request_body: bytes,
    status: int,
    reason: str,
    response_headers: list[tuple[str, str]],
    response_body: bytes,
    wait_ms: float,
    total_ms: float,
    extra: dict[str, Any],
) -> dict[str, Any]:
    """One HAR entry. Headers must be redacted already; ``extra`` goes under ``_mockattr`` (HAR's custom
    fields start with an underscore)."""
    query = urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query, keep_blank_values=True)
    request: dict[str, Any] = {
        "method": method,
        "url": url,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": har_headers(request_headers),
        "queryString": [{"name": name, "value": value} for name, value in query],
        "headersSize": -1,
        "bodySize": len(request_body),
    }
    if request_body:
        mime_type = next((v for k, v in request_headers.items() if k.lower() == "content-type"), "")
        request["postData"] = {"mimeType": mime_type, **har_content(request_body, mime_type)}
        request["postData"].pop("size")
    response_type = next((v for k, v in response_headers if k.lower() == "content-type"), "")
    return {
        "startedDateTime": datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="milliseconds"),
        "time": round(total_ms, 3),
        "request": request,
        "response": {
            "status": status,
            "statusText": reason,
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": har_headers(response_headers),
            "content": har_content(response_body, response_type),
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": len(response_body),
        },
        "cache": {},
        "timings": {"send": 0, "wait": round(wait_ms, 3), "receive": round(max(total_ms - wait_ms, 0), 3)},
        "_mockattr": extra,
    }


class HarWriter:
    """A HAR 1.2 file at ``path`` (created or emptied now), an entry added by each ``add``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("wb")
        head = {"version": "1.2", "creator": {"name": "mockattr", "version": __version__}}
        opening = json.dumps({"log": head})[:-2].encode() + b', "entries": ['
        self._file.write(opening + TAIL)
        self._file.flush()
        self._end = len(opening)
        self._count = 0
        self._lock = threading.Lock()

    def add(self, entry: dict[str, Any]) -> None:
        """Write ``entry`` after the others; the file is complete again when this returns."""
        text = json.dumps(entry, ensure_ascii=False).encode("utf-8")
        with self._lock:
            if self._file.closed:
                return
            data = (b"\n" if self._count == 0 else b",\n") + text
            self._file.seek(self._end)
            self._file.write(data + TAIL)
            self._file.flush()
            self._end += len(data)
            self._count += 1

    def close(self) -> None:
        with self._lock:
            self._file.close()
