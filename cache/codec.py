"""How records are stored in the cache: JSON, with decimals and datetimes as exact strings."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import astuple
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from db.models import DegreeRecord, TradeRecord, UserRecord

V = TypeVar("V")


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot cache {type(value).__name__}")


class Codec(Generic[V]):
    def __init__(self, dump: Callable[[V], Any], load: Callable[[Any], V]) -> None:
        self._dump = dump
        self._load = load

    def encode(self, value: V) -> bytes:
        return json.dumps(self._dump(value), default=_default, separators=(",", ":")).encode()

    def decode(self, raw: bytes) -> V:
        return self._load(json.loads(raw))


class _Raw(Codec[bytes]):
    """Bytes stored as they are: responses the database already built as JSON."""

    def __init__(self) -> None:
        super().__init__(bytes, bytes)

    def encode(self, value: bytes) -> bytes:
        return value

    def decode(self, raw: bytes) -> bytes:
        return raw


RAW = _Raw()


def user_from_row(row: list[Any]) -> UserRecord:
    id_, email, name, role, is_active, registered_at = row
    return UserRecord(id_, email, name, role, is_active, datetime.fromisoformat(registered_at))


def trade_from_row(row: list[Any]) -> TradeRecord:
    id_, user_id, currency, side, price, amount, created_at, seq = row
    return TradeRecord(
        id_, user_id, currency, side, Decimal(price), Decimal(amount),
        datetime.fromisoformat(created_at), seq,
    )  # fmt: skip


def _degree(row: list[Any]) -> DegreeRecord:
    id_, user_id, name, created_at = row
    return DegreeRecord(id_, user_id, name, datetime.fromisoformat(created_at))


USER: Codec[UserRecord] = Codec(astuple, user_from_row)
USERS: Codec[list[UserRecord]] = Codec(
    lambda users: [astuple(u) for u in users], lambda rows: [user_from_row(r) for r in rows]
)
TRADE: Codec[TradeRecord] = Codec(astuple, trade_from_row)
TRADES: Codec[list[TradeRecord]] = Codec(
    lambda trades: [astuple(t) for t in trades], lambda rows: [trade_from_row(r) for r in rows]
)
DEGREES: Codec[list[DegreeRecord]] = Codec(
    lambda degrees: [astuple(d) for d in degrees], lambda rows: [_degree(r) for r in rows]
)
