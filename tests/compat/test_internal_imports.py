"""Strawberry's internals are reached through compat/strawberry.py only: when an upgrade changes
one, the fix is in that module, and its tests say which one broke."""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPAT = ROOT / "compat" / "strawberry.py"
NOT_OURS = {".git", ".venv", ".tools", "node_modules", ".mypy_cache", ".ruff_cache"}
# Strawberry's documented API: the modules its documentation imports from.
PUBLIC_MODULES = frozenset(
    {
        "strawberry",
        "strawberry.dataloader",
        "strawberry.exceptions",
        "strawberry.extensions",
        "strawberry.fastapi",
        "strawberry.http",
        "strawberry.permission",
        "strawberry.schema.config",
        "strawberry.subscriptions",
        "strawberry.types",
        "strawberry.types.graphql",  # OperationType: ExecutionContext.operation_type's
        "strawberry.types.scalar",  # ScalarDefinition: what strawberry.scalar(name=...) returns
    }
)
# Strawberry's HTTP helper: the refusals its view raises and catches.
INTERNAL_PACKAGES = ("cross_web",)
# Private attributes of Strawberry's objects: strawberry.Schema's graphql-core schema.
PRIVATE_ATTRIBUTES = frozenset({"_schema"})


def internal_uses(source: str) -> list[str]:
    """Where a module's source reaches into Strawberry's internals, as `line: what`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            module, names = node.module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            module, names = "", [alias.name for alias in node.names]
        elif isinstance(node, ast.Attribute) and node.attr in PRIVATE_ATTRIBUTES:
            found.append(f"{node.lineno}: .{node.attr}")
            continue
        else:
            continue
        modules = [module] if module else names
        for name in modules:
            if _is_internal(name):
                found.append(f"{node.lineno}: {name}")
        if module.split(".")[0] == "strawberry":
            found += [f"{node.lineno}: {module}.{n}" for n in names if n.startswith("_")]
    return found


def _is_internal(module: str) -> bool:
    top = module.split(".")[0]
    return top in INTERNAL_PACKAGES or (top == "strawberry" and module not in PUBLIC_MODULES)


def _project_modules() -> Iterator[Path]:
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = sorted(set(subfolders) - NOT_OURS)
        for name in sorted(files):
            path = Path(folder, name)
            if name.endswith(".py") and path != COMPAT:
                yield path


def test_only_the_compat_module_uses_strawberry_internals() -> None:
    uses = {
        str(path.relative_to(ROOT)): found
        for path in _project_modules()
        if (found := internal_uses(path.read_text()))
    }
    assert uses == {}, "import these from compat/strawberry.py (add them there if new)"


def test_the_scan_covers_the_whole_project() -> None:
    scanned = {path.relative_to(ROOT).parts[0] for path in _project_modules()}
    assert {"schema", "resolvers", "fastpath", "tests", "main.py"} <= scanned


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("from strawberry.schema.schema import validate_document", "strawberry.schema.schema"),
        ("from strawberry.http.async_base_view import X", "strawberry.http.async_base_view"),
        ("import strawberry.asgi", "strawberry.asgi"),
        ("from cross_web import HTTPException", "cross_web"),
        ("import cross_web.exceptions", "cross_web.exceptions"),
        ("from strawberry.types import _private", "strawberry.types._private"),
        ("graphql_schema = schema._schema", "._schema"),
    ],
)
def test_an_internal_use_is_found(source: str, found: str) -> None:
    assert internal_uses(source) == [f"1: {found}"]


@pytest.mark.parametrize(
    "source",
    [
        "import strawberry",
        "from strawberry.fastapi import GraphQLRouter",
        "from strawberry.extensions import SchemaExtension",
        "from strawberry.types import Info, ExecutionContext",
        "from compat.strawberry import validate_document",
        "from .strawberry import anything",
        "strawberry.Schema(query=Query)",
    ],
)
def test_the_public_api_is_not_flagged(source: str) -> None:
    assert internal_uses(source) == []
