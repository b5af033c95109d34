"""Engine and session factory: short units of work, one session per unit of work."""

from __future__ import annotations

import asyncio
import contextlib
import sys
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


# SQLSTATEs of a PostgreSQL server going away, not there yet, or out of connection slots
# (errcodes-appendix): class 08 is "connection exception" (08003 connection does not exist,
# 08006 connection failure...); 57P01 admin shutdown (`pg_ctl stop -m fast`, a terminated
# backend), 57P02 crash shutdown (another backend crashed), 57P03 cannot connect now ("the
# database system is shutting down", "... is starting up", "... is in recovery mode"); 53300 too
# many connections. asyncpg's exceptions carry `sqlstate`, and so do SQLAlchemy's wrappers of them.
UNAVAILABLE_SQLSTATE_CLASSES = ("08",)
UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
# SQLite's primary result codes for a database file locked by another writer beyond the busy
# timeout, unreadable, unopenable or full: the file's state, not the statement's fault (a syntax
# error or a missing table is SQLITE_ERROR, 1: a bug).
SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN = 5, 6, 10, 13, 14
UNAVAILABLE_SQLITE_CODES = frozenset(
    {SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN}
)
# SQLSTATEs of a server that answered and refused the connection (errcodes-appendix): 3D000
# invalid_catalog_name, no database of that name; class 28, invalid authorization specification:
# 28000 for a role that does not exist, may not log in, or that pg_hba.conf turns away, 28P01 for
# a wrong password. Settings to fix, not outages: start-up says which (startup.py).
MISSING_DATABASE_SQLSTATE = "3D000"
REFUSED_LOGIN_SQLSTATE_CLASS = "28"
# How far down a driver error's chain of causes to look (SQLAlchemy's adapter error, then
# asyncpg's, then the socket error under it).
CAUSE_DEPTH = 4


def is_busy(error: BaseException) -> bool:
    """No pooled connection came free within DB_POOL_TIMEOUT_SECONDS: the database is fine, this
    process has more work in flight than connections."""
    return isinstance(error, exc.TimeoutError)


def is_lost_connection(error: BaseException) -> bool:
    """A pooled connection turned out dead (the server restarted): SQLAlchemy has emptied the
    pool, and the same work on a new connection may well succeed."""
    return isinstance(error, exc.DBAPIError) and error.connection_invalidated


def is_unavailable(error: BaseException) -> bool:
    """The database could not be reached, dropped the connection, is shutting down or starting
    up, or has no connection slot left: an outage that retrying later heals, not a bug.

    Decided by the driver's error (SQLSTATE, SQLite result code, class), never by SQLAlchemy's
    wrapper class: asyncpg's "the database system is shutting down" arrives as a plain
    DBAPIError, and an InterfaceError may be a wrong argument count (a bug)."""
    if not isinstance(error, exc.DBAPIError):
        return _driver_unavailable(error)  # a socket's error, or the driver's own unwrapped
    # SQLAlchemy found the connection closed under the statement (asyncpg's InterfaceError
    # "connection is closed" among others) and has thrown the pool's connections away.
    return error.connection_invalidated or any(map(_driver_unavailable, _causes(error.orig)))


def refusal(error: BaseException) -> Literal["no database", "not authorized"] | None:
    """Whether the server refused the connection for what it asked: a database of that name
    does not exist, or the role or password is not accepted."""
    for cause in driver_errors(error):
        sqlstate = getattr(cause, "sqlstate", None)
        if sqlstate == MISSING_DATABASE_SQLSTATE:
            return "no database"
        if isinstance(sqlstate, str) and sqlstate.startswith(REFUSED_LOGIN_SQLSTATE_CLASS):
            return "not authorized"
    return None


def driver_errors(error: BaseException) -> list[BaseException]:
    """The driver's errors under a failure, outermost first (a socket's error, or the driver's
    own, may arrive unwrapped)."""
    return _causes(error.orig if isinstance(error, exc.DBAPIError) else error)


def _causes(error: BaseException | None) -> list[BaseException]:
    """The driver's error and what it was raised from: SQLAlchemy's asyncpg adapter wraps
    asyncpg's exception, which may wrap the socket's."""
    chain: list[BaseException] = []
    while error is not None and len(chain) < CAUSE_DEPTH and error not in chain:
        chain.append(error)
        error = error.__cause__
    return chain


def _driver_unavailable(error: BaseException) -> bool:
    if isinstance(error, OSError):  # refused, reset, unreachable, connect timed out
        return True
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(sqlstate, str) and (
        sqlstate.startswith(UNAVAILABLE_SQLSTATE_CLASSES) or sqlstate in UNAVAILABLE_SQLSTATES
    ):
        return True
    sqlite_code = getattr(error, "sqlite_errorcode", None)
    if isinstance(sqlite_code, int) and (sqlite_code & 0xFF) in UNAVAILABLE_SQLITE_CODES:
        return True
    # asyncpg's protocol state machine confused by a connection that died under an operation
    # ("cannot switch to state 12; another operation (2) is in progress"). Looked up only if
    # asyncpg is loaded: no asyncpg error can exist before, and SQLite deployments never load it.
    asyncpg = sys.modules.get("asyncpg")
    return asyncpg is not None and isinstance(error, asyncpg.InternalClientError)


def database_trouble(error: BaseException) -> Literal["busy", "unavailable"] | None:
    """Whether a failure is a state of the database rather than a bug: "busy" (no pooled
    connection in time) or "unavailable" (unreachable, restarting, out of slots); such states are
    answered 503 with Retry-After (SERVER_BUSY, SERVICE_UNAVAILABLE in GraphQL) and logged in one
    line, as they may last for many requests. The one classification every answer uses."""
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
    caller (fastpath/) counts the statements it sends into the request's log line itself; its
    statements run with generic plans (below)."""
    options = engine_options(settings)
    if "pool_size" in options:
        # Cheap idle connections, dear new ones: keep every connection it may open.
        options |= {
            "pool_size": settings.db_pool_size + settings.db_max_overflow,
            "max_overflow": 0,
        }
        # Its statements are prepared once per connection and run with new values each time.
        # PostgreSQL would plan each run again for its values (a custom plan) whenever the
        # generic plan's estimate looks worse, as LIMIT $1 OFFSET $2 always does: planning was
        # ~40% of a page statement's time and ~20% of a nested one's, for the same plan.
        options["connect_args"] = {
            **options["connect_args"],
            "server_settings": {"plan_cache_mode": "force_generic_plan"},
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
