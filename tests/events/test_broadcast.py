"""The fan-out inside a process and how long it holds shared results, the sockets a broadcaster
ends, and the Redis broadcaster's recovery from a lost connection."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from redis.asyncio import Redis

from db.models import TradeRecord, UserRecord
from events.broadcast import Broadcaster, LiveSocket, SessionsEnded
from events.fanout import MAX_VIEWS, Fanout, SlowConsumerError, TradeEvent
from events.redis_broadcast import CLIENT_NAME, RedisBroadcaster
from events.shared_results import SharedResults

NOW = datetime(2026, 11, 29, tzinfo=UTC)
TRADER = UserRecord(1, "t@example.com", "Trader", "user", True, NOW)


def event(trade_id: int, currency: str = "BTC") -> TradeEvent:
    trade = TradeRecord(trade_id, 1, currency, "BUY", Decimal("1.5"), Decimal("2"), NOW)
    return TradeEvent(trade, TRADER)


async def next_id(events: AsyncIterator[TradeEvent]) -> int:
    return (await asyncio.wait_for(anext(events), 5)).trade.id


async def test_filtered_subscribers_get_only_their_currency_in_order() -> None:
    fanout = Fanout(queue_size=10)
    async with fanout.subscribe() as everything, fanout.subscribe("ETH") as eth:
        fanout.deliver([event(1, "BTC"), event(2, "ETH"), event(3, "ETH")])
        all_events, eth_events = everything.events(), eth.events()
        assert [await next_id(all_events) for _ in range(3)] == [1, 2, 3]
        assert [await next_id(eth_events) for _ in range(2)] == [2, 3]
        assert fanout.counters.delivered == 5
    assert fanout.subscriber_count == 0


async def test_a_full_queue_cuts_off_that_subscriber_only() -> None:
    fanout = Fanout(queue_size=2)
    async with fanout.subscribe() as slow, fanout.subscribe() as fast:
        fast_events = fast.events()
        for trade_id in range(1, 4):
            fanout.deliver([event(trade_id)])
            assert await next_id(fast_events) == trade_id
        assert fanout.subscriber_count == 1
        assert fanout.counters.slow_consumers_closed == 1
        with pytest.raises(SlowConsumerError, match="more than 2 trades behind"):
            await anext(slow.events())
    assert fanout.subscriber_count == 0


def test_a_view_of_an_event_is_built_once_for_all_its_subscribers() -> None:
    fanout, built = Fanout(queue_size=10), []

    def build(shown: TradeEvent) -> str:
        built.append(shown.trade.id)
        return f"view of {shown.trade.id}"

    first, second = event(1), event(2)
    views = [fanout.shared_view(shown, build) for shown in (first, first, second, first)]
    assert views == ["view of 1", "view of 1", "view of 2", "view of 1"]
    assert built == [1, 2]
    for trade_id in range(3, 3 + MAX_VIEWS):  # only the latest events' views are kept
        fanout.shared_view(event(trade_id), build)
    fanout.shared_view(first, build)
    assert built == [1, 2, *range(3, 3 + MAX_VIEWS), 1]


async def share(results: SharedResults, trade_id: int, selection: str = "selection") -> bool:
    awaitable, shared = results.get_or_run(trade_id, selection, lambda: f"result of {trade_id}")
    assert await awaitable == f"result of {trade_id}"
    return shared


async def test_an_events_results_go_when_every_subscriber_is_done_with_it() -> None:
    fanout = Fanout(queue_size=10)
    async with fanout.subscribe() as first, fanout.subscribe() as second:
        fanout.deliver([event(1), event(2)])
        ones, twos = first.events(), second.events()
        assert await next_id(ones) == 1
        assert not await share(fanout.results, 1)
        assert await next_id(ones) == 2  # the first is done with 1; the second is not
        assert len(fanout.results) == 1
        assert await next_id(twos) == 1
        assert await share(fanout.results, 1)
        assert await next_id(twos) == 2
        assert len(fanout.results) == 0


async def test_a_subscriber_that_leaves_is_done_with_what_it_had_queued() -> None:
    fanout = Fanout(queue_size=10)
    async with fanout.subscribe() as reader:
        async with fanout.subscribe():  # never reads
            fanout.deliver([event(1)])
            assert await next_id(reader.events()) == 1
            await share(fanout.results, 1)
        assert len(fanout.results) == 1  # the reader still has it in hand
    assert len(fanout.results) == 0


async def test_results_held_are_capped_whatever_subscribers_do() -> None:
    """A subscriber that never reads keeps its events pending: the cap still holds."""
    results = SharedResults(max_results=3)
    for trade_id in range(1, 6):
        await share(results, trade_id)
        await share(results, 1)  # used again each time: the least recently used go first
    assert len(results) == 3
    assert await share(results, 1)
    assert not await share(results, 2)


class Closes:
    """What a tracked socket was closed with."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, str]] = []

    async def __call__(self, code: int, reason: str) -> None:
        self.seen.append((code, reason))


