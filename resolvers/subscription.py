"""Live trades: every trade committed from now on, optionally one currency only; after a position
in the feed, first the trades placed since then (a client resuming after a lost connection).
Live candles: the bucket a currency's new trades changed, read after each batch of them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing

import strawberry
from starlette.websockets import WebSocket
from strawberry import Info

from events.candles import candle_updates
from events.fanout import SlowConsumerError, TradeEvent
from resolvers.permissions import IsAuthenticated
from schema.context import Context
from schema.cost import Price
from schema.enums import CandleInterval
from schema.errors import BadUserInput, FeedGap
from schema.models import CandleFilter, TradeFilter
from schema.types import Candle, Trade
from schema.validation import validated
from services import Services

# RFC 6455 "Try Again Later": graphql-ws clients (Apollo's GraphQLWsLink) reconnect on it.
SLOW_CONSUMER_CLOSE_CODE = 1013
# Positions are 64-bit integers.
MAX_SEQ_DIGITS = 19
# What `candleUpdated` costs per event beyond its selection: a database statement per batch of
# the currency's trades, shared by the process's subscribers of the bucket. With its fields, one
# user's live budget (500) holds 17 charts: a trading page's, not a scraper's hundreds.
CANDLE_UPDATE_COST = 20


@strawberry.type
class Subscription:
    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description=(
            "Every trade committed from now on, on any server process; optionally one currency "
            "only. With after: first the trades delivered after that seq, then live ones."
        ),
    )
    async def trade_added(
        self, info: Info[Context, None], currency: str | None = None, after: str | None = None
    ) -> AsyncGenerator[Trade, None]:
        wanted = validated(TradeFilter, currency=currency).currency
        context = info.context
        services = context.services
        try:
            # Subscribed before the replay is read: what is placed meanwhile waits in the queue,
            # and the replayed positions are skipped there.
            async with services.broadcaster.subscribe(wanted) as subscriber:
                last = 0
                if after is not None:
                    last = await _resume_from(services, after)
                    async for event in services.feed.replay(last, wanted):
                        yield Trade.from_record(event.trade, trader=event.user)
                        last = event.trade.seq or last
                async for event in subscriber.events():
                    if (event.trade.seq or 0) > last:
                        yield services.broadcaster.shared_view(event, _trade)
        except SlowConsumerError as error:
            await _close_socket(context, SLOW_CONSUMER_CLOSE_CODE, str(error))

    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description="The current bucket of a currency's candles, each time a trade changes it.",
        metadata=Price(cost=CANDLE_UPDATE_COST).metadata,
    )
    async def candle_updated(
        self, info: Info[Context, None], currency: str, interval: CandleInterval
    ) -> AsyncGenerator[Candle, None]:
        wanted = validated(CandleFilter, currency=currency, interval=interval)
        context = info.context
        services = context.services
        try:
            async with (
                services.broadcaster.subscribe(wanted.currency) as subscriber,
                aclosing(
                    candle_updates(
                        subscriber,
                        services.broadcaster,
                        services.sessions,
                        wanted.currency,
                        wanted.interval,
                    )
                ) as updates,
            ):
                async for record in updates:
                    yield Candle.from_record(record, wanted.currency, wanted.interval)
        except SlowConsumerError as error:
            await _close_socket(context, SLOW_CONSUMER_CLOSE_CODE, str(error))


def _trade(event: TradeEvent) -> Trade:
    return Trade.from_record(event.trade, trader=event.user)


async def _resume_from(services: Services, after: str) -> int:
    """The position to resume after: BAD_USER_INPUT if it is none the feed gave out, FEED_GAP if
    more trades came since than a resumption replays (the client refetches instead)."""
    position = int(after) if after.isdigit() and len(after) <= MAX_SEQ_DIGITS else None
    newest = await services.feed.newest()
    if position is None or position > newest:
        raise BadUserInput(f"after: {after!r} is not a position of the feed", argument="after")
    if newest - position > services.settings.feed_max_replay:
        raise FeedGap(
            f"more than {services.settings.feed_max_replay} trades were placed after {after}: "
            "refetch the trades, then subscribe without after",
            argument="after",
        )
    return position


async def _close_socket(context: Context, code: int, reason: str) -> None:
    """Close the whole connection: its reader fell behind, so every operation on it did."""
    if not isinstance(context.request, WebSocket):
        return
    await context.request.close(code=code, reason=reason)
    # Returning would make Strawberry send `complete` on the closed socket; it cancels this
    # operation as soon as it sees the connection end.
    await asyncio.Event().wait()
