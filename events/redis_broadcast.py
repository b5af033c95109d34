"""Live trades across processes: one Redis pub/sub subscription per process.

Each batch is serialized once by the process whose relay placed it in the feed and decoded once by
every process, whose feed puts it in order. Pub/sub delivers at most once, and need not do more:
what a process misses while Redis is unreachable, its feed reads from the database.

A batch travels as its records by field name behind their format version (cache/codec.py). One
that does not decode (another release's format during a rolling deploy, garbage) is a batch
missed: the feed is told to read the database at once, as for a gap, and the listener goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import parse_url
from redis.exceptions import RedisError

from cache.codec import Codec, Undecodable
from events.broadcast import Broadcaster, SessionsEnded
from events.fanout import TradeEvent

logger = logging.getLogger(__name__)

# How long start() waits for the first subscription before serving anyway (fail open).
READY_TIMEOUT = 2.0
MAX_RECONNECT_DELAY = 5.0
# Publishing waits this long at most: the relay goes on, and the feeds catch up.
PUBLISH_TIMEOUT = 2.0
# Publishes in flight at most; beyond, a batch is left to the feeds' catching up.
MAX_PUBLISHING = 64
CLIENT_NAME = "trading-api-live"

EVENTS = Codec(list[TradeEvent])


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
            url,
            socket_connect_timeout=PUBLISH_TIMEOUT,
            socket_timeout=5,
            client_name=CLIENT_NAME,
        )
        self.channel = channel_for(url)
        self.sessions_channel = channel_for(url, "sessions")
        self._subscribed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._publishing: set[asyncio.Task[None]] = set()
        # Trade batches received that did not decode.
        self.undecodable = 0

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._listen(), name="live-trades-listener")]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), READY_TIMEOUT)

    async def close(self) -> None:
        for task in [*self._tasks, *self._publishing]:
            task.cancel()
        for task in [*self._tasks, *self._publishing]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._redis.aclose()

    def publish_trades(self, events: Sequence[TradeEvent]) -> None:
        if len(self._publishing) >= MAX_PUBLISHING:
            # Redis is slow or gone: the other processes' feeds read these from the database.
            return
        task = asyncio.create_task(self._publish(EVENTS.encode_message(list(events))))
        self._publishing.add(task)
        task.add_done_callback(self._publishing.discard)

    async def _publish(self, payload: bytes) -> None:
        try:
            async with asyncio.timeout(PUBLISH_TIMEOUT):
                await self._redis.publish(self.channel, payload)
        except (RedisError, OSError, TimeoutError) as error:
            logger.warning("live trades: publish failed (%r); the feeds will catch up", error)

    async def end_sessions(self, ended: SessionsEnded) -> None:
        self.close_ended(ended)
        async with asyncio.timeout(PUBLISH_TIMEOUT):
            await self._redis.publish(self.sessions_channel, _encode_ended(ended))

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
        if channel != self.sessions_channel:
            try:
                events = EVENTS.decode_message(message["data"])
            except Undecodable as error:
                # A warning the first time: in a rolling deploy every old process's batch is one.
                level = logging.DEBUG if self.undecodable else logging.WARNING
                self.undecodable += 1
                logger.log(
                    level, "live trades: batch not decoded, read from the database: %s", error
                )
                events = []  # an empty batch: the feed reads what it missed from the database now
            self.received(events)
            return
        try:
            self.close_ended(_decode_ended(message["data"]))
        except (ValueError, TypeError, KeyError):
            logger.exception("live trades: undecodable message on %s", channel)
