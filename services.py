"""What one API process holds for its lifetime: the engine, sessions, jobs and the broadcaster."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db.engine import create_engine, create_session_factory
from events.broadcast import Broadcaster
from settings import Settings
from workers.inprocess import InProcessJobs


@dataclass(frozen=True)
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    jobs: InProcessJobs
    broadcaster: Broadcaster


@asynccontextmanager
async def start_services(settings: Settings) -> AsyncIterator[Services]:
    engine = create_engine(settings.database_url)
    sessions = create_session_factory(engine)
    services = Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        jobs=InProcessJobs(sessions),
        broadcaster=Broadcaster(),
    )
    try:
        yield services
    finally:
        await services.jobs.drain()
        await engine.dispose()
