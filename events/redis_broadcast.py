"""Live trades across processes: one Redis pub/sub subscription per process, fanned out locally.

Each batch is serialized once by the process that committed it and decoded once by every process;
the local subscribers share the decoded events. Pub/sub delivers at most once: while Redis is
unreachable events are dropped (and logged), writes still commit, and the listener reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from dataclasses import astuple
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import parse_url
from redis.exceptions import RedisError

from cache.codec import Codec, trade_from_row, user_from_row
from events.broadcast import Broadcaster, SessionsEnded
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


def channel_for(url: str, topic: str = "trades") -> str:
    """Pub/sub ignores the database number; the channel name carries it, so deployments that
    share a Redis server on different databases do not see each other's events."""
    return f"trading-api:{parse_url(url).get('db', 0)}:{topic}"


def _encode_ended(ended: SessionsEnded) -> bytes:
    return json.dumps(
        [ended.user_id, ended.session_id, ended.below_version], separators=(",", ":")
    ).encode()


def _decode_ended(raw: bytes) -> SessionsEnded:
    user_id, session_id, below_version = json.loads(raw)
    return SessionsEnded(user_id, session_id, below_version)


class RedisBroadcaster(Broadcaster):
    def __init__(self, url: str, queue_size: int) -> None:
        super().__init__(queue_size)
        # Named, so operators (and tests) can tell these connections apart in CLIENT LIST.
        self._redis: Redis = Redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=5, client_name=CLIENT_NAME
        )
        self.channel = channel_for(url)
        self.sessions_channel = channel_for(url, "sessions")
        # Publishing keeps commit order: one task sends the outbox in FIFO order.
        self._outbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(OUTBOX_SIZE)
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
        self._send(self.channel, EVENTS.encode(list(events)))

    def end_sessions(self, ended: SessionsEnded) -> None:
        # Through Redis like the trades, so this process closes its own sockets on receipt too.
        self._send(self.sessions_channel, _encode_ended(ended))

    def _send(self, channel: str, payload: bytes) -> None:
        try:
            self._outbox.put_nowait((channel, payload))
        except asyncio.QueueFull:
            logger.error("live trades: Redis outbox full, a message to %s was dropped", channel)

    async def _send_outbox(self) -> None:
        channel, payload = await self._outbox.get()
        delay = 0.1
        while True:
            try:
                await self._redis.publish(channel, payload)
            except (RedisError, OSError) as error:
                # Retried in order until Redis answers or the outbox overflows.
                logger.warning("live trades: publish failed (%s), retrying in %.1fs", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RECONNECT_DELAY)
                continue
            delay = 0.1
            channel, payload = await self._outbox.get()

    async def _listen(self) -> None:
        delay = 0.1
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel, self.sessions_channel)
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
        channel = message["channel"].decode()
        try:
            if channel == self.sessions_channel:
                self.close_ended(_decode_ended(message["data"]))
            else:
                self.fanout.deliver(EVENTS.decode(message["data"]))
        except (ValueError, TypeError, KeyError):
            logger.exception("live trades: undecodable message on %s", channel)
