"""What one API process holds for its lifetime: the engine, sessions, jobs, the live feed and its
relay, the broadcaster, the rate limits, the password hasher and persisted queries' documents."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from auth.passwords import PasswordHasher
from auth.throttle import AuthLimits
from cache.backends import Backend, MemoryBackend, RedisBackend
from cache.persisted import PersistedDocuments
from cache.query_cache import QueryCache
from cache.reads import CachedReads
from db.engine import create_engine, create_reader, create_session_factory, engine_options
from events.broadcast import Broadcaster
from events.feed import LiveFeed
from events.redis_broadcast import RedisBroadcaster
from events.relay import Relay
from observability.sql import sample_connections
from ratelimit.limiter import RateLimiter
from settings import Settings
from workers.arq_queue import ArqJobs
from workers.inprocess import InProcessJobs
from workers.queue import JobQueue


@dataclass(frozen=True)
class Services:
    settings: Settings
    engine: AsyncEngine
    # Compiled queries (fastpath/): one read-only statement each, in autocommit.
    reader: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    jobs: JobQueue
    broadcaster: Broadcaster
    feed: LiveFeed
    # Delivers what commits leave behind (trades to place in the feed, jobs, ended sessions):
    # wake it after such a commit.
    relay: Relay
    reads: CachedReads
    # One limiter for every rate limit (Redis with REDIS_URL, else in-process).
    rate_limits: RateLimiter
    auth_limits: AuthLimits
    passwords: PasswordHasher
    # Automatic persisted queries' documents (Redis with REDIS_URL, else in-process).
    persisted: PersistedDocuments


@asynccontextmanager
async def start_services(settings: Settings) -> AsyncIterator[Services]:
    engine = create_engine(settings.database_url, **engine_options(settings))
    sessions = create_session_factory(engine)
    reader = create_reader(settings)
    cache = QueryCache(
        _cache_backend(settings),
        ttl=settings.cache_ttl_seconds,
        timeout_seconds=settings.cache_timeout_ms / 1000,
        local_bytes=settings.cache_max_bytes,
    )
    broadcaster = _broadcaster(settings)
    live_feed = LiveFeed(sessions, broadcaster.fanout, settings.feed_poll_seconds)
    broadcaster.received = live_feed.receive
    jobs = _job_queue(settings, sessions)
    relay = Relay(sessions, live_feed, broadcaster, jobs, settings.feed_poll_seconds)
    await broadcaster.start()
    await live_feed.start()
    await relay.start()
    rate_limits = RateLimiter.from_settings(settings)
    services = Services(
        settings=settings,
        engine=engine,
        reader=reader,
        sessions=sessions,
        jobs=jobs,
        broadcaster=broadcaster,
        feed=live_feed,
        relay=relay,
        reads=CachedReads(sessions, cache),
        rate_limits=rate_limits,
        auth_limits=AuthLimits.from_settings(rate_limits, settings),
        passwords=PasswordHasher(settings.password_hash_concurrency),
        persisted=PersistedDocuments.from_settings(
            settings.redis_url,
            settings.persisted_queries_max_bytes,
            timeout_seconds=settings.cache_timeout_ms / 1000,
        ),
    )
    sampler = asyncio.create_task(sample_connections((engine, reader)))
    try:
        yield services
    finally:
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        await relay.close()
        await live_feed.close()
        await broadcaster.close()
        await rate_limits.close()
        await services.jobs.close()
        await cache.close()
        await services.persisted.close()
        await reader.dispose()
        await engine.dispose()


def _cache_backend(settings: Settings) -> Backend:
    if settings.redis_url:
        return RedisBackend(settings.redis_url, timeout_seconds=settings.cache_timeout_ms / 1000)
    return MemoryBackend(settings.cache_max_bytes)


def _broadcaster(settings: Settings) -> Broadcaster:
    if settings.redis_url:
        return RedisBroadcaster(settings.redis_url, settings.ws_subscriber_queue)
    return Broadcaster(settings.ws_subscriber_queue)


def _job_queue(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> JobQueue:
    if settings.redis_url:
        # arq worker processes run the jobs, and the cron jobs.
        return ArqJobs(sessions, settings.redis_url)
    jobs = InProcessJobs(settings, sessions)
    jobs.start_crons()
    return jobs
