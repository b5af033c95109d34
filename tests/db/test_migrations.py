"""Migrations run both ways on both backends, and the models match them exactly."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, text

from db.engine import create_engine
from db.models import Base
from tests.databases import (
    PostgresTemplate,
    alembic_config,
    postgres_url,
    require_postgres,
    sqlite_url,
)

T = TypeVar("T")


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "empty.db")
        return
    require_postgres()
    name = f"trading_test_empty_{uuid.uuid4().hex[:8]}"
    PostgresTemplate.run(f'CREATE DATABASE "{name}"')
    yield postgres_url(name)
    PostgresTemplate.drop(name)


def _inspect(url: str, check: Callable[[Connection], T]) -> T:
    async def run() -> T:
        engine = create_engine(url)
        async with engine.connect() as conn:
            result = await conn.run_sync(check)
        await engine.dispose()
        return result

    return asyncio.run(run())


def _tables(conn: Connection) -> set[str]:
    return set(conn.dialect.get_table_names(conn)) - {"alembic_version"}


def _roles(conn: Connection) -> list[tuple[int, str]]:
    rows = conn.execute(text("SELECT id, name FROM roles ORDER BY id"))
    return [(row.id, row.name) for row in rows]


def _diff(conn: Connection) -> list[object]:
    context = MigrationContext.configure(
        conn, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, Base.metadata))


def test_upgrade_downgrade_upgrade(empty_database: str) -> None:
    config = alembic_config(empty_database)
    command.upgrade(config, "head")
    assert _inspect(empty_database, _tables) == set(Base.metadata.tables)
    assert _inspect(empty_database, _roles) == [(1, "user"), (2, "admin")]
    command.downgrade(config, "base")
    assert _inspect(empty_database, _tables) == set()
    command.upgrade(config, "head")
    assert _inspect(empty_database, _roles) == [(1, "user"), (2, "admin")]


def test_models_match_migrations(empty_database: str) -> None:
    """Autogenerate finds nothing to do: every model change comes with its migration."""
    command.upgrade(alembic_config(empty_database), "head")
    assert _inspect(empty_database, _diff) == []


def test_migration_files_are_dated() -> None:
    versions = Path(__file__).resolve().parents[2] / "migrations" / "versions"
    names = [p.name for p in versions.glob("*.py")]
    assert names
    for name in names:
        date, _, rest = name.partition("-")
        assert len(date) == len("2026_11_28_1200") and date[:4].isdigit(), name
        assert rest.endswith(".py")
