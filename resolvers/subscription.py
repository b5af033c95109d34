"""Live trades: every trade committed from now on, optionally one currency only."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry import Info

from resolvers.context import Context
from resolvers.permissions import IsAuthenticated
from schema.types import Trade


@strawberry.type
class Subscription:
    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description=(
            "Every trade committed from now on, on any server process; "
            "optionally one currency only."
        ),
    )
    async def trade_added(
        self, info: Info[Context, None], currency: str | None = None
    ) -> AsyncGenerator[Trade, None]:
        wanted = currency.strip().upper() if currency else None
        async with info.context.services.broadcaster.subscribe() as subscriber:
            async for record in subscriber.events():
                if wanted is None or record.currency == wanted:
                    yield Trade.from_record(record)
