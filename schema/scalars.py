"""The contract's DateTime and Decimal scalars, and how each prints: in Python, and in SQL for
the compiled path (fastpath/), which asks the database for the same text byte for byte.

Strawberry's built-in Decimal serializes with `str()`, which prints `1E-8`; money is always
printed in fixed point here, and literals are parsed from their source text, never via float.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import strawberry
from graphql import FloatValueNode, GraphQLError, IntValueNode, StringValueNode, ValueNode
from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from strawberry.types.scalar import ScalarDefinition

from schema.models import DECIMAL_FORMS, is_decimal_text


def print_decimal(value: decimal.Decimal) -> str:
    """Fixed point: money (db.types.Money) has 8 places, so 8 places."""
    return format(value, "f")


class DecimalText(FunctionElement[str]):
    """SQL: a Money column (db.types.Money) printed as print_decimal prints its value."""

    type = String()
    inherit_cache = True


@compiles(DecimalText)
def _decimal_text(element: DecimalText, compiler: SQLCompiler, **kw: Any) -> str:
    # NUMERIC(20, 8) prints its 8 places.
    return f"CAST({compiler.process(element.clauses, **kw)} AS TEXT)"


@compiles(DecimalText, "sqlite")
def _decimal_text_sqlite(element: DecimalText, compiler: SQLCompiler, **kw: Any) -> str:
    # Money is stored as this very text on SQLite.
    return compiler.process(element.clauses, **kw)


def print_datetime(value: dt.datetime) -> str:
    """ISO 8601; a UTC datetime (db.types.UTCDateTime) prints `+00:00`, and no fraction when its
    microseconds are 0."""
    return value.isoformat()


class DateTimeText(FunctionElement[str]):
    """SQL: a UTCDateTime column printed as print_datetime prints its value."""

    type = String()
    inherit_cache = True


# Microseconds always, then a zero fraction dropped as isoformat() drops it.
_DROP_ZERO_FRACTION = "replace({} || '+00:00', '.000000+', '+')"


@compiles(DateTimeText)
def _datetime_text(element: DateTimeText, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    text = f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')"""
    return _DROP_ZERO_FRACTION.format(text)


@compiles(DateTimeText, "sqlite")
def _datetime_text_sqlite(element: DateTimeText, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLAlchemy stores 'YYYY-MM-DD HH:MM:SS.ffffff' (naive UTC) in SQLite; the database's own
    # CURRENT_TIMESTAMP default stores no fraction.
    column = compiler.process(element.clauses, **kw)
    return _DROP_ZERO_FRACTION.format(f"replace({column}, ' ', 'T')")


def _parse_decimal(value: object) -> decimal.Decimal:
    # JSON numbers arrive as int or float; repr() of a float is the shortest text that
    # round-trips, i.e. what the client wrote.
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise GraphQLError(f'Decimal must be a string such as "101.5", not {value!r}')
    text = repr(value) if isinstance(value, float) else str(value)
    # Checked before Decimal() sees it: it would also take "1_000", "٣" and "Infinity".
    if not is_decimal_text(text):
        raise GraphQLError(f"Not a decimal number: {text[:40]!r} ({DECIMAL_FORMS})")
    try:
        return decimal.Decimal(text.strip())
    except decimal.InvalidOperation:  # an exponent beyond the decimal context's range
        raise GraphQLError(f"Not a decimal number: {text[:40]!r} (out of range)") from None


def _parse_decimal_literal(node: ValueNode, _variables: Any = None) -> decimal.Decimal:
    if isinstance(node, StringValueNode | IntValueNode | FloatValueNode):
        return _parse_decimal(node.value)
    raise GraphQLError("Decimal must be a string, an integer or a decimal literal")


def _parse_datetime(value: object) -> dt.datetime:
    if not isinstance(value, str):
        raise GraphQLError(f"DateTime must be an ISO 8601 string, not {value!r}")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise GraphQLError(f"Not an ISO 8601 date and time: {value!r}") from None
    if parsed.tzinfo is None:
        raise GraphQLError("DateTime needs an offset, e.g. 2026-11-28T11:28:49+00:00")
    return parsed


def _parse_datetime_literal(node: ValueNode, _variables: Any = None) -> dt.datetime:
    if isinstance(node, StringValueNode):
        return _parse_datetime(node.value)
    raise GraphQLError("DateTime must be an ISO 8601 string")


DecimalScalar = strawberry.scalar(
    name="Decimal",
    description=(
        'Exact decimal number, serialized as a string (e.g. "101.50000000"); never a float.'
    ),
    serialize=print_decimal,
    parse_value=_parse_decimal,
    parse_literal=_parse_decimal_literal,
)

DateTimeScalar = strawberry.scalar(
    name="DateTime",
    description="Date and time with offset, ISO 8601 (e.g. 2026-11-28T11:28:49.868685+00:00).",
    serialize=print_datetime,
    parse_value=_parse_datetime,
    parse_literal=_parse_datetime_literal,
)

SCALAR_OVERRIDES: dict[object, ScalarDefinition] = {
    decimal.Decimal: DecimalScalar,
    dt.datetime: DateTimeScalar,
}
