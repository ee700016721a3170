"""The package's shape, as ARCHITECTURE.md states it: the public API, which modules load which, and no
private name used across modules."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import mockattr

PACKAGE = Path(mockattr.__file__).parent
SERVER_MODULES = ("flask", "waitress", "sqlite3", "mockattr.runtime", "mockattr.app", "mockattr.store")


def loaded_after(statement: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``statement``."""
    code = f"import sys, json\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    return set(json.loads(result.stdout))


@pytest.mark.parametrize(
    "statement", ["import mockattr", "import mockattr.strategies", "from mockattr.strategies import valid_requests"]
)
def test_the_strategies_load_no_server_code(statement: str) -> None:
    loaded = loaded_after(statement)
    assert not [name for name in SERVER_MODULES if name in loaded]


def test_every_public_name_resolves() -> None:
    for name in mockattr.__all__:
        assert getattr(mockattr, name) is not None
    with pytest.raises(AttributeError):
        _ = mockattr.no_such_name


def test_the_package_is_typed() -> None:
    assert (PACKAGE / "py.typed").is_file()


def test_no_private_name_is_imported_across_modules() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mockattr"):
                found += [
                    f"{path.relative_to(PACKAGE)}: {alias.name}"
                    for alias in node.names
                    if alias.name.startswith("_") and alias.name != "__version__"
                ]
    assert found == []
