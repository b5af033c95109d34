"""Live trades across processes: one Redis pub/sub subscription per process, fanned out locally.

Each batch is serialized once by the process that committed it and decoded once by every process;
the local subscribers share the decoded events. Pub/sub delivers at most once: while Redis is
unreachable events are dropped (and logged), writes still commit, and the listener reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import astuple
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import parse_url
from redis.exceptions import RedisError

from cache.codec import Codec, trade_from_row, user_from_row
from events.broadcast import Broadcaster
from events.fanout import TradeEvent

logger = logging.getLogger(__name__)

# Batches waiting for Redis; beyond this a batch is dropped rather than held in memory.
OUTBOX_SIZE = 10_000
# How long start() waits for the first subscription before serving anyway (fail open).
READY_TIMEOUT = 2.0
MAX_RECONNECT_DELAY = 5.0
CLIENT_NAME = "trading-api-live"

EVENTS: Codec[list[TradeEvent]] = Codec(
    lambda events: [[astuple(e.trade), astuple(e.user)] for e in events],
    lambda rows: [TradeEvent(trade_from_row(t), user_from_row(u)) for t, u in rows],
)


def channel_for(url: str) -> str:
    """Pub/sub ignores the database number; the channel name carries it, so deployments that
    share a Redis server on different databases do not see each other's trades."""
    return f"trading-api:{parse_url(url).get('db', 0)}:trades"


class RedisBroadcaster(Broadcaster):
    def __init__(self, url: str, queue_size: int) -> None:
        super().__init__(queue_size)
        # Named, so operators (and tests) can tell these connections apart in CLIENT LIST.
        self._redis: Redis = Redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=5, client_name=CLIENT_NAME
        )
        self.channel = channel_for(url)
        # Publishing keeps commit order: one task sends the outbox in FIFO order.
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue(OUTBOX_SIZE)
        self._subscribed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._send_outbox(), name="live-trades-publisher"),
            asyncio.create_task(self._listen(), name="live-trades-listener"),
        ]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), READY_TIMEOUT)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._redis.aclose()

    def publish(self, events: Sequence[TradeEvent]) -> None:
        try:
            self._outbox.put_nowait(EVENTS.encode(list(events)))
        except asyncio.QueueFull:
            logger.error("live trades: Redis outbox full, %d trades not published", len(events))

    async def _send_outbox(self) -> None:
        payload = await self._outbox.get()
        delay = 0.1
        while True:
            try:
                await self._redis.publish(self.channel, payload)
            except (RedisError, OSError) as error:
                # Retried in order until Redis answers or the outbox overflows.
                logger.warning("live trades: publish failed (%s), retrying in %.1fs", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RECONNECT_DELAY)
                continue
            delay = 0.1
            payload = await self._outbox.get()

    async def _listen(self) -> None:
        delay = 0.1
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    self._subscribed.set()
                    delay = 0.1
                    while True:
                        message = await pubsub.get_message(
                            ignore_subscribe_messages=True, timeout=1.0
                        )
                        if message is not None:
                            self._deliver(message)
            except (RedisError, OSError) as error:
                self._subscribed.clear()
                logger.warning("live trades: Redis subscription lost (%s), retrying", error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RECONNECT_DELAY)

    def _deliver(self, message: dict[str, Any]) -> None:
        try:
            events = EVENTS.decode(message["data"])
        except (ValueError, TypeError, KeyError):
            logger.exception("live trades: undecodable message on %s", self.channel)
            return
        self.fanout.deliver(events)
