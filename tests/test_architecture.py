"""The rule of docs/architecture.md: what may import what, checked on every import of every
module of gateway/ and resolvers/ (including imports inside functions and under
TYPE_CHECKING), so that a module added next month is held to it without editing this test."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.support import ROOT

# The rooms, bottom up. A module may import its own room and the rooms listed for it.
PRIMITIVES = ("settings", "errors", "clock", "ids", "money", "deadline", "manifest")
MAY_IMPORT: dict[str, set[str]] = {
    "primitives": set(),
    "analytics": {"primitives"},
    "database": {"primitives", "analytics"},
    "telemetry": {"primitives", "database"},
    "loaders": {"primitives", "database", "telemetry"},
    "live": {"primitives", "database", "telemetry"},
    "commerce": {"primitives", "database", "telemetry", "loaders"},
    "admission": {"primitives", "database", "telemetry"},
    "context": {"primitives", "database", "telemetry", "loaders", "admission"},
    "web": {"primitives", "database", "telemetry", "loaders", "admission", "context"},
    "resolvers": {"primitives", "analytics", "database", "telemetry", "loaders", "live",
                  "commerce", "admission", "context"},
    "demo": {"primitives", "database"},
    "cli": {"primitives", "analytics", "database", "telemetry", "loaders", "live", "commerce",
            "admission", "context", "web", "resolvers", "demo"},
    "app": {"primitives", "analytics", "database", "telemetry", "loaders", "live", "commerce",
            "admission", "context", "web", "resolvers", "demo"},
}
PACKAGES = ("gateway", "resolvers")


def room(module: str) -> str:
    """The room of a module, from where it lives."""
    parts = module.split(".")
    if parts[0] == "resolvers":
        return "resolvers"
    name = parts[1] if len(parts) > 1 else ""
    if name in PRIMITIVES:
        return "primitives"
    assert name in MAY_IMPORT, f"{module} is in no room: add it to docs/architecture.md and here"
    return name


def modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            if name not in PACKAGES:  # the packages' own __init__ import nothing
                yield name, path


def existing(dotted: str) -> str:
    """The module an import names (``from a.b import c``: ``a.b.c`` if it is a module)."""
    parts = dotted.split(".")
    while parts:
        path = ROOT.joinpath(*parts)
        if path.with_suffix(".py").is_file() or (path / "__init__.py").is_file():
            return ".".join(parts)
        parts.pop()
    return ""


def imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                yield existing(f"{node.module}.{alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield existing(alias.name)


def violations(module: str, path: Path) -> list[str]:
    """The imports of ``module`` (at ``path``) that go up or sideways."""
    own = room(module)
    broken = []
    for target in imports(path):
        if not target.startswith(PACKAGES) or target in PACKAGES:
            continue
        other = room(target)
        if other != own and other not in MAY_IMPORT[own]:
            broken.append(f"{module} ({own}) imports {target} ({other})")
    return broken


def test_every_import_goes_down_the_rooms() -> None:
    assert [line for module, path in modules() for line in violations(module, path)] == []


def test_gateway_imports_resolvers_only_to_build_the_schema() -> None:
    # The app (to serve it) and the command line (export-schema, import orders run it in
    # process) are the only modules of gateway/ that import resolvers/.
    importers = {module for module, path in modules() if module.startswith("gateway")
                 and any(target.startswith("resolvers") for target in imports(path))}
    assert importers == {"gateway.app", "gateway.cli.main", "gateway.cli.imports"}


def test_an_import_upward_is_caught(tmp_path: Path) -> None:
    # Given a repository module that imports the loaders (in a function) and the schema
    path = tmp_path / "upward.py"
    path.write_text("def f():\n    from gateway.loaders import Loaders\n"
                    "    import resolvers.schema.build\n", encoding="utf-8")
    # Then both imports break the rule, and the same imports from the app do not
    assert violations("gateway.database.upward", path) == [
        "gateway.database.upward (database) imports gateway.loaders (loaders)",
        "gateway.database.upward (database) imports resolvers.schema.build (resolvers)"]
    assert violations("gateway.app", path) == []
