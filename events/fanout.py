"""Fan-out inside one process: a bounded queue per subscriber, filtered by currency."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from db.records import TradeRecord, UserRecord
from observability.metrics import EVENTS_DELIVERED, SUBSCRIPTIONS


@dataclass(frozen=True, slots=True)
class TradeEvent:
    """A committed trade and its trader: subscribers resolve `user` without a lookup each."""

    trade: TradeRecord
    user: UserRecord


class SlowConsumerError(Exception):
    """The subscriber fell a whole queue behind: cut off, never buffered without limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"slow consumer: fell more than {limit} trades behind")


class Subscriber:
    def __init__(self, currency: str | None, queue_size: int) -> None:
        self.currency = currency
        self._queue: asyncio.Queue[TradeEvent] = asyncio.Queue(queue_size)
        self.overflowed = False

    def offer(self, event: TradeEvent) -> bool:
        """Queue the event; False (and overflowed from then on) when the queue is full."""
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True
            return False
        return True

    async def events(self) -> AsyncIterator[TradeEvent]:
        while not self.overflowed:
            yield await self._queue.get()
        raise SlowConsumerError(self._queue.maxsize)


@dataclass
class LiveCounters:
    connections: int = 0
    delivered: int = 0
    slow_consumers_closed: int = 0
    # Selections executed for events, and deliveries that reused another subscriber's result.
    executions: int = 0
    shared_results: int = 0


class Fanout:
    """Every local subscriber gets each event once, in delivery order."""

    def __init__(self, queue_size: int) -> None:
        self.queue_size = queue_size
        self.counters = LiveCounters()
        self._all: set[Subscriber] = set()
        self._by_currency: defaultdict[str, set[Subscriber]] = defaultdict(set)

    @property
    def subscriber_count(self) -> int:
        return len(self._all) + sum(len(s) for s in self._by_currency.values())

    def deliver(self, events: Sequence[TradeEvent]) -> None:
        by_currency: defaultdict[str, list[TradeEvent]] = defaultdict(list)
        for event in events:
            by_currency[event.trade.currency].append(event)
        self._offer(self._all, events)
        for currency, matching in by_currency.items():
            if subscribers := self._by_currency.get(currency):
                self._offer(subscribers, matching)

    def _offer(self, subscribers: set[Subscriber], events: Sequence[TradeEvent]) -> None:
        for subscriber in list(subscribers):
            for event in events:
                if not subscriber.offer(event):
                    # Never buffer without limit: the subscriber is dropped, and told so.
                    subscribers.discard(subscriber)
                    self.counters.slow_consumers_closed += 1
                    break
                self.counters.delivered += 1
                EVENTS_DELIVERED.inc()

    @asynccontextmanager
    async def subscribe(self, currency: str | None = None) -> AsyncIterator[Subscriber]:
        subscriber = Subscriber(currency, self.queue_size)
        group = self._all if currency is None else self._by_currency[currency]
        group.add(subscriber)
        SUBSCRIPTIONS.inc()
        try:
            yield subscriber
        finally:
            group.discard(subscriber)
            SUBSCRIPTIONS.dec()
            if currency is not None and not group and self._by_currency.get(currency) is group:
                del self._by_currency[currency]
