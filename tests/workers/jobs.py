"""Helpers of the job tests: a real arq worker run inside the test, senders that fail on cue."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from arq.connections import RedisSettings
from arq.worker import Worker, create_worker
from sqlalchemy import select

from db.models import Base
from services import Services
from settings import Settings
from workers import WorkerSettings
from workers.welcome import DatabaseSender, Message

M = TypeVar("M", bound=Base)


def job_context(services: Services, **extra: Any) -> dict[str, Any]:
    """The ctx a job gets, built from the API's services as the worker's on_startup builds it."""
    return {
        "settings": services.settings,
        "sessions": services.sessions,
        "sender": DatabaseSender(),
        "job_try": 1,
        **extra,
    }


async def run_worker(settings: Settings, **ctx: Any) -> Worker:
    """Run a worker built from WorkerSettings until the queue is empty, then shut it down.

    `settings` (pointing at the test database) and anything in `ctx` (a sender) reach the jobs
    through ctx, which is how on_startup lets a caller override the environment.

    The hourly purge is left out: arq keeps a cron job's next run on the CronJob object, which
    WorkerSettings shares across workers in one process, so a worker started just after the hour
    would run a purge that an earlier test's worker had scheduled, and the counts would be off.
    """
    if settings.redis_url is None:
        raise ValueError("the worker needs REDIS_URL")
    worker = create_worker(
        WorkerSettings,
        redis_settings=RedisSettings.from_dsn(settings.redis_url),
        burst=True,
        handle_signals=False,
        poll_delay=0.01,
        cron_jobs=None,
        ctx={"settings": settings, **ctx},
    )
    try:
        await worker.main()
    finally:
        await worker.close()
    return worker


@dataclass
class FlakySender:
    """Fails its first `failures` sends the way an unreachable mail server does."""

    failures: int = 0
    sent: list[Message] = field(default_factory=list)

    async def send(self, message: Message) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionRefusedError("mail server unreachable")
        self.sent.append(message)


async def all_rows(services: Services, model: type[M]) -> list[M]:
    async with services.sessions() as session:
        return list(await session.scalars(select(model)))
