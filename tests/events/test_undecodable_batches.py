"""A batch on the Redis channel that does not decode (another release's format during a rolling
deploy, garbage) is a batch missed: the feed reads the database at once, and the listener goes
on with the next batch."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import pytest
from redis.asyncio import Redis

from db import feed, trades, users
from db.models import USER_ROLE_ID, TradeRecord, UserRecord
from events.fanout import TradeEvent
from events.redis_broadcast import EVENTS, RedisBroadcaster
from services import Services
from settings import Settings
from tests.utils.app import serve
from tests.utils.settings import make_settings


@pytest.fixture
def settings(database_url: str, redis_url: str) -> Settings:
    # No poll within the test: what arrives, arrives through Redis or a read the batch caused.
    return make_settings(database_url, redis_url=redis_url, feed_poll_seconds=60)


async def trader(services: Services) -> UserRecord:
    async with services.sessions() as session:
        user = await users.create_user(
            session, email="t@example.com", name="T", password_hash="-", role_id=USER_ROLE_ID
        )
        await session.commit()
    return user


async def placed_elsewhere(services: Services, user: UserRecord) -> TradeRecord:
    """A trade written and placed in the feed as another process would: this process's relay
    (which would hand it to its feed directly) knows nothing of it."""
    values = {"user_id": user.id, "currency": "BTC", "side": "buy", "price": Decimal(1)}
    async with services.sessions() as session:
        await trades.insert_trades(session, [{**values, "amount": Decimal(2)}])
        await session.commit()
    async with services.sessions() as session:
        await feed.take_sequencer(session)
        [trade] = await feed.sequence_pending(session, limit=10)
        await session.commit()
    return trade


def previous_release(trade: TradeRecord, user: UserRecord) -> bytes:
    """How the release before this one published a batch: records by position, no version."""
    row = [trade.id, trade.user_id, trade.currency, trade.side, "1", "2", "2026-01-01", trade.seq]
    return json.dumps(
        [[row, [user.id, user.email, user.name, user.role, True, "2026-01-01"]]]
    ).encode()


async def test_an_undecodable_batch_is_read_from_the_database_and_the_next_one_decoded(
    settings: Settings,
) -> None:
    async with serve(settings) as (_, app), Redis.from_url(settings.redis_url or "") as redis:
        services: Services = app.state.services
        broadcaster = services.broadcaster
        assert isinstance(broadcaster, RedisBroadcaster)
        user = await trader(services)
        async with broadcaster.subscribe() as subscriber:
            events = subscriber.events()
            first = await placed_elsewhere(services, user)
            await redis.publish(broadcaster.channel, previous_release(first, user))
            got = await asyncio.wait_for(anext(events), 5)
            assert (got.trade, got.user) == (first, user)

            second = await placed_elsewhere(services, user)
            await redis.publish(broadcaster.channel, b"\xff garbage")
            assert (await asyncio.wait_for(anext(events), 5)).trade == second

            # The listener is still there: a batch in this release's format is delivered.
            third = await placed_elsewhere(services, user)
            await redis.publish(
                broadcaster.channel, EVENTS.encode_message([TradeEvent(third, user)])
            )
            assert (await asyncio.wait_for(anext(events), 5)).trade == third
        assert broadcaster.undecodable == 2
