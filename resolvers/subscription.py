"""Live trades: every trade committed from now on, optionally one currency only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import strawberry
from starlette.websockets import WebSocket
from strawberry import Info

from events.fanout import SlowConsumerError
from resolvers.context import Context
from resolvers.permissions import IsAuthenticated
from schema.models import TradeFilter
from schema.types import Trade
from schema.validation import validated

# RFC 6455 "Try Again Later": graphql-ws clients (Apollo's GraphQLWsLink) reconnect on it.
SLOW_CONSUMER_CLOSE_CODE = 1013


@strawberry.type
class Subscription:
    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description=(
            "Every trade committed from now on, on any server process, in commit order; "
            "optionally one currency only."
        ),
    )
    async def trade_added(
        self, info: Info[Context, None], currency: str | None = None
    ) -> AsyncGenerator[Trade, None]:
        wanted = validated(TradeFilter, currency=currency).currency
        context = info.context
        try:
            async with context.services.broadcaster.subscribe(wanted) as subscriber:
                async for event in subscriber.events():
                    yield Trade.from_record(event.trade, trader=event.user)
        except SlowConsumerError as error:
            await _close_socket(context, SLOW_CONSUMER_CLOSE_CODE, str(error))


async def _close_socket(context: Context, code: int, reason: str) -> None:
    """Close the whole connection: its reader fell behind, so every operation on it did."""
    if not isinstance(context.request, WebSocket):
        return
    await context.request.close(code=code, reason=reason)
    # Returning would make Strawberry send `complete` on the closed socket; it cancels this
    # operation as soon as it sees the connection end.
    await asyncio.Event().wait()
