"""Mutation resolvers. Each one writes in a single transaction: all of it or none of it."""

from __future__ import annotations

import strawberry
from strawberry import Info

from db import data_versions, degrees, sessions, users
from events.broadcast import SessionsEnded, end_sockets
from ratelimit.limiter import RateLimitExceeded, Rule
from resolvers.permissions import IsAdmin, IsAuthenticated
from resolvers.trade_batches import add_trades, validate_batch
from schema.context import Context
from schema.cost import Price
from schema.enums import DegreeName, JobStatus
from schema.errors import Forbidden, NotFound, RateLimited
from schema.inputs import TradeInput
from schema.models import MAX_TRADES_PER_BATCH, DegreeCreate, NameChange
from schema.types import Degree, Job, Trade, User
from schema.validation import validated

# A report reads every trade of its user: priced as a large page of them, so one operation
# cannot ask for dozens (aliases) within the cost budget.
REPORT_COST = 1_000


@strawberry.type
class Mutation:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description=(
            "All or nothing: one invalid trade rejects the whole batch. "
            "A repeated idempotencyKey returns the first result and adds nothing."
        ),
        metadata=Price(items_from="trades", max_items=MAX_TRADES_PER_BATCH).metadata,
    )
    async def add_trades(
        self,
        info: Info[Context, None],
        trades: list[TradeInput],
        idempotency_key: str | None = None,
    ) -> list[Trade]:
        viewer = info.context.require_viewer()
        batch = validate_batch(trades, viewer)
        added = await add_trades(info.context.services, viewer, batch, idempotency_key)
        return [Trade.from_record(record) for record in added]

    @strawberry.mutation(
        permission_classes=[IsAuthenticated], description="The user themself or an admin."
    )
    async def change_user_name(
        self, info: Info[Context, None], user_id: int, new_name: str
    ) -> User:
        viewer = info.context.require_viewer()
        change = validated(NameChange, user_id=user_id, new_name=new_name)
        if change.user_id != viewer.id and not viewer.is_admin:
            raise Forbidden("Only the user themself or an admin may rename a user")
        async with info.context.services.sessions.begin() as session:
            record = await users.rename_user(session, change.user_id, change.new_name)
            if record is not None:
                await data_versions.bump(session, data_versions.USERS)
        if record is None:
            raise NotFound(f"There is no user {user_id}", argument="userId")
        return User.from_record(record)

    @strawberry.mutation(permission_classes=[IsAuthenticated, IsAdmin], description="Admins only.")
    async def add_degree(self, info: Info[Context, None], user_id: int, name: DegreeName) -> Degree:
        degree = validated(DegreeCreate, user_id=user_id, name=name)
        async with info.context.services.sessions.begin() as session:
            if not await users.users_by_ids(session, [degree.user_id]):
                raise NotFound(f"There is no user {user_id}", argument="userId")
            record = await degrees.insert_degree(
                session, user_id=degree.user_id, name=degree.name.value
            )
            await data_versions.bump(session, data_versions.DEGREES)
        return Degree.from_record(record)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated, IsAdmin],
        description=(
            "Admins only: the user can no longer sign in, and every session of theirs ends at "
            "once, live subscriptions included."
        ),
    )
    async def deactivate_user(self, info: Info[Context, None], user_id: int) -> User:
        services = info.context.services
        if user_id == info.context.require_viewer().id:
            raise Forbidden("Admins cannot deactivate themselves", argument="userId")
        async with services.sessions.begin() as session:
            found = await users.users_by_ids(session, [user_id])
            if not found:
                raise NotFound(f"There is no user {user_id}", argument="userId")
            version = await sessions.end_all(session, user_id, deactivate=True)
            await end_sockets(session, SessionsEnded(user_id, below_version=version))
            await data_versions.bump(session, data_versions.USERS)
        services.relay.wake()
        return User.from_record(found[0])

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Queues a background job that builds the signed-in user's TradeReport.",
        metadata=Price(cost=REPORT_COST).metadata,
    )
    async def request_trade_report(self, info: Info[Context, None]) -> Job:
        services, viewer = info.context.services, info.context.require_viewer()
        settings = services.settings
        # Each report reads all of the user's trades: a user gets so many per window.
        per_user = Rule(
            "trade-reports:user",
            settings.report_max_requests_per_user,
            settings.report_window_seconds,
        )
        try:
            await services.rate_limits.take((per_user, str(viewer.id)))
        except RateLimitExceeded as error:
            raise RateLimited(
                f"Too many report requests; try again in {error.retry_after} s",
                retryAfter=error.retry_after,
            ) from None
        job_id = await services.jobs.enqueue("build_trade_report", user_id=viewer.id)
        return Job(id=job_id, status=JobStatus.QUEUED)
