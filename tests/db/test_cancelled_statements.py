"""A unit of work cancelled inside a statement rolls back whole and leaves SQLite writable at once.

Cancelling the task cannot stop a statement aiosqlite's thread has started: here it waits for the
write lock another connection holds, the task is cancelled, the lock is released, and the
`UPDATE ... RETURNING` runs with nobody left to read its row.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from db import users
from db.engine import create_engine, create_session_factory
from db.models import USER_ROLE_ID
from tests.utils.databases import copy_sqlite


def writable(path: Path) -> bool:
    """Whether another connection may start writing now, without waiting."""
    other = sqlite3.connect(path, timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:  # database is locked
        return False
    finally:
        other.close()
    return True


async def test_statement_cancelled_mid_way_rolls_back_and_releases_the_lock(
    sqlite_template: Path, tmp_path: Path
) -> None:
    path = tmp_path / "cancelled.db"
    engine = create_engine(copy_sqlite(sqlite_template, path))
    sessions = create_session_factory(engine)
    try:
        async with sessions.begin() as session:
            user = await users.create_user(
                session,
                email="a@example.com",
                name="Before",
                password_hash="x",
                role_id=USER_ROLE_ID,
            )

        async def rename() -> None:
            async with sessions.begin() as session:
                await users.rename_user(session, user.id, "After")

        holder = sqlite3.connect(path)
        holder.execute("BEGIN IMMEDIATE")  # the rename's UPDATE waits for this in its thread
        task = asyncio.create_task(rename())
        await asyncio.sleep(0.3)
        task.cancel()
        holder.rollback()
        holder.close()
        with pytest.raises(asyncio.CancelledError):
            await task

        assert writable(path)
        async with sessions() as session:
            assert (await users.users_by_ids(session, [user.id]))[0].name == "Before"
    finally:
        await engine.dispose()
