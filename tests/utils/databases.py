"""Throwaway databases for tests: a migrated template per backend, copied for every test."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from tests.utils.needs import needed

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)


def alembic_config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url)
    config.attributes["configure_logger"] = False
    return config


def migrate(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def _pg_dsn(database: str) -> str:
    url = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql", database=database)
    return url.render_as_string(hide_password=False)


def postgres_url(database: str) -> str:
    return make_url(POSTGRES_ADMIN_URL).set(database=database).render_as_string(hide_password=False)


async def _admin(*statements: str) -> None:
    admin_db = make_url(POSTGRES_ADMIN_URL).database or "postgres"
    conn = await asyncpg.connect(_pg_dsn(admin_db), timeout=5)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def require_postgres() -> None:
    """Fail in CI, skip loudly elsewhere, when PostgreSQL is not reachable."""
    try:
        asyncio.run(_admin("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        needed(f"PostgreSQL unreachable at {POSTGRES_ADMIN_URL}: {error}")


class PostgresTemplate:
    def __init__(self) -> None:
        self.name = f"trading_test_tpl_{uuid.uuid4().hex[:8]}"

    def create(self) -> None:
        asyncio.run(_admin(f'CREATE DATABASE "{self.name}"'))
        migrate(postgres_url(self.name))

    def copy(self) -> str:
        name = f"trading_test_{uuid.uuid4().hex[:12]}"
        asyncio.run(_admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"'))
        return name

    @staticmethod
    def run(statement: str) -> None:
        asyncio.run(_admin(statement))

    @staticmethod
    def drop(name: str) -> None:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def copy_sqlite(template: Path, target: Path) -> str:
    shutil.copyfile(template, target)
    return sqlite_url(target)
