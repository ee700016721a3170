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
SERVER_MODULES = ("flask", "uvicorn", "sqlite3", "mockattr.server", "mockattr.serving")


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


LAYERS = ["contract", "vendors", "strategies", "server", "checking", "serving", "testing", "cli"]
"""ARCHITECTURE.md's layers, lowest first. ``ALLOWED`` says which each may import: its own and lower ones,
never a sibling (the server and the checker know nothing of each other), and all of them the root package
for ``VENDOR_IDS`` and ``__version__``. A vendor's own modules may use the contract, the vendors layer, the
strategies and the checker, never the server."""
ALLOWED = {
    "contract": {"contract"},
    "vendors": {"contract", "vendors"},
    "strategies": {"contract", "vendors", "strategies"},
    "server": {"contract", "vendors", "server"},
    "checking": {"contract", "vendors", "strategies", "checking"},
    "serving": {"contract", "server", "serving"},
    "testing": {"contract", "vendors", "strategies", "server", "serving", "checking", "testing"},
    "cli": set(LAYERS),
    "a vendor": {"contract", "vendors", "strategies", "checking", "a vendor"},
}


def layer_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in ("__init__", "__main__"):
        return "root"
    if parts[1] == "vendors" and len(parts) > 2:
        return "a vendor"
    return parts[1]


def imports_of(path: Path) -> set[str]:
    """Every mockattr module ``path`` imports, at any depth (function-level imports too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mockattr"):
            found |= {f"{node.module}.{a.name}" if node.module == "mockattr" else node.module for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("mockattr")}
    return {name for name in found if name not in ("mockattr.VENDOR_IDS", "mockattr.__version__")}


def test_every_module_sits_in_a_layer() -> None:
    for path in PACKAGE.rglob("*.py"):
        layer = layer_of(".".join(("mockattr", *path.relative_to(PACKAGE).with_suffix("").parts)))
        assert layer in ALLOWED or layer == "root", f"{path.relative_to(PACKAGE)} is in no layer of ARCHITECTURE.md"


def test_imports_go_down_the_layers_only() -> None:
    broken = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(("mockattr", *path.relative_to(PACKAGE).with_suffix("").parts))
        layer = layer_of(module)
        if layer == "root":
            continue
        for imported in imports_of(path):
            target = layer_of(imported)
            if target != "root" and target not in ALLOWED[layer]:
                broken.append(f"{path.relative_to(PACKAGE)} ({layer}) imports {imported} ({target})")
    assert broken == []


def test_no_import_cycle() -> None:
    """Not even through an import inside a function."""
    modules = {
        ".".join(("mockattr", *path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__"): path
        for path in PACKAGE.rglob("*.py")
    }
    graph = {name: {m for m in imports_of(path) if m in modules and m != name} for name, path in modules.items()}
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        assert name not in path, "import cycle: " + " -> ".join([*path[path.index(name) :], name])
        if name in done:
            return
        for imported in sorted(graph[name]):
            visit(imported, [*path, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


def test_no_two_classes_share_a_name() -> None:
    seen: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                where = str(path.relative_to(PACKAGE))
                assert node.name not in seen, f"class {node.name} in {seen.get(node.name)} and {where}"
                seen[node.name] = where
