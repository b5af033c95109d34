"""Which candle a trade belongs to: buckets of a whole number of seconds, aligned to the Unix
epoch in UTC, in Python and in SQL (the same integer arithmetic on both databases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def bucket_epoch(moment: datetime, seconds: int) -> int:
    """The rule in Python: the start, in seconds since the epoch, of the bucket of `moment`."""
    return (moment - EPOCH) // timedelta(seconds=seconds) * seconds


def bucket_start(moment: datetime, seconds: int) -> datetime:
    return from_epoch(bucket_epoch(moment, seconds))


def from_epoch(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class EpochSeconds(FunctionElement[int]):
    """SQL: a UTCDateTime column (db.types.UTCDateTime) as whole seconds since the epoch,
    rounded down; `EpochSeconds(column) / n * n` is then its bucket's start, as bucket_epoch."""

    type = BigInteger()
    inherit_cache = True


@compiles(EpochSeconds)
def _epoch_seconds(element: EpochSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(floor(extract(epoch FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


@compiles(EpochSeconds, "sqlite")
def _epoch_seconds_sqlite(element: EpochSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLAlchemy stores naive UTC text, 'YYYY-MM-DD HH:MM:SS.ffffff'; '%s' drops the fraction.
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


def bucket_epoch_sql(column: Any, seconds: int) -> Any:
    """The rule in SQL: the start of the bucket of `column`'s value, in seconds since the epoch
    (integer division: epochs here are positive, so it rounds down as the Python form does)."""
    return EpochSeconds(column) // seconds * seconds
