"""The purge job: rows past their retention are deleted every hour."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import retention
from db.types import utcnow
from settings import Settings

logger = logging.getLogger(__name__)


async def purge_expired(ctx: dict[str, Any]) -> dict[str, int]:
    """Job: delete expired idempotency records, old notifications and old finished jobs.

    Idempotent: a second run finds nothing more to delete. Returns the count per table.
    """
    settings: Settings = ctx["settings"]
    sessions: async_sessionmaker[AsyncSession] = ctx["sessions"]
    now = utcnow()
    async with sessions.begin() as session:
        deleted = await retention.purge(
            session,
            idempotency_keys_before=now - timedelta(hours=settings.idempotency_ttl_hours),
            notifications_before=now - timedelta(days=settings.notification_retention_days),
            jobs_finished_before=now - timedelta(days=settings.job_retention_days),
            now=now,
        )
    logger.info("purged expired rows: %s", deleted)
    return deleted
