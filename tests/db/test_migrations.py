"""Migrations run both ways on both backends, and the models match them exactly."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import JSON, Connection, column, insert, select, table, text

from db.engine import create_engine
from db.models import Base
from db.types import UTCDateTime, utcnow
from tests.utils.databases import (
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


def _change(url: str, work: Callable[[Connection], T]) -> T:
    async def run() -> T:
        engine = create_engine(url)
        async with engine.begin() as conn:
            result = await conn.run_sync(work)
        await engine.dispose()
        return result

    return asyncio.run(run())


# The tables as the job arguments migration finds them.
_users = table("users", column("id"), column("email"), column("name"), column("password_hash"))
_jobs = table(
    "jobs",
    column("id"),
    column("kind"),
    column("user_id"),
    column("status"),
    column("enqueued_at", UTCDateTime()),
    column("arguments", JSON()),
)
_outbox = table(
    "outbox",
    column("id"),
    column("topic"),
    column("payload", JSON()),
    column("created_at", UTCDateTime()),
)
BEFORE_JOB_ARGUMENTS = "da7a0e5a0013"


def test_job_arguments_migration_keeps_the_jobs_waiting_in_the_outbox(empty_database: str) -> None:
    """Recorded jobs get their call ({"user_id": ...}), and the outbox's job messages go from
    {"argument": the record's id, or a welcome's user id} to {"arguments": ...}, and back."""
    config = alembic_config(empty_database)
    command.upgrade(config, BEFORE_JOB_ARGUMENTS)
    report, gone, welcome = "report-job", "gone-job", "welcome-job"

    def before(conn: Connection) -> int:
        user_id: int = conn.execute(
            insert(_users)
            .values(email="a@example.com", name="A", password_hash="x")
            .returning(_users.c.id)
        ).scalar_one()
        row = {"kind": "build_trade_report", "user_id": user_id, "status": "queued"}
        conn.execute(insert(_jobs).values(id=report, enqueued_at=utcnow(), **row))
        conn.execute(
            insert(_outbox),
            [
                {"topic": "job", "payload": payload, "created_at": utcnow()}
                for payload in (
                    {"kind": "build_trade_report", "job_id": report, "argument": report},
                    {"kind": "build_trade_report", "job_id": gone, "argument": gone},
                    {"kind": "send_welcome", "job_id": welcome, "argument": user_id},
                )
            ],
        )
        return user_id

    def messages(conn: Connection) -> list[dict[str, Any]]:
        query = select(_outbox.c.payload).where(_outbox.c.topic == "job").order_by(_outbox.c.id)
        return [row.payload for row in conn.execute(query)]

    def arguments(conn: Connection) -> list[tuple[str, Any]]:
        return [
            (row.id, row.arguments) for row in conn.execute(select(_jobs.c.id, _jobs.c.arguments))
        ]

    user_id = _change(empty_database, before)
    command.upgrade(config, "head")

    assert _inspect(empty_database, arguments) == [(report, {"user_id": user_id})]
    # The record of the second report went with its account: nothing is left to run.
    assert _inspect(empty_database, messages) == [
        {"kind": "build_trade_report", "job_id": report, "arguments": {"user_id": user_id}},
        {"kind": "send_welcome", "job_id": welcome, "arguments": {"user_id": user_id}},
    ]

    command.downgrade(config, BEFORE_JOB_ARGUMENTS)
    assert _inspect(empty_database, messages) == [
        {"kind": "build_trade_report", "job_id": report, "argument": report},
        {"kind": "send_welcome", "job_id": welcome, "argument": user_id},
    ]
