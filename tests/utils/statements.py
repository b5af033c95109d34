"""Counting what the app sends to the database (SQLite PRAGMAs left out), and which path
answered each request."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

# Set inside the block, and so in the tasks it starts (a request's): the app's background tasks
# (the feed's poll, the relay) were started before and are not counted.
_recording: ContextVar[list[str] | None] = ContextVar("recording", default=None)


@contextmanager
def recorded_statements(*engines: AsyncEngine) -> Iterator[list[str]]:
    """The SQL statements the engines (`services.engine` for the general path,
    `services.reader` for compiled queries) execute inside the block, for its own work."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if _recording.get() is statements and not statement.lstrip().upper().startswith("PRAGMA"):
            statements.append(statement)

    for engine in engines:
        event.listen(engine.sync_engine, "before_cursor_execute", record)
    token = _recording.set(statements)
    try:
        yield statements
    finally:
        _recording.reset(token)
        for engine in engines:
            event.remove(engine.sync_engine, "before_cursor_execute", record)


@contextmanager
def answered_by(operation: str | None = None) -> Iterator[list[bool]]:
    """Whether each request inside the block (of the named operation only, when given) was
    answered by the compiled path, as its log line says (a compiled statement that failed is
    answered by the general path, after it)."""
    paths: list[bool] = []

    class Paths(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if operation is None or record.__dict__["operation_name"] == operation:
                paths.append(record.__dict__["compiled"])

    logger = logging.getLogger("trading_api.requests")
    handler, level = Paths(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield paths
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
