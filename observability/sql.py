"""SQL statements per request, and connections in use, counted at the engine."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from observability import metrics, record


def instrument(engine: AsyncEngine, *, count_statements: bool = True) -> None:
    """Count this engine's statements into the current request and its pool use into metrics.

    `count_statements=False` for an engine whose callers count their own statements
    (`record.count_statement`): any statement listener sends every statement through
    SQLAlchemy's event dispatch, which the compiled path's single statement notices."""
    sync_engine = engine.sync_engine
    if count_statements:
        event.listen(sync_engine, "before_cursor_execute", _count_statement)
    event.listen(sync_engine, "checkout", _checked_out)
    event.listen(sync_engine, "checkin", _checked_in)


def _count_statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    # SQLite's per-connection PRAGMAs are set-up, not the request's work.
    if not statement.startswith("PRAGMA"):
        record.count_statement()


def _checked_out(*_args: Any) -> None:
    metrics.DB_CONNECTIONS_IN_USE.inc()


def _checked_in(*_args: Any) -> None:
    metrics.DB_CONNECTIONS_IN_USE.dec()
