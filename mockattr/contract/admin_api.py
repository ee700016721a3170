"""mockattr's own admin API as every client addresses it: the server, the CLI, the plugin's handle and
``mockattr check`` share these names (see README.md, "Admin API")."""

from __future__ import annotations

ADMIN_PREFIX = "/__mockattr"
"""The admin API's path prefix; nothing else is served below it."""
ADMIN_TOKEN_HEADER = "X-Mockattr-Admin-Token"
"""The header that carries a server's ``--admin-token`` (the admin API's credential, not a vendor's)."""
NAMESPACE_PREFIX = "/__ns/"
"""``/__ns/<name>/...`` is ``...`` in namespace ``name``."""


def is_admin_path(path: str) -> bool:
    """Whether ``path`` is the admin API's."""
    return path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/")


def admin_path(path: str) -> str:
    """The admin call ``path`` (e.g. ``health``) below the prefix: ``/__mockattr/health``."""
    return f"{ADMIN_PREFIX}/{path}"
