"""The codec of cached and published records: exact round trips, fields by name, and a format
version that follows the records' fields."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cache import codec
from cache.codec import Codec, Undecodable, format_version
from db.models import DegreeRecord, TradeRecord, UserRecord
from db.types import MONEY_DIGITS, MONEY_PLACES
from events.fanout import TradeEvent
from events.redis_broadcast import EVENTS

texts = st.text(max_size=20)
ids = st.integers(min_value=1, max_value=2**53)
# UTC, as the database hands them back; with and without microseconds.
moments = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(9999, 1, 1), timezones=st.just(UTC)
) | st.datetimes(timezones=st.just(UTC)).map(lambda moment: moment.replace(microsecond=0))
# Money as the database reads it (20 digits, 8 places), and any finite decimal besides.
money = st.decimals(
    min_value=0, max_value=Decimal(10) ** (MONEY_DIGITS - MONEY_PLACES), places=MONEY_PLACES
) | st.decimals(allow_nan=False, allow_infinity=False)
trades = st.builds(
    TradeRecord, ids, ids, texts, st.sampled_from(["buy", "sell"]), money, money, moments,
    st.none() | ids,
)  # fmt: skip
users = st.builds(UserRecord, ids, st.none() | texts, texts, texts, st.booleans(), moments)
degrees = st.builds(DegreeRecord, ids, ids, texts, moments)


def exactly(value: object) -> object:
    """What equality passes over: a decimal's exponent, a datetime's offset and text."""
    if isinstance(value, Decimal):
        return value.as_tuple()
    if isinstance(value, datetime):
        return (value, value.utcoffset(), value.isoformat())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [exactly(getattr(value, f.name)) for f in dataclasses.fields(value)]
    return value


@given(st.lists(trades, max_size=5))
def test_trades_round_trip_exactly(page: list[TradeRecord]) -> None:
    back = codec.TRADES.decode(codec.TRADES.encode(page))
    assert back == page
    assert [exactly(t) for t in back] == [exactly(t) for t in page]


@given(users, st.lists(degrees, max_size=5))
def test_users_and_degrees_round_trip_exactly(user: UserRecord, page: list[DegreeRecord]) -> None:
    assert exactly(codec.USER.decode(codec.USER.encode(user))) == exactly(user)
    assert [exactly(d) for d in codec.DEGREES.decode(codec.DEGREES.encode(page))] == [
        exactly(d) for d in page
    ]


def test_records_are_written_by_field_name() -> None:
    moment = datetime(2026, 11, 30, 5, 53, 31, 868685, tzinfo=UTC)
    trade = TradeRecord(1, 2, "BTC", "buy", Decimal("101.50000000"), Decimal("1E-8"), moment, 7)
    written = json.loads(codec.TRADE.encode(trade))
    # Every field under its name (a field added to the record is written with no edit here).
    assert list(written) == [field.name for field in dataclasses.fields(TradeRecord)]
    assert {name: written[name] for name in ("id", "user_id", "price", "amount", "created_at")} == {
        "id": 1, "user_id": 2, "price": "101.50000000", "amount": "1E-8",
        "created_at": "2026-11-30T05:53:31.868685Z",
    }  # fmt: skip


def declared(record: type, **changed: object) -> type:
    """The record as another release declares it: fields retyped or added (by name, with their
    type), or renamed (`old=("new", type)`)."""
    fields: list[tuple[str, object]] = []
    for name, type_ in typing.get_type_hints(record).items():
        new = changed.pop(name, type_)
        fields.append(new if isinstance(new, tuple) else (name, new))
    fields.extend(changed.items())
    return dataclasses.make_dataclass(record.__name__, fields, frozen=True)


def test_the_format_version_follows_the_fields() -> None:
    version = format_version(TradeRecord)
    assert version == codec.TRADE.version
    # Another class with the same fields and types is the same format.
    assert format_version(declared(TradeRecord)) == version
    assert format_version(declared(TradeRecord, venue=str)) != version
    assert format_version(declared(TradeRecord, seq=str | None)) != version
    assert format_version(declared(TradeRecord, id=("trade_id", int))) != version
    # Lists of them, and records inside other records, too.
    assert codec.TRADES.version != version
    other_page = types.GenericAlias(list, (declared(TradeRecord, venue=str),))
    assert format_version(other_page) != codec.TRADES.version
    assert format_version(declared(UserRecord, locale=str)) != codec.USER.version
    trader = declared(UserRecord, locale=str)
    assert format_version(declared(TradeEvent, user=trader)) != EVENTS.version


@pytest.mark.parametrize(
    "raw",
    [
        b'[1, 2, "BTC", "buy", "1.00000000", "1.00000000", "2026-11-30T00:00:00+00:00", null]',
        b'{"id": 1, "user_id": 2}',
        b'{"id": "one", "user_id": 2, "currency": "BTC", "side": "buy", "price": "1",'
        b' "amount": "1", "created_at": "2026-11-30T00:00:00Z", "seq": null}',
        b"\xff\xfe",
        b"",
    ],
    ids=["previous release", "missing fields", "wrong type", "not utf-8", "empty"],
)
def test_what_is_not_a_record_does_not_decode(raw: bytes) -> None:
    with pytest.raises(Undecodable):
        codec.TRADE.decode(raw)


def test_a_message_carries_its_format_version() -> None:
    moment = datetime(2026, 11, 30, tzinfo=UTC) + timedelta(microseconds=1)
    page = [TradeRecord(1, 2, "BTC", "sell", Decimal("2"), Decimal("3"), moment, 1)]
    message = codec.TRADES.encode_message(page)
    assert message.startswith(codec.TRADES.version.encode() + b" ")
    assert codec.TRADES.decode_message(message) == page
    other = declared(TradeRecord, venue=str)
    with pytest.raises(Undecodable, match="format"):
        codec.TRADES.decode_message(Codec(list[other]).encode_message([]))  # type: ignore[valid-type]
    with pytest.raises(Undecodable):
        EVENTS.decode_message(message)  # trades alone are not events
