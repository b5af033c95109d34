"""GraphQL object types, each built from a db record in one place (`from_record`)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import strawberry

from db.candles import CandleRecord
from db.models import DegreeRecord, JobSummary, TradeRecord, UserRecord
from rules.emails import sees_email
from schema.enums import CandleInterval, DegreeName, JobStatus, Side
from schema.models import TradePage
from schema.record_fields import record_fields
from schema.validation import validated

if TYPE_CHECKING:
    from schema.context import Context


@strawberry.type
class Degree:
    id: int
    name: DegreeName
    created_at: datetime

    @classmethod
    def from_record(cls, record: DegreeRecord) -> Degree:
        return cls(**record_fields(cls, record, name=DegreeName(record.name)))


@strawberry.type
class User:
    id: int
    name: str
    role: str = strawberry.field(description="Role name: 'user' or 'admin'.")
    registered_at: datetime
    private_email: strawberry.Private[str | None]

    @classmethod
    def from_record(cls, record: UserRecord) -> User:
        return cls(**record_fields(cls, record, private_email=record.email))

    @strawberry.field(
        description="Only the user themself and admins see it; null for everyone else."
    )
    def email(self, info: strawberry.Info[Context, None]) -> str | None:
        viewer = info.context.viewer
        if viewer is None or not sees_email(viewer, self.id):
            return None
        # Their own from the session, not the record: records cached for non-admins have none.
        return viewer.email if viewer.id == self.id else self.private_email

    @strawberry.field
    async def degrees(self, info: strawberry.Info[Context, None]) -> list[Degree]:
        records = await info.context.loaders.degrees_by_user.load(self.id)
        return [Degree.from_record(record) for record in records]

    @strawberry.field(
        description="Newest first. With before: only trades with a smaller id (stable paging "
        "while trades arrive)."
    )
    async def trades(
        self,
        info: strawberry.Info[Context, None],
        limit: int = 10,
        offset: int = 0,
        before: int | None = None,
    ) -> list[Trade]:
        page = validated(TradePage, limit=limit, offset=offset, before=before)
        records = await info.context.loaders.trade_page.load(
            (self.id, page.limit, page.offset, page.before)
        )
        return [Trade.from_record(record) for record in records]


@strawberry.type
class Trade:
    id: int
    user_id: int
    currency: str
    side: Side
    price: Decimal
    amount: Decimal
    created_at: datetime
    seq: str | None = strawberry.field(
        description=(
            "Position in the live feed's delivery order, once the trade's batch has been "
            "delivered; pass the last one seen to tradeAdded(after:) to resume."
        ),
        default=None,
    )
    # Set on live events, which carry their trader: no lookup per subscriber.
    trader: strawberry.Private[UserRecord | None] = None

    @classmethod
    def from_record(cls, record: TradeRecord, trader: UserRecord | None = None) -> Trade:
        return cls(
            **record_fields(
                cls,
                record,
                side=Side(record.side),
                seq=None if record.seq is None else str(record.seq),
                trader=trader,
            )
        )

    @strawberry.field
    async def user(self, info: strawberry.Info[Context, None]) -> User:
        if self.trader is not None:
            return User.from_record(self.trader)
        record = await info.context.loaders.user_by_id.load(self.user_id)
        if record is None:  # a foreign key rules it out
            raise LookupError(f"trade {self.id} has no user")
        return User.from_record(record)


@strawberry.type
class Candle:
    currency: str
    interval: CandleInterval
    start: datetime = strawberry.field(
        description="Start of the bucket (aligned to the interval, UTC)."
    )
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal = strawberry.field(description="Sum of the amounts traded in the bucket.")
    trades: int

    @classmethod
    def from_record(cls, record: CandleRecord, currency: str, interval: CandleInterval) -> Candle:
        return cls(**record_fields(cls, record, currency=currency, interval=interval))


@strawberry.type(
    description="Per-currency summary of one user's trades, computed by a background job."
)
class CurrencySummary:
    currency: str
    trades: int
    bought_amount: Decimal
    sold_amount: Decimal
    net_amount: Decimal
    average_price: Decimal = strawberry.field(
        description="Volume-weighted average price over all of the user's trades in that currency."
    )


@strawberry.type
class TradeReport:
    user_id: int
    generated_at: datetime
    currencies: list[CurrencySummary]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TradeReport:
        return cls(
            user_id=data["userId"],
            generated_at=datetime.fromisoformat(data["generatedAt"]),
            currencies=[
                CurrencySummary(
                    currency=c["currency"],
                    trades=c["trades"],
                    bought_amount=Decimal(c["boughtAmount"]),
                    sold_amount=Decimal(c["soldAmount"]),
                    net_amount=Decimal(c["netAmount"]),
                    average_price=Decimal(c["averagePrice"]),
                )
                for c in data["currencies"]
            ],
        )


@strawberry.type
class Job:
    id: str
    status: JobStatus
    report: TradeReport | None = strawberry.field(
        default=None, description="Set once status is COMPLETE."
    )


@strawberry.type(
    description="A background job as its record in the jobs table shows it (admins only)."
)
class JobRecord:
    id: str
    kind: str = strawberry.field(
        description="The job function's name, such as 'build_trade_report'."
    )
    user_id: int
    status: JobStatus
    tries: int
    enqueued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None = strawberry.field(
        description="Why it failed, in a few words; the details are in the worker's log."
    )

    @classmethod
    def from_summary(cls, summary: JobSummary) -> JobRecord:
        return cls(
            id=summary.id,
            kind=summary.kind,
            user_id=summary.user_id,
            status=JobStatus(summary.status),
            tries=summary.tries,
            enqueued_at=summary.enqueued_at,
            started_at=summary.started_at,
            finished_at=summary.finished_at,
            error=summary.error,
        )


@strawberry.type(description="This process's live-trade counters (admins only).")
class LiveStats:
    connections: int = strawberry.field(description="Open WebSocket connections.")
    subscriptions: int = strawberry.field(
        description="Active `tradeAdded` and `candleUpdated` subscriptions."
    )
    delivered: int = strawberry.field(description="Trades handed to subscribers so far.")
    slow_consumers_closed: int = strawberry.field(
        description="Subscribers cut off (socket closed with 1013) for falling too far behind."
    )
    executions: int = strawberry.field(
        description="Subscription selections executed for events, and candle buckets read for "
        "batches of them (`candleUpdated`)."
    )
    shared_results: int = strawberry.field(
        description="Events delivered with a result another subscriber's identical selection "
        "(or candle bucket) already computed."
    )
    tasks: int = strawberry.field(description="asyncio tasks alive in the process.")


@strawberry.type(description="This process's query cache counters (admins only).")
class CacheStats:
    backend: str = strawberry.field(description="'redis', or 'memory' for the in-process LRU.")
    hits: int
    misses: int
    errors: int
    bypassed: int = strawberry.field(
        description="Reads answered from the database while the circuit breaker was open."
    )
    breaker_open: bool
