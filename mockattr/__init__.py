"""mockattr: stateful mock servers for customer custom-attribute APIs."""

__version__ = "0.1.0"

from mockattr.discovery import vendor_ids

VENDOR_IDS = vendor_ids()
"""Every vendor mockattr serves, spelled as in URLs, modules, schema folders and fixture files: found by
``mockattr.discovery``, not listed."""
