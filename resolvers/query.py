"""Query resolvers: everything but `me` requires a signed-in user."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import Info
from strawberry.permission import BasePermission

from db import jobs
from db.jobs import job_page
from db.revision import migration_head
from resolvers import status_checks
from resolvers.permissions import IsAdmin, IsAuthenticated
from schema.context import Context
from schema.cost import Price
from schema.enums import CandleInterval, JobStatus, Side
from schema.models import CandleRange, Page, TradeFilter, TradePage, candle_items
from schema.status import (
    DependencyStatus,
    JobRunnerStatus,
    MigrationStatus,
    SystemStatus,
    SystemVersions,
)
from schema.types import (
    CacheStats,
    Candle,
    Job,
    JobRecord,
    LiveStats,
    Trade,
    TradeReport,
    User,
)
from schema.validation import validated

signed_in: list[type[BasePermission]] = [IsAuthenticated]


@strawberry.type
class Query:
    @strawberry.field(description="The signed-in user; null when not signed in.")
    def me(self, info: Info[Context, None]) -> User | None:
        viewer = info.context.viewer
        return User.from_record(viewer) if viewer else None

    @strawberry.field(permission_classes=signed_in)
    async def user(self, info: Info[Context, None], id: int) -> User | None:
        record = await info.context.loaders.user_by_id.load(id)
        return User.from_record(record) if record else None

    @strawberry.field(permission_classes=signed_in, description="Ordered by id.")
    async def users(
        self, info: Info[Context, None], limit: int = 10, offset: int = 0
    ) -> list[User]:
        page = validated(Page, limit=limit, offset=offset)
        records = await info.context.reads.user_page(
            page.limit, page.offset, see_emails=info.context.sees_all_emails
        )
        for record in records:
            info.context.loaders.user_by_id.prime(record.id, record)
        return [User.from_record(record) for record in records]

    @strawberry.field(permission_classes=signed_in)
    async def trade(self, info: Info[Context, None], id: int) -> Trade | None:
        record = await info.context.reads.trade(id)
        return Trade.from_record(record) if record else None

    @strawberry.field(
        permission_classes=signed_in,
        description="Newest first; filters combine with AND. With before: only trades with a "
        "smaller id.",
    )
    async def trades(
        self,
        info: Info[Context, None],
        limit: int = 10,
        offset: int = 0,
        currency: str | None = None,
        side: Side | None = None,
        user_id: int | None = None,
        before: int | None = None,
    ) -> list[Trade]:
        page = validated(TradePage, limit=limit, offset=offset, before=before)
        wanted = validated(TradeFilter, currency=currency).currency
        records = await info.context.reads.trade_page(
            limit=page.limit,
            offset=page.offset,
            currency=wanted,
            side=side.value if side else None,
            user_id=user_id,
            before=page.before,
        )
        return [Trade.from_record(record) for record in records]

    @strawberry.field(
        permission_classes=signed_in,
        description=(
            "Open/high/low/close/volume buckets of one currency's trades, oldest first; "
            "empty buckets are absent."
        ),
        metadata=Price(items_of=candle_items).metadata,
    )
    async def candles(
        self,
        info: Info[Context, None],
        currency: str,
        interval: CandleInterval,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime | None = None,
    ) -> list[Candle]:
        wanted = validated(
            CandleRange, currency=currency, interval=interval, **{"from": from_}, to=to
        )
        records = await info.context.reads.candles(
            currency=wanted.currency, seconds=wanted.interval, start=wanted.start, end=wanted.to
        )
        return [Candle.from_record(r, wanted.currency, wanted.interval) for r in records]

    @strawberry.field(
        permission_classes=signed_in,
        description="A background job started by this user (admins: anyone's).",
    )
    async def job(self, info: Info[Context, None], id: str) -> Job | None:
        viewer = info.context.require_viewer()
        async with info.context.services.sessions() as session:
            record = await jobs.get_job(session, id)
        # Someone else's job reads as unknown: job ids are not a way to probe other users.
        if record is None or (record.user_id != viewer.id and not viewer.is_admin):
            return Job(id=id, status=JobStatus.NOT_FOUND)
        report = TradeReport.from_json(record.result) if record.result else None
        return Job(id=record.id, status=JobStatus(record.status), report=report)

    @strawberry.field(permission_classes=[IsAuthenticated, IsAdmin])
    def cache_stats(self, info: Info[Context, None]) -> CacheStats:
        cache = info.context.services.reads.cache
        return CacheStats(
            backend=cache.backend.name,
            hits=cache.stats.hits,
            misses=cache.stats.misses,
            errors=cache.stats.errors,
            bypassed=cache.stats.bypassed,
            breaker_open=cache.breaker.is_open,
        )

    @strawberry.field(
        permission_classes=[IsAuthenticated, IsAdmin],
        description="Versions, migrations, the database, Redis and the job runner (admins only).",
    )
    async def system_status(self, info: Info[Context, None]) -> SystemStatus:
        services = info.context.services
        (database, current), (redis, jobs) = await asyncio.gather(
            status_checks.database(services), status_checks.redis_and_jobs(services)
        )
        head = migration_head()
        return SystemStatus(
            versions=SystemVersions(**vars(status_checks.versions())),
            migrations=MigrationStatus(
                head=head, current=current, up_to_date=head is not None and head == current
            ),
            database=DependencyStatus(**vars(database)),
            redis=DependencyStatus(**vars(redis)) if redis is not None else None,
            jobs=JobRunnerStatus(**vars(jobs)),
        )

    @strawberry.field(permission_classes=[IsAuthenticated, IsAdmin])
    def live_stats(self, info: Info[Context, None]) -> LiveStats:
        broadcaster = info.context.services.broadcaster
        counters = broadcaster.counters
        return LiveStats(
            connections=counters.connections,
            subscriptions=broadcaster.subscriber_count,
            delivered=counters.delivered,
            slow_consumers_closed=counters.slow_consumers_closed,
            executions=counters.executions,
            shared_results=counters.shared_results,
            tasks=len(asyncio.all_tasks()),
        )

    @strawberry.field(
        permission_classes=[IsAuthenticated, IsAdmin],
        description="Recent background jobs, newest first, optionally of one status (admins only).",
    )
    async def jobs(
        self,
        info: Info[Context, None],
        limit: int = 10,
        offset: int = 0,
        status: JobStatus | None = None,
    ) -> list[JobRecord]:
        page = validated(Page, limit=limit, offset=offset)
        async with info.context.services.sessions() as session:
            summaries = await job_page(
                session,
                limit=page.limit,
                offset=page.offset,
                status=status.value if status else None,
            )
        return [JobRecord.from_summary(summary) for summary in summaries]
