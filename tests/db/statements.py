"""Running one statement and catching what it raises, for the database-trouble tests."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine


async def failure(call: Awaitable[Any]) -> BaseException:
    """The exception an awaitable raises (it must raise)."""
    with pytest.raises(Exception) as caught:
        await call
    return caught.value


async def execute(engine: AsyncEngine, sql: str = "SELECT 1", *params: Any) -> None:
    async with engine.connect() as connection:
        await connection.exec_driver_sql(sql, params or None)
