"""mockattr: stateful mock servers for customer custom-attribute APIs."""

__version__ = "0.1.0"

VENDOR_IDS = ("chartmogul", "bunce", "invisible_collector")
"""Every vendor mockattr serves, spelled as in URLs, modules, schema folders and fixture files."""
