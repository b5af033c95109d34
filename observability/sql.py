"""SQL statements per request, counted at the engine, and connections in use, sampled."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from observability import metrics, record

SAMPLE_SECONDS = 1.0


def count_statements_per_request(engine: AsyncEngine) -> None:
    """Count this engine's statements into the current request's record.

    Engines whose callers count their own statements (`record.count_statement`) go without:
    any statement listener sends every statement through SQLAlchemy's event dispatch, which the
    compiled path's single statement notices."""
    event.listen(engine.sync_engine, "before_cursor_execute", _count_statement)


def _count_statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    # SQLite's per-connection PRAGMAs are set-up, not the request's work.
    if not statement.startswith("PRAGMA"):
        record.count_statement()


async def sample_connections(engines: Sequence[AsyncEngine]) -> None:
    """Keep the connections-in-use gauge at what the pools have checked out, read every
    SAMPLE_SECONDS until cancelled. Sampled rather than counted by checkout and checkin
    listeners, which cost every request a few percent (bench/RESULTS.md) for a value that
    is read once per scrape."""
    while True:
        metrics.DB_CONNECTIONS_IN_USE.set(sum(_checked_out(engine) for engine in engines))
        await asyncio.sleep(SAMPLE_SECONDS)


def _checked_out(engine: AsyncEngine) -> int:
    checked_out = getattr(engine.pool, "checkedout", None)  # pools without a count: none held
    return int(checked_out()) if checked_out is not None else 0
