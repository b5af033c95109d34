"""What the arq worker runs (`python -m workers`): same DATABASE_URL and REDIS_URL as the API."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from arq.connections import RedisSettings
from arq.cron import CronJob
from arq.typing import StartupShutdown, WorkerCoroutine
from arq.worker import Function
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from db import jobs
from db.engine import create_engine, create_session_factory, engine_options
from observability import heartbeat
from settings import Settings, get_settings
from startup import exit_on_problem
from workers import abandoned, registry, reports
from workers.outage import REDIS_DOWN
from workers.welcome import DatabaseSender

logger = logging.getLogger(__name__)
# Read when arq imports WorkerSettings (`python -m workers` imports this package first): a bad
# setting ends the process here, in one line.
_settings = exit_on_problem(get_settings)


async def startup(ctx: dict[str, Any]) -> None:
    """Build what the jobs share. Whoever builds the Worker may put settings and a sender in ctx."""
    settings: Settings = ctx.setdefault("settings", get_settings())
    ctx.setdefault("sender", DatabaseSender())
    engine = create_engine(settings.database_url, **engine_options(settings))
    ctx["engine"] = engine
    ctx["sessions"] = create_session_factory(engine)
    if isinstance(redis := ctx.get("redis"), Redis):
        # Alive before the first job: a claimed job of a worker without a heartbeat is released.
        ctx["worker_name"] = name = heartbeat.worker_name()
        with contextlib.suppress(*REDIS_DOWN):  # keep_alive tries again
            await heartbeat.beat(redis, name)
        ctx["heartbeat"] = asyncio.create_task(
            abandoned.keep_alive(
                redis, name, settings.worker_heartbeat_seconds, settings.worker_stale_seconds
            )
        )


async def job_given_up(ctx: dict[str, Any]) -> None:
    """arq gave up on a job without running it: a report's record says failed, not in progress."""
    sessions: async_sessionmaker[AsyncSession] = ctx["sessions"]
    job_id = ctx["job_id"]
    try:
        async with sessions.begin() as session:
            if await jobs.finish_job(session, job_id, result=None, error=reports.NO_TRY_LEFT):
                logger.warning("job %s: no try left, recorded as failed", job_id)
    except Exception:  # the database away: the worker goes on, the record stays as it was
        logger.exception("job %s: no try left, and its record could not say so", job_id)


async def shutdown(ctx: dict[str, Any]) -> None:
    if (heartbeat := ctx.get("heartbeat")) is not None:
        heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await heartbeat
    engine: AsyncEngine = ctx["engine"]
    await engine.dispose()


class WorkerSettings:
    """What arq reads to run a worker (its own class attributes only, not inherited ones).

    Annotated as arq's WorkerSettingsBase declares them, so its create_worker() accepts the class.
    """

    # Without REDIS_URL the API runs the jobs itself; arq's default keeps this importable.
    redis_settings = (
        RedisSettings.from_dsn(_settings.redis_url) if _settings.redis_url else RedisSettings()
    )
    # The registry's jobs and cron jobs, which the API process runs itself without Redis. The
    # CronJob objects are shared by every worker built from this class in one process (arq keeps
    # a cron job's next run on them).
    functions: Sequence[WorkerCoroutine | Function] = registry.functions(_settings)
    cron_jobs: Sequence[CronJob] | None = registry.cron_jobs()
    on_startup: StartupShutdown | None = startup
    on_shutdown: StartupShutdown | None = shutdown
    # Each running job is claimed by its worker, so that live workers run it again if that
    # worker dies (workers/abandoned.py).
    on_job_start: StartupShutdown | None = abandoned.on_job_start
    after_job_end: StartupShutdown | None = abandoned.after_job_end
    # Not arq's: read by workers.resilient.create_worker (`python -m workers`).
    on_job_given_up: StartupShutdown | None = job_given_up
    # Status and results live in the jobs table. Redis keeps a finished job an hour, during
    # which an enqueue with the same job id is dropped.
    keep_result = 3600
