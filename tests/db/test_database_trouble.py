"""db.engine.database_trouble on the errors real servers raise: a PostgreSQL of the test's own
shutting down, terminating or crashing backends, out of connection slots, and unreachable; SQLite
locked; and, as bugs (500), wrong statements and arguments on both."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import exc, text
from sqlalchemy.dialects.postgresql.asyncpg import (
    AsyncAdapt_asyncpg_connection,
    AsyncAdapt_asyncpg_dbapi,
)
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from db.engine import database_trouble, is_lost_connection
from tests.db.statements import execute, failure
from tests.utils.ports import free_port
from tests.utils.postgres_server import PostgresServer

READY_SECONDS = 20.0


def sqlstates(error: BaseException) -> list[str | None]:
    """The SQLSTATEs down the error's chain: SQLAlchemy's wrapper, its adapter, asyncpg."""
    found: list[str | None] = []
    current: BaseException | None = error
    while current is not None and len(found) < 6:
        found.append(getattr(current, "sqlstate", None))
        current = getattr(current, "orig", None) or current.__cause__
    return found


async def raw(postgres: PostgresServer) -> asyncpg.Connection:
    return await asyncpg.connect(postgres.url().replace("+asyncpg", ""), timeout=5)


async def wait_ready(postgres: PostgresServer) -> None:
    """Until the server accepts connections again (after a crash it recovers by itself)."""
    deadline = asyncio.get_running_loop().time() + READY_SECONDS
    while True:
        try:
            await (await raw(postgres)).close()
            return
        except (OSError, asyncpg.PostgresError):
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.05)


@pytest.fixture
async def engine(restartable_postgres: PostgresServer) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(restartable_postgres.url(), poolclass=NullPool)
    yield engine
    await engine.dispose()


async def test_shutting_down_is_unavailable(
    restartable_postgres: PostgresServer, engine: AsyncEngine
) -> None:
    """A smart shutdown waits for open sessions, refusing new ones meanwhile: "the database
    system is shutting down" (57P03), which SQLAlchemy raises as a plain DBAPIError."""
    held = await raw(restartable_postgres)
    try:
        await asyncio.to_thread(restartable_postgres.stop, "smart", wait=False)
        error = await failure(_refused_while_stopping(engine))
    finally:
        await held.close()  # the last session: the shutdown completes
        await asyncio.to_thread(restartable_postgres.wait_stopped)
    assert type(error) is exc.DBAPIError, repr(error)
    assert "shutting down" in str(error)
    assert "57P03" in sqlstates(error)
    assert not is_lost_connection(error)
    assert database_trouble(error) == "unavailable"


async def _refused_while_stopping(engine: AsyncEngine) -> None:
    """Connects until the server refuses: the smart stop is signalled asynchronously."""
    for _ in range(200):
        await execute(engine)
        await asyncio.sleep(0.01)


async def test_a_stopped_server_is_unavailable(
    restartable_postgres: PostgresServer, engine: AsyncEngine
) -> None:
    await asyncio.to_thread(restartable_postgres.stop, "immediate")
    error = await failure(execute(engine))
    assert isinstance(error, ConnectionRefusedError)
    assert database_trouble(error) == "unavailable"


async def test_nothing_listening_is_unavailable() -> None:
    engine = create_async_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/x")
    try:
        error = await failure(execute(engine))
    finally:
        await engine.dispose()
    assert database_trouble(error) == "unavailable"


async def test_a_terminated_backend_is_a_lost_connection(
    restartable_postgres: PostgresServer, engine: AsyncEngine
) -> None:
    """`pg_ctl stop -m fast` and `pg_terminate_backend` end sessions with 57P01. What the next
    statement raises depends on a race with that message: asyncpg's ConnectionDoesNotExistError
    (08003) from AdminShutdownError (57P01), its InterfaceError "connection is closed", or its
    InternalClientError "cannot switch to state 11"; each is a lost connection."""
    async with engine.connect() as connection:
        pid = (await connection.exec_driver_sql("SELECT pg_backend_pid()")).scalar()
        killer = await raw(restartable_postgres)
        try:
            assert await killer.fetchval("SELECT pg_terminate_backend($1)", pid)
        finally:
            await killer.close()
        error = await failure(connection.exec_driver_sql("SELECT 1"))
    assert isinstance(error, exc.DBAPIError)
    assert is_lost_connection(error)
    assert database_trouble(error) == "unavailable"


