"""GraphQL types take a record's fields by name: a column added to a table and to the type
reaches the API with no edit in `from_record`."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

import strawberry

from db.models import TradeRecord, UserRecord
from schema.enums import Side
from schema.record_fields import record_fields
from schema.types import Trade, User

NOW = datetime(2026, 11, 30, tzinfo=UTC)


def test_a_field_of_the_record_and_the_type_is_copied_with_no_code_for_it() -> None:
    @dataclasses.dataclass(frozen=True)
    class Record:
        id: int
        venue: str  # a new column
        internal: str  # the record has it, the type does not

    @strawberry.type
    class Type:
        id: int
        venue: str
        label: str  # the type has it, the record does not: given by the caller

    record = Record(1, "XNAS", "secret")
    assert record_fields(Type, record, label="one") == {"id": 1, "venue": "XNAS", "label": "one"}


def test_trades_and_users_carry_every_field_they_share_with_their_records() -> None:
    record = TradeRecord(7, 2, "BTC", "sell", Decimal("1.5"), Decimal("2"), NOW, 12)
    trade = Trade.from_record(record)
    assert (trade.side, trade.seq) == (Side.SELL, "12")  # converted: an enum, an id as text
    for name in {f.name for f in dataclasses.fields(Trade)} - {"side", "seq", "trader", "user"}:
        assert getattr(trade, name) == getattr(record, name), name
    user = User.from_record(UserRecord(2, "a@example.com", "A", "admin", True, NOW))
    assert (user.id, user.name, user.role, user.registered_at) == (2, "A", "admin", NOW)
    assert user.private_email == "a@example.com"
