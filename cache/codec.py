"""How records travel through the cache and pub/sub: JSON objects by field name, typed by a
Pydantic `TypeAdapter`, with a format version derived from the fields.

Decimals are written as their exact text (`str`: "101.50000000", "1E-8"), so they read back with
the same digits and exponent; datetimes as ISO 8601 (UTC as "Z"), read back as the same instant
with a zero UTC offset, microseconds or none. A payload missing a field, or with a value of
another type, does not decode; one with a field the records no longer have does.

The version is a short hash of the shape of the type: every record's field names and types. Add,
remove, rename or retype a field and the version changes, with no hand-kept number: cache keys
embed it (cache/query_cache.py), so a new release never looks up an old release's entries, and
pub/sub messages carry it (events/redis_broadcast.py). Whatever does not decode (another
release's shape, garbage) raises `Undecodable`, which the cache treats as a miss.
"""

from __future__ import annotations

import dataclasses
import hashlib
import types
import typing
from typing import Any, Generic, TypeVar, cast, get_args, get_origin

from pydantic import TypeAdapter, ValidationError

from db.candles import CandleRecord
from db.models import DegreeRecord, TradeRecord, UserRecord

V = TypeVar("V")


class Undecodable(ValueError):
    """A payload that is not a value of the codec's type and version."""


def shape(type_: Any) -> str:
    """The type spelled out down to its records' fields: what the format version hashes."""
    if dataclasses.is_dataclass(type_):
        hints = typing.get_type_hints(type_)
        fields = ",".join(
            f"{field.name}:{shape(hints[field.name])}" for field in dataclasses.fields(type_)
        )
        return f"{{{fields}}}"
    origin, args = get_origin(type_), get_args(type_)
    if origin is None:
        return type_.__qualname__ if isinstance(type_, type) else repr(type_)
    name = "|" if origin is types.UnionType or origin is typing.Union else shape(origin)
    return f"{name}[{','.join(shape(arg) for arg in args)}]"


def format_version(type_: Any) -> str:
    return hashlib.sha256(shape(type_).encode()).hexdigest()[:10]


class Codec(Generic[V]):
    """Values of one type as bytes; `version` names the format, and changes with the type."""

    def __init__(self, type_: type[V]) -> None:
        self._adapter: TypeAdapter[V] = TypeAdapter(type_)
        self.version = format_version(type_)
        self._tag = self.version.encode() + b" "

    def encode(self, value: V) -> bytes:
        return self._adapter.dump_json(value)

    def decode(self, raw: bytes) -> V:
        try:
            return self._adapter.validate_json(raw)
        except ValidationError as error:
            first = error.errors()[0]
            raise Undecodable(
                f"not a {self.version} value: {first['msg']} at {first['loc']}"
            ) from None

    def handed_out(self, value: V) -> V:
        """A value kept decoded (QueryCache's first level), as one more caller may use it: a list
        is copied, so that no caller's change reaches the next; records are frozen."""
        return cast(V, value.copy()) if isinstance(value, list) else value

    def encode_message(self, value: V) -> bytes:
        """The value behind its format version, for payloads that travel without a key."""
        return self._tag + self.encode(value)

    def decode_message(self, raw: bytes) -> V:
        if not raw.startswith(self._tag):
            version = raw.partition(b" ")[0][:16]
            raise Undecodable(f"format {version!r}, not {self.version}")
        return self.decode(raw[len(self._tag) :])


class _Raw(Codec[bytes]):
    """Bytes stored as they are: responses the database already built as JSON, whose shape
    is the query's (their keys name the statement)."""

    def __init__(self) -> None:
        self.version = "raw"

    def encode(self, value: bytes) -> bytes:
        return value

    def decode(self, raw: bytes) -> bytes:
        return raw


RAW = _Raw()
USER = Codec(UserRecord)
USERS = Codec(list[UserRecord])
TRADE = Codec(TradeRecord)
TRADES = Codec(list[TradeRecord])
DEGREES = Codec(list[DegreeRecord])
CANDLES = Codec(list[CandleRecord])
