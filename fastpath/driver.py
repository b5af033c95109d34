"""The compiled path's statements, sent on the reader's pooled connections as directly as their
driver allows.

With asyncpg, straight to the driver's connection: SQLAlchemy's async adapter around it (a
greenlet switch, its cursor, result and row objects) was ~13% of a compiled `point` request's
server CPU, for statements that need none of it (text in, one row or one value out). The pool
stays SQLAlchemy's, so a connection found dead is invalidated there, as its adapter would, and
listeners of the engine's `before_cursor_execute` (the tests' statement counters) still hear
of each statement.
SQLite goes through `exec_driver_sql`: aiosqlite runs each call on its thread either way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


class LostConnection(Exception):
    """The pooled connection turned out dead (the server restarted): it has been thrown away,
    and the same work may well succeed on a new one."""


async def fetch_row(
    engine: AsyncEngine, sql: str, parameters: Sequence[object]
) -> Mapping[Any, Any] | None:
    """The first row, by column name; None when there is none."""
    async with engine.connect() as connection:
        if engine.dialect.driver != "asyncpg":
            row = (await connection.exec_driver_sql(sql, tuple(parameters))).first()
            return None if row is None else row._mapping
        record: Mapping[Any, Any] | None = await _asyncpg(connection, "fetchrow", sql, parameters)
        return record


async def fetch_value(engine: AsyncEngine, sql: str, parameters: Sequence[object]) -> Any:
    """The first column of the first row; None when there is none."""
    async with engine.connect() as connection:
        if engine.dialect.driver != "asyncpg":
            return (await connection.exec_driver_sql(sql, tuple(parameters))).scalar()
        return await _asyncpg(connection, "fetchval", sql, parameters)


async def _asyncpg(
    connection: AsyncConnection, method: str, sql: str, parameters: Sequence[object]
) -> Any:
    driver = (await connection.get_raw_connection()).driver_connection
    announce = connection.engine.sync_engine.dispatch.before_cursor_execute
    if announce:  # listened to in tests only: nothing to pay for otherwise
        announce(connection.sync_connection, None, sql, parameters, None, False)
    try:
        return await getattr(driver, method)(sql, *parameters)
    except Exception as error:
        if driver is not None and driver.is_closed():
            await connection.invalidate()
            raise LostConnection(str(error)) from error
        raise
