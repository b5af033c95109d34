"""The tables, each with the record its queries return beside it: an entity is declared here once.

A record is the plain, frozen row the data layer hands upward (no ORM identity map on the read
paths). Its field names are column names (or labels of joined columns): the queries select the
columns a record names and build it by name (db/rows.py), the cache and the live feed encode it
by name with a format version derived from its fields (cache/codec.py), and the GraphQL types
copy the fields they declare (schema/types.py). A new column reaches all of them by being added
to its table and its record.

Names (`roles`, `users`, `trades`, `degrees`) are read by the benchmarks and by PostGraphile
(bench/compare.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from db.types import Money, UTCDateTime, utcnow

# Stable, readable constraint names, so migrations can drop and alter them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

USER_ROLE_ID = 1
ADMIN_ROLE_ID = 2
SIDES = ("buy", "sell")
DEGREE_NAMES = ("newbie", "expert")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Role(Base):
    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    permissions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        # Emails are stored lower-cased, so the unique constraint is case-insensitive.
        CheckConstraint("email = lower(email)", name="email_lowercase"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    role_id: Mapped[int] = mapped_column(
        ForeignKey("roles.id"), default=USER_ROLE_ID, server_default=str(USER_ROLE_ID)
    )
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    registered_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, server_default=func.current_timestamp()
    )
    # Tokens carry the version they were issued under; raising it ends every session at once
    # (POST /auth/logout-all, deactivation).
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    email: str | None  # None in records cached for viewers who may not see it
    name: str
    role: str  # the name of the user's role (joined from `roles`)
    is_active: bool
    registered_at: datetime

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class Trade(Base):
    __tablename__ = "trades"
    __table_args__ = (
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint(f"side IN {SIDES}", name="side_known"),
        # A user's trades newest first: the `User.trades` page.
        Index("ix_trades_user_id_id", "user_id", "id"),
        # One currency's trades in a time range: `candles`.
        Index("ix_trades_currency_created_at", "currency", "created_at"),
        # The live feed's outbox: committed trades not yet given a place in the feed.
        Index(
            "ix_trades_unsequenced",
            "id",
            sqlite_where=text("seq IS NULL"),
            postgresql_where=text("seq IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    currency: Mapped[str] = mapped_column(String(10), index=True)
    side: Mapped[str] = mapped_column(String(4))
    price: Mapped[Decimal] = mapped_column(Money)
    amount: Mapped[Decimal] = mapped_column(Money)
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, server_default=func.current_timestamp()
    )
    # The trade's position in the live feed (events/feed.py), given once after its commit:
    # NULL until then. Every process delivers the feed in this order.
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True, default=None)


@dataclass(frozen=True, slots=True)
class TradeRecord:
    id: int
    user_id: int
    currency: str
    side: str
    price: Decimal
    amount: Decimal
    created_at: datetime
    # Its place in the live feed; None until the feed's relay has given it one (db/feed.py).
    seq: int | None = None


class Degree(Base):
    __tablename__ = "degrees"
    __table_args__ = (CheckConstraint(f"name IN {DEGREE_NAMES}", name="name_known"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, server_default=func.current_timestamp()
    )


@dataclass(frozen=True, slots=True)
class DegreeRecord:
    id: int
    user_id: int
    name: str
    created_at: datetime


class Job(Base):
    """A background job's record: status survives the queue, and users poll it with `job(id)`."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'in_progress', 'complete', 'failed')", name="status_known"
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    # Whose job it is: who may read it with `job(id)`; its record goes with the account.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The keyword arguments the job is called with (its user_id among them): recovery hands the
    # same call to the queue again.
    arguments: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    error: Mapped[str | None] = mapped_column(String(500), default=None)
    tries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Indexed for the admins' `jobs` list, newest first.
    enqueued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


@dataclass(frozen=True, slots=True)
class JobSummary:
    """A job's record without its arguments and result: what the admins' job list shows."""

    id: str
    kind: str
    user_id: int
    status: str
    tries: int
    enqueued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None


class IdempotencyKey(Base):
    """The first result of an `addTrades` call made with a client's idempotency key."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    trade_ids: Mapped[list[int]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


WELCOME = "welcome"


class Notification(Base):
    """A message to a user, kept here whether or not a pluggable sender also mails it."""

    __tablename__ = "notifications"
    __table_args__ = (
        # One welcome per user however often its job runs (arq delivers at least once). Partial,
        # so kinds that repeat (a report is ready, ...) are not limited to one.
        Index(
            "uq_notifications_user_id_welcome",
            "user_id",
            unique=True,
            sqlite_where=text(f"kind = '{WELCOME}'"),
            postgresql_where=text(f"kind = '{WELCOME}'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class RevokedToken(Base):
    """A token ended by logout before it expired; the hourly purge drops it once it has."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class OutboxMessage(Base):
    """What a commit must tell other processes or the job queue (a job to run, sessions that
    ended), written in the same transaction and delivered after it by events/relay.py: an outage
    of Redis delays delivery and loses nothing. Deleted once delivered."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    topic: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DataVersion(Base):
    """How often the data of a table (its tag) has changed: cache keys embed these versions.

    A write adds 1 to one row of its table's tag in its own transaction, so a reader that sees
    the write's commit sees a version no cache entry built before it has. A tag is spread over a
    few rows (shards) that writers pick at random and readers add up: concurrent writers of the
    same table then seldom wait for each other's commit on one row.
    """

    __tablename__ = "data_versions"

    tag: Mapped[str] = mapped_column(String(32), primary_key=True)
    shard: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
