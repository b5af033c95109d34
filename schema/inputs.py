"""GraphQL inputs, mirroring schema.models.TradeCreate (tests/schema/test_mirror.py checks it)."""

from __future__ import annotations

from decimal import Decimal

import strawberry

from schema.enums import Side


@strawberry.input
class TradeInput:
    currency: str
    side: Side
    price: Decimal
    amount: Decimal
    user_id: int | None = strawberry.field(
        default=None,
        description="Admins only: add the trade for another user. Defaults to the signed-in user.",
    )
