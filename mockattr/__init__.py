"""mockattr: stateful mock servers for customer custom-attribute APIs.

What users import is named in ``__all__``; each name is loaded when first used, so that
``import mockattr.strategies`` loads no server code.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mockattr.contract.discovery import vendor_ids

__version__ = "0.1.0"

VENDOR_IDS = vendor_ids()
"""Every vendor mockattr serves, spelled as in URLs, modules, schema folders and fixture files: found by
``mockattr.contract.discovery``, not listed."""

_LAZY = {
    "Mockattr": "mockattr.testing.handle",
    "RecordedRequest": "mockattr.testing.handle",
    "AdminError": "mockattr.testing.handle",
    "create_app": "mockattr.server.app",
    "FixtureError": "mockattr.vendors",
    "VendorError": "mockattr.vendors",
    "StateFileError": "mockattr.server.durable",
    "intercept": "mockattr.testing.intercept",
}

__all__ = [
    "VENDOR_IDS",
    "AdminError",
    "FixtureError",
    "Mockattr",
    "RecordedRequest",
    "StateFileError",
    "VendorError",
    "__version__",
    "create_app",
    "intercept",
    "strategies",
]

if TYPE_CHECKING:
    from mockattr import strategies
    from mockattr.server.app import create_app
    from mockattr.server.durable import StateFileError
    from mockattr.testing.handle import AdminError, Mockattr, RecordedRequest
    from mockattr.vendors import FixtureError, VendorError


def __getattr__(name: str) -> Any:
    if name == "strategies":
        return importlib.import_module("mockattr.strategies")
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mockattr' has no attribute {name!r}")
