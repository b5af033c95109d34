"""In-process fan-out of committed trades to live subscriptions (the embedded default)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from db.records import TradeRecord

QUEUE_SIZE = 1000


class SlowConsumerError(Exception):
    """A subscriber fell more than QUEUE_SIZE events behind and was dropped."""


class Subscriber:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[TradeRecord] = asyncio.Queue(QUEUE_SIZE)
        self.overflowed = False

    async def events(self) -> AsyncIterator[TradeRecord]:
        while True:
            if self.overflowed and self.queue.empty():
                raise SlowConsumerError
            yield await self.queue.get()


class Broadcaster:
    """Publishes after commit; every subscriber gets every trade once, in publish order."""

    def __init__(self) -> None:
        self._subscribers: set[Subscriber] = set()

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    async def publish(self, trades: Sequence[TradeRecord]) -> None:
        for subscriber in list(self._subscribers):
            for trade in trades:
                try:
                    subscriber.queue.put_nowait(trade)
                except asyncio.QueueFull:
                    # Never buffer without limit: the subscriber is cut off instead.
                    subscriber.overflowed = True
                    self._subscribers.discard(subscriber)
                    break

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[Subscriber]:
        subscriber = Subscriber()
        self._subscribers.add(subscriber)
        try:
            yield subscriber
        finally:
            self._subscribers.discard(subscriber)
