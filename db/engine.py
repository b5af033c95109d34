"""Engine and session factory: short units of work, one session per unit of work."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Literal

from sqlalchemy import event, exc
from sqlalchemy.engine.interfaces import DBAPIConnection, ExceptionContext
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from observability.sql import count_statements_per_request
from settings import Settings


def engine_options(settings: Settings) -> dict[str, Any]:
    """Fail fast: a database that is down or a full pool is an error in seconds, not a hang."""
    options: dict[str, Any] = {"pool_timeout": settings.db_pool_timeout_seconds}
    if settings.database_url.startswith("postgresql"):
        options |= {
            "pool_size": settings.db_pool_size,
            "max_overflow": settings.db_max_overflow,
            # asyncpg: seconds to connect, and the longest one statement may run.
            "connect_args": {
                "timeout": settings.db_connect_timeout_seconds,
                "command_timeout": settings.db_statement_timeout_seconds,
            },
        }
    return options


def is_busy(error: BaseException) -> bool:
    """No pooled connection came free within DB_POOL_TIMEOUT_SECONDS: the database is fine, this
    process has more work in flight than connections."""
    return isinstance(error, exc.TimeoutError)


def is_lost_connection(error: BaseException) -> bool:
    """A pooled connection turned out dead (the server restarted): SQLAlchemy has emptied the
    pool, and the same work on a new connection may well succeed."""
    return isinstance(error, exc.DBAPIError) and error.connection_invalidated


def is_unavailable(error: BaseException) -> bool:
    """The database could not be reached or dropped the connection (an outage, not a full pool)."""
    if isinstance(error, OSError):  # refused, unreachable, timed out
        return True
    return isinstance(error, exc.DBAPIError) and (
        error.connection_invalidated or isinstance(error, exc.OperationalError | exc.InterfaceError)
    )


def database_trouble(error: BaseException) -> Literal["busy", "unavailable"] | None:
    """Whether a failure is a state of the database rather than a bug: "busy" (no pooled
    connection in time) or "unavailable" (unreachable); such states are answered 503 and logged
    in one line, as they may last for many requests."""
    if is_busy(error):
        return "busy"
    return "unavailable" if is_unavailable(error) else None


def create_engine(
    url: str, *, pre_ping: bool = True, count_statements: bool = True, **kwargs: Any
) -> AsyncEngine:
    pre_ping = pre_ping and not url.startswith("sqlite")
    engine = create_async_engine(url, pool_pre_ping=pre_ping, **kwargs)
    if count_statements:
        count_statements_per_request(engine)  # into each request's log line
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "handle_error", _close_interrupted_cursor)
    return engine


def create_reader(settings: Settings) -> AsyncEngine:
    """An engine for single read-only statements: autocommit, so a statement is one round trip
    (no BEGIN, no ROLLBACK), and no ping before each checkout (three round trips with asyncpg
    outside autocommit). Its callers retry on `engine` when it fails, so a connection that died
    with the server costs one fallback, and SQLAlchemy then replaces the whole pool. Its one
    caller (fastpath/) counts the statements it sends into the request's log line itself."""
    options = engine_options(settings)
    if "pool_size" in options:
        # Cheap idle connections, dear new ones: keep every connection it may open.
        options |= {
            "pool_size": settings.db_pool_size + settings.db_max_overflow,
            "max_overflow": 0,
        }
    return create_engine(
        settings.database_url,
        isolation_level="AUTOCOMMIT",
        pre_ping=False,
        count_statements=False,
        **options,
    )


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _: ConnectionPoolEntry) -> None:
    # SQLite leaves foreign keys off by default; WAL and a busy timeout let the API's
    # concurrent sessions (and a second process) read while one writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _close_interrupted_cursor(context: ExceptionContext) -> None:
    """Close the cursor of a statement whose task was cancelled, before its connection goes.

    Cancelling a task (a WebSocket closing under a mutation, a timeout) cannot stop a statement
    already handed to aiosqlite's thread: it still runs, and an `INSERT/UPDATE ... RETURNING` or
    an unread SELECT stays open in its cursor. SQLAlchemy then treats the cancellation as a lost
    connection and closes it without closing that cursor, and SQLite keeps a connection closed
    under a live statement open (a "zombie"), with its transaction (after a write, the write
    lock) until the cursor is garbage-collected: every other write then failed with "database is
    locked" for seconds to minutes. Closed first, the statement ends, and closing the connection
    rolls its transaction back whole.
    """
    # `context.cursor` is documented but never set (SQLAlchemy 2.1.9): the statement's own.
    statement = context.execution_context
    if statement is None or not isinstance(context.original_exception, asyncio.CancelledError):
        return
    # Queued on the connection's thread behind the statement, so it runs even if this wait is
    # cancelled again. Any failure here must not replace the cancellation being raised.
    with contextlib.suppress(Exception):
        statement.cursor.close()


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
