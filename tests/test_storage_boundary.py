"""Stores own the database: the entry points, views, services and the scheduler open no
transaction and touch no engine; they call store functions that take the database.

The import-linter contract keeps SQLAlchemy and the ORM models out of these packages; this test
covers what an import check cannot see, a `db.read()`, `db.session()`, `db.write()` or
`db.engine` on the `Database` handle they are given.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ABOVE_THE_STORES = (
    "core/api",
    "core/cli",
    "core/scheduling",
    "core/services",
    "core/views",
    "dashboard",
    "pages",
)
DATABASE_DOORS = {"read", "session", "write", "engine"}


def database_doors(source: str) -> list[tuple[int, str]]:
    """(line, `x.db.door`) for every use of a transaction or the engine on a `….db` handle."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Attribute) and node.attr in DATABASE_DOORS):
            continue
        owner = node.value
        name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", None)
        if name == "db":
            found.append((node.lineno, f"{ast.unparse(owner)}.{node.attr}"))
    return found


def test_the_check_sees_a_transaction_and_the_engine() -> None:
    source = "def f(ctx, db):\n    with ctx.db.read() as s:\n        pass\n    db.engine.dispose()\n"
    assert database_doors(source) == [(2, "ctx.db.read"), (4, "db.engine")]
    assert database_doors("def f(ctx):\n    return store.list_pairs(ctx.db)\n") == []


@pytest.mark.parametrize("package", ABOVE_THE_STORES)
def test_no_package_above_the_stores_opens_a_transaction(package: str) -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {use}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, use in database_doors(path.read_text())
    ]
    assert offenders == [], "call a store function that takes the database instead:\n" + "\n".join(offenders)