async def test_a_crashed_backend_ends_every_session(
    restartable_postgres: PostgresServer, engine: AsyncEngine
) -> None:
    """A backend killed by a signal makes PostgreSQL end every other session (57P02) and
    recover; sessions in the meantime are refused (57P03)."""
    async with engine.connect() as connection:
        await connection.exec_driver_sql("SELECT 1")
        victim = await raw(restartable_postgres)
        os.kill(victim.get_server_pid(), signal.SIGKILL)
        victim.terminate()
        error = await failure(connection.exec_driver_sql("SELECT pg_sleep(5)"))
    assert isinstance(error, exc.DBAPIError)
    assert set(sqlstates(error)) & {"57P02", "08003", "08006"}, sqlstates(error)
    assert database_trouble(error) == "unavailable"
    await wait_ready(restartable_postgres)


async def test_no_connection_slot_left_is_unavailable(
    restartable_postgres: PostgresServer, engine: AsyncEngine
) -> None:
    held: list[asyncpg.Connection] = []
    try:
        error = None
        while error is None and len(held) <= restartable_postgres.max_connections:
            try:
                await execute(engine)
            except exc.DBAPIError as refused:
                error = refused
                break
            held.append(await raw(restartable_postgres))
    finally:
        await asyncio.gather(*(connection.close() for connection in held))
    assert error is not None
    assert "53300" in sqlstates(error)
    assert database_trouble(error) == "unavailable"


async def test_a_pool_that_runs_dry_is_busy(restartable_postgres: PostgresServer) -> None:
    engine = create_async_engine(
        restartable_postgres.url(), pool_size=1, max_overflow=0, pool_timeout=0.1
    )
    try:
        async with engine.connect():
            error = await failure(execute(engine))
    finally:
        await engine.dispose()
    assert isinstance(error, exc.TimeoutError)
    assert database_trouble(error) == "busy"


def test_asyncpg_confused_by_a_dying_connection_is_unavailable() -> None:
    """asyncpg's "cannot switch to state 12": a connection that died under an operation (a
    restart, or the race above), where SQLAlchemy usually flags it as a lost connection too.
    No server raises it on demand, so it is made here, unflagged (the class alone must say it),
    and goes through SQLAlchemy's own translation, as it does when raised."""
    confused = asyncpg.InternalClientError("cannot switch to state 12; another operation (2)")
    with pytest.raises(AsyncAdapt_asyncpg_dbapi.Error) as adapted:
        AsyncAdapt_asyncpg_connection._handle_exception_no_connection(
            AsyncAdapt_asyncpg_dbapi(asyncpg),  # type: ignore[no-untyped-call]  # untyped there
            confused,
        )
    error = exc.DBAPIError.instance("SELECT 1", None, adapted.value, AsyncAdapt_asyncpg_dbapi.Error)
    assert isinstance(error, exc.InternalError)
    assert not error.connection_invalidated
    assert database_trouble(error) == "unavailable"


@pytest.mark.parametrize(
    ("sql", "params"),
    [
        ("SELEC 1", ()),  # syntax error, 42601
        ("SELECT 1 / 0", ()),  # division by zero, 22012
        ("SELECT $1::int", ("one",)),  # a value of the wrong type
        ("SELECT $1::int", (1, 2)),  # a wrong argument count: asyncpg's InterfaceError
        ("SELECT * FROM no_such_table", ()),  # 42P01
    ],
)
async def test_bugs_are_not_database_trouble(
    engine: AsyncEngine, sql: str, params: tuple[Any, ...]
) -> None:
    error = await failure(execute(engine, sql, *params))
    assert isinstance(error, exc.DBAPIError)
    assert database_trouble(error) is None


async def test_a_unique_violation_is_a_bug(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TEMPORARY TABLE once (id int PRIMARY KEY)"))
        await connection.execute(text("INSERT INTO once VALUES (1)"))
        error = await failure(connection.execute(text("INSERT INTO once VALUES (1)")))
    assert isinstance(error, exc.IntegrityError)
    assert database_trouble(error) is None


async def test_sqlite_locked_is_unavailable_and_wrong_statements_are_bugs(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'trouble.db'}"
    # timeout: SQLite's busy timeout, 0 here so that the second writer fails at once.
    writer, other = (create_async_engine(url, connect_args={"timeout": 0}) for _ in range(2))
    try:
        async with writer.begin() as connection:
            await connection.exec_driver_sql("CREATE TABLE t (id int)")
        async with writer.connect() as holding:
            await holding.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock, held
            locked = await failure(execute(other, "INSERT INTO t VALUES (1)"))
            await holding.rollback()
        syntax = await failure(execute(other, "SELEC 1"))
        missing = await failure(execute(other, "SELECT * FROM no_such_table"))
        binding = await failure(execute(other, "SELECT ?", object()))
    finally:
        await writer.dispose()
        await other.dispose()
    assert isinstance(locked, exc.OperationalError)
    assert isinstance(locked.orig, sqlite3.OperationalError)
    assert "locked" in str(locked)
    assert database_trouble(locked) == "unavailable"
    for bug in (syntax, missing, binding):
        assert isinstance(bug, exc.DBAPIError)
        assert database_trouble(bug) is None, bug