def live_socket(closes: Closes, expires_in: float, user_id: int = 1) -> LiveSocket:
    expires_at = datetime.now(UTC) + timedelta(seconds=expires_in)
    return LiveSocket(user_id, "session", 1, expires_at, closes)


async def test_a_socket_is_closed_when_its_token_expires() -> None:
    broadcaster, closes = Broadcaster(queue_size=10), Closes()
    broadcaster.track_socket(1, live_socket(closes, expires_in=0.2))
    assert broadcaster.session_lasts(1)
    await asyncio.sleep(0.3)
    assert closes.seen == [(4403, "Session expired")]
    assert not broadcaster.session_lasts(1)
    assert broadcaster.open_sockets(1) == 0


async def test_an_expired_socket_starts_nothing_even_before_its_timer_runs() -> None:
    """A busy loop runs the expiry timer late: the check itself sees the expiry and closes."""
    broadcaster, closes = Broadcaster(queue_size=10), Closes()
    broadcaster.track_socket(1, live_socket(closes, expires_in=0.05))
    time.sleep(0.1)  # noqa: ASYNC251 - blocks the loop on purpose: the timer cannot run
    assert not broadcaster.session_lasts(1)
    await asyncio.sleep(0)
    assert closes.seen == [(4403, "Session expired")]
    await asyncio.sleep(0.1)
    assert len(closes.seen) == 1  # the timer, cancelled, closes nothing more


async def test_sockets_are_counted_per_user_until_untracked_or_ended() -> None:
    broadcaster, closes = Broadcaster(queue_size=10), Closes()
    for key in (1, 2, 3):
        broadcaster.track_socket(key, live_socket(closes, expires_in=60, user_id=7))
    broadcaster.track_socket(3, live_socket(closes, expires_in=60, user_id=7))  # again: once
    broadcaster.track_socket(4, live_socket(closes, expires_in=60, user_id=8))
    assert (broadcaster.open_sockets(7), broadcaster.open_sockets(8)) == (3, 1)
    broadcaster.untrack_socket(1)
    await broadcaster.end_sessions(SessionsEnded(user_id=8))
    await asyncio.sleep(0)
    assert (broadcaster.open_sockets(7), broadcaster.open_sockets(8)) == (2, 0)
    assert closes.seen == [(4403, "Session ended")]
    assert not broadcaster.session_lasts(4)


async def test_redis_listener_resubscribes_after_its_connection_is_killed(redis_url: str) -> None:
    broadcaster = RedisBroadcaster(redis_url, queue_size=10)
    await broadcaster.start()
    try:
        async with broadcaster.subscribe() as subscriber, Redis.from_url(redis_url) as admin:
            events = subscriber.events()
            broadcaster.publish_trades([event(1)])
            assert await next_id(events) == 1
            ours = [c for c in await admin.client_list() if c["name"] == CLIENT_NAME]
            assert ours, "the broadcaster's connections are named"
            for client in ours:
                await admin.client_kill_filter(_id=client["id"])
            # At most once: what is published before the listener is back is lost, so wait.
            await asyncio.sleep(0.5)
            for _ in range(100):
                [(_, listeners)] = await admin.pubsub_numsub(broadcaster.channel)
                if listeners == 1:
                    break
                await asyncio.sleep(0.1)
            broadcaster.publish_trades([event(2)])
            assert await next_id(events) == 2
    finally:
        await broadcaster.close()
