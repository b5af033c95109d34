"""Column types that behave the same on PostgreSQL and SQLite."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Dialect, Numeric, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
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


class MoneyMax(FunctionElement[Decimal]):
    """SQL: MAX of a Money column, exact on both databases."""

    type = Money()
    inherit_cache = True


class MoneyMin(FunctionElement[Decimal]):
    """SQL: MIN of a Money column, exact on both databases."""

    type = Money()
    inherit_cache = True


class MoneySum(FunctionElement[Decimal]):
    """SQL: SUM of a Money column, exact on both databases."""

    type = Money()
    inherit_cache = True


@compiles(MoneyMax)
def _money_max(element: MoneyMax, compiler: SQLCompiler, **kw: Any) -> str:
    return f"max({compiler.process(element.clauses, **kw)})"


@compiles(MoneyMin)
def _money_min(element: MoneyMin, compiler: SQLCompiler, **kw: Any) -> str:
    return f"min({compiler.process(element.clauses, **kw)})"


@compiles(MoneySum)
def _money_sum(element: MoneySum, compiler: SQLCompiler, **kw: Any) -> str:
    # NUMERIC adds up exactly.
    return f"sum({compiler.process(element.clauses, **kw)})"


# On SQLite, Money is text: MIN and MAX would compare it letter by letter ('9.5' > '10.25'),
# SUM would read it as floats. Right-aligned in a field as wide as any value, the text of
# non-negative amounts (their CHECK constraints) compares as the numbers do; and a sum is the
# integer parts' sum plus the 8-digit fractions' sum, both exact 64-bit integer sums (SQLite
# raises on overflow rather than round), printed back as Money's fixed-point text.
_WIDTH = MONEY_DIGITS + 2


@compiles(MoneyMax, "sqlite")
def _money_max_sqlite(element: MoneyMax, compiler: SQLCompiler, **kw: Any) -> str:
    text = compiler.process(element.clauses, **kw)
    return f"ltrim(max(printf('%{_WIDTH}s', {text})))"


@compiles(MoneyMin, "sqlite")
def _money_min_sqlite(element: MoneyMin, compiler: SQLCompiler, **kw: Any) -> str:
    text = compiler.process(element.clauses, **kw)
    return f"ltrim(min(printf('%{_WIDTH}s', {text})))"


@compiles(MoneySum, "sqlite")
def _money_sum_sqlite(element: MoneySum, compiler: SQLCompiler, **kw: Any) -> str:
    text = compiler.process(element.clauses, **kw)  # a column: its name is repeated below
    whole = f"sum(CAST(substr({text}, 1, instr({text}, '.') - 1) AS INTEGER))"
    fraction = f"sum(CAST(substr({text}, instr({text}, '.') + 1) AS INTEGER))"
    unit = 10**MONEY_PLACES
    return (
        f"(({whole} + {fraction} / {unit}) || '.' "
        f"|| printf('%0{MONEY_PLACES}d', {fraction} % {unit}))"
    )
