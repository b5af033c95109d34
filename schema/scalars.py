"""The contract's DateTime and Decimal scalars.

Strawberry's built-in Decimal serializes with `str()`, which prints `1E-8`; money is always
printed in fixed point here, and literals are parsed from their source text, never via float.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import strawberry
from graphql import FloatValueNode, GraphQLError, IntValueNode, StringValueNode, ValueNode
from strawberry.types.scalar import ScalarDefinition

from schema.models import DECIMAL_FORMS, is_decimal_text


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
    serialize=lambda value: format(value, "f"),
    parse_value=_parse_decimal,
    parse_literal=_parse_decimal_literal,
)

DateTimeScalar = strawberry.scalar(
    name="DateTime",
    description="Date and time with offset, ISO 8601 (e.g. 2026-11-28T11:28:49.868685+00:00).",
    serialize=dt.datetime.isoformat,
    parse_value=_parse_datetime,
    parse_literal=_parse_datetime_literal,
)

SCALAR_OVERRIDES: dict[object, ScalarDefinition] = {
    decimal.Decimal: DecimalScalar,
    dt.datetime: DateTimeScalar,
}
