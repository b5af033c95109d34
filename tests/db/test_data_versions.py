"""Data versions: bumped in the writing transaction, read in the session check's statement."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import data_versions, sessions, users
from db.engine import create_engine, create_session_factory
from db.models import USER_ROLE_ID

WRITERS = 20


@pytest.fixture
async def session_factory(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    yield create_session_factory(engine)
    await engine.dispose()


async def _versions(factory: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with factory() as session:
        row = (await session.execute(select(*data_versions.columns()))).one()
    return data_versions.from_mapping(row._mapping)


async def test_a_commit_bumps_its_tags_and_a_rollback_does_not(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    before = await _versions(session_factory)
    assert set(before) == {"users", "trades", "degrees"}
    async with session_factory.begin() as session:
        await data_versions.bump(session, data_versions.TRADES, data_versions.DEGREES)
        # Not visible to anyone else before the commit: it commits with the data or not at all.
        assert await _versions(session_factory) == before
    after = await _versions(session_factory)
    assert after == {**before, "trades": before["trades"] + 1, "degrees": before["degrees"] + 1}

    async with session_factory() as session:
        await data_versions.bump(session, data_versions.USERS)
        await session.rollback()
    assert await _versions(session_factory) == after


async def test_concurrent_writers_each_count(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """Writers spread over the shards, and on one shard wait for each other: none is lost."""
    before = await _versions(session_factory)

    async def write() -> None:
        async with session_factory.begin() as session:
            await data_versions.bump(session, data_versions.TRADES)

    await asyncio.gather(*(write() for _ in range(WRITERS)))
    after = await _versions(session_factory)
    assert after == {**before, "trades": before["trades"] + WRITERS}


async def test_the_session_check_reads_the_versions_in_its_one_statement(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory.begin() as session:
        user = await users.create_user(
            session, email="v@example.com", name="V", password_hash="x", role_id=USER_ROLE_ID
        )
        await data_versions.bump(session, data_versions.USERS)
    async with session_factory() as session:
        found = await sessions.session_user(session, user.id, 0, "some-session")
    assert found is not None
    assert found.user == user
    assert found.versions == await _versions(session_factory)
