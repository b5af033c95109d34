"""Column types that behave the same on PostgreSQL and SQLite."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Dialect, Numeric, String
from sqlalchemy.types import TypeDecorator, TypeEngine

MONEY_PLACES = 8
MONEY_DIGITS = 20
_QUANTUM = Decimal(1).scaleb(-MONEY_PLACES)


class Money(TypeDecorator[Decimal]):
    """Exact money: NUMERIC(20, 8) on PostgreSQL, fixed-point text on SQLite.

    SQLite has no decimal type (its NUMERIC is a float), so values are stored as canonical
    text such as '101.50000000', which round trips exactly and reads back the same as
    PostgreSQL's NUMERIC(20, 8).
    """

    impl = Numeric(MONEY_DIGITS, MONEY_PLACES)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(MONEY_DIGITS + 2))
        return dialect.type_descriptor(Numeric(MONEY_DIGITS, MONEY_PLACES, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = Decimal(value).quantize(_QUANTUM)
        if dialect.name == "sqlite":
            return f"{abs(value) if value.is_zero() else value:f}"
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(value).quantize(_QUANTUM)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on both databases (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
