"""web.lifespan_report on the ASGI lifespan messages uvicorn reads: a start-up problem's failure
carries its one line, a bug's (or any with LOG_LEVEL=debug) Starlette's traceback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.types import Message

from startup import StartupProblem
from web.lifespan_report import LifespanReport

LINE = "DATABASE_URL=sqlite+aiosqlite:///x.db: the database is not migrated: run `make migrate`"


def failing_app(error: Exception, *, debug: bool) -> LifespanReport:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        raise error
        yield  # a generator, as every lifespan is

    return LifespanReport(Starlette(lifespan=lifespan), debug=debug)


async def start(app: LifespanReport) -> list[Message]:
    """What uvicorn is sent when it asks the app to start (the app then raises, as here)."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: dict[str, Any] = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    with pytest.raises(Exception):  # noqa: B017 - whichever the lifespan raised
        await app(scope, receive, send)
    return sent


async def test_a_start_up_problem_fails_with_its_line() -> None:
    sent = await start(failing_app(StartupProblem(LINE), debug=False))
    assert sent == [{"type": "lifespan.startup.failed", "message": LINE}]


async def test_a_bug_keeps_its_traceback() -> None:
    (failed,) = await start(failing_app(RuntimeError("a bug"), debug=False))
    assert failed["type"] == "lifespan.startup.failed"
    assert failed["message"].startswith("Traceback (most recent call last)")
    assert "RuntimeError: a bug" in failed["message"]


async def test_debug_logging_keeps_the_traceback_of_a_problem_too() -> None:
    (failed,) = await start(failing_app(StartupProblem(LINE), debug=True))
    assert failed["message"].startswith("Traceback (most recent call last)")
    assert LINE in failed["message"]
