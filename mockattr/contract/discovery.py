"""Which vendors exist, and where each one's three parts are.

A vendor is ``schemas/<id>/`` (its ``index.json`` and schemas), ``fixtures/<id>.json`` and the module or
package ``mockattr.vendors.<id>``. Vendors are found, not listed: every folder of ``schemas/`` with an
``index.json`` is one. Besides the package's own, each folder named in the environment variable
``MOCKATTR_VENDOR_PATH`` (separated like ``PATH``) may hold more, laid out the same way: ``schemas/<id>/``,
``fixtures/<id>.json`` and ``vendors/<id>.py`` (or a package). That is how a new vendor is tried
before it moves into the package (CONTRIBUTING.md).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

PATH_VARIABLE = "MOCKATTR_VENDOR_PATH"
_PACKAGE_DIR = Path(__file__).resolve().parent.parent
"""The installed ``mockattr`` folder."""


def data_dir(name: str) -> Path:
    """The installed ``mockattr/<name>`` folder, or ``<name>`` at the top of a source checkout."""
    for candidate in (_PACKAGE_DIR / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"mockattr cannot find its {name}/ folder next to {_PACKAGE_DIR}")


@cache
def extra_roots() -> tuple[Path, ...]:
    """The folders ``MOCKATTR_VENDOR_PATH`` names, each laid out as schemas/, fixtures/, vendors/."""
    return tuple(Path(part) for part in os.environ.get(PATH_VARIABLE, "").split(os.pathsep) if part)


@cache
def vendor_ids() -> tuple[str, ...]:
    """Every vendor, sorted: the package's own, then those of ``MOCKATTR_VENDOR_PATH`` (an id found
    twice is the first one's)."""
    found: dict[str, Path] = {}
    for schemas in (data_dir("schemas"), *(root / "schemas" for root in extra_roots())):
        for index in sorted(schemas.glob("*/index.json")):
            found.setdefault(index.parent.name, index.parent)
    return tuple(sorted(found))


def schema_folder(vendor_id: str) -> Path:
    """``schemas/<vendor_id>/``, wherever the vendor was found."""
    for schemas in (data_dir("schemas"), *(root / "schemas" for root in extra_roots())):
        if (schemas / vendor_id / "index.json").is_file():
            return schemas / vendor_id
    raise ValueError(f"unknown vendor {vendor_id!r}; known: {', '.join(vendor_ids())}")


def fixture_file(vendor_id: str) -> Path:
    """``fixtures/<vendor_id>.json`` next to the vendor's schema folder."""
    return schema_folder(vendor_id).parent.parent / "fixtures" / f"{vendor_id}.json"


def vendor_module_dirs() -> list[str]:
    """Where ``mockattr.vendors`` looks for vendor modules besides its own folder."""
    return [str(root / "vendors") for root in extra_roots()]
