"""Fan-out inside one process: a bounded queue per subscriber, filtered by currency."""

from __future__ import annotations

import asyncio
from collections import Counter, OrderedDict, defaultdict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from db.models import TradeRecord, UserRecord
from events.shared_results import SharedResults
from observability.metrics import EVENTS_DELIVERED, SUBSCRIPTIONS

V = TypeVar("V")
# Events whose view (Fanout.shared_view) is kept: subscribers move through events nearly in step,
# and one that falls further behind builds its own.
MAX_VIEWS = 16


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
    def __init__(
        self, currency: str | None, queue_size: int, done: Callable[[TradeEvent], None]
    ) -> None:
        self.currency = currency
        # A bounded queue with one reader: a deque and the reader's wake-up, which cost a
        # delivery less than asyncio.Queue's general bookkeeping.
        self.queue_size = queue_size
        self._queue: deque[TradeEvent] = deque()
        self._waiting: asyncio.Future[None] | None = None
        self.overflowed = False
        self._done = done  # told of each event this subscriber is finished with
        self._current: TradeEvent | None = None
        self._batch: list[TradeEvent] = []  # what `batches` handed out last

    def offer(self, event: TradeEvent) -> bool:
        """Queue the event; False (and overflowed from then on) when the queue is full."""
        if len(self._queue) >= self.queue_size:
            self.overflowed = True
            return False
        self._queue.append(event)
        if self._waiting is not None and not self._waiting.done():
            self._waiting.set_result(None)
        return True

    async def events(self) -> AsyncIterator[TradeEvent]:
        while not self.overflowed:
            # Asking for the next event means the last one was executed and sent.
            self._finish_current()
            await self._queued()
            self._current = self._queue.popleft()
            yield self._current
        raise SlowConsumerError(self.queue_size)

    async def batches(self) -> AsyncIterator[list[TradeEvent]]:
        """As `events`, but every event queued at once: a subscriber that waits takes each
        delivery (Fanout.deliver) as one batch, as every other waiting subscriber does."""
        while not self.overflowed:
            self._finish_current()
            await self._queued()
            self._batch = list(self._queue)
            self._queue.clear()
            yield self._batch
        raise SlowConsumerError(self.queue_size)

    async def _queued(self) -> None:
        """Returns once an event is queued."""
        while not self._queue:
            self._waiting = asyncio.get_running_loop().create_future()
            try:
                await self._waiting
            finally:
                self._waiting = None

    def close(self) -> None:
        """Leaving: the event in hand and those still queued are done for this subscriber."""
        self._finish_current()
        while self._queue:
            self._done(self._queue.popleft())

    def _finish_current(self) -> None:
        if self._current is not None:
            event, self._current = self._current, None
            self._done(event)
        if self._batch:
            batch, self._batch = self._batch, []
            for event in batch:
                self._done(event)


@dataclass
class LiveCounters:
    connections: int = 0
    delivered: int = 0
    slow_consumers_closed: int = 0
    # Selections executed for events, and deliveries that reused another subscriber's result.
    executions: int = 0
    shared_results: int = 0


class Fanout:
    """Every local subscriber gets each event once, in delivery order; an event's shared
    results are kept until every subscriber it was queued for is done with it."""

    def __init__(self, queue_size: int) -> None:
        self.queue_size = queue_size
        self.counters = LiveCounters()
        self.results = SharedResults()
        self._all: set[Subscriber] = set()
        self._by_currency: defaultdict[str, set[Subscriber]] = defaultdict(set)
        # Subscribers each event is queued for and not yet done with, by trade id.
        self._pending: Counter[int] = Counter()
        self._views: OrderedDict[int, Any] = OrderedDict()  # by trade id

    @property
    def subscriber_count(self) -> int:
        return len(self._all) + sum(len(s) for s in self._by_currency.values())

    def shared_result(
        self, event: int, selection: Hashable, run: Callable[[], Any]
    ) -> Awaitable[Any]:
        """The result of `selection` for `event`: run once, shared by subscribers who select the
        same (schema/execution.py), and counted either way."""
        result, shared = self.results.get_or_run(event, selection, run)
        if shared:
            self.counters.shared_results += 1
        else:
            self.counters.executions += 1
        return result

    def shared_view(self, event: TradeEvent, build: Callable[[TradeEvent], V]) -> V:
        """`build(event)`, built once for all the event's subscribers: what they are given of it
        (resolvers/subscription.py), which none of them may change."""
        trade_id = event.trade.id
        view = self._views.get(trade_id)
        if view is None:
            view = self._views[trade_id] = build(event)
            if len(self._views) > MAX_VIEWS:
                self._views.popitem(last=False)
        return view

    def deliver(self, events: Sequence[TradeEvent]) -> None:
        by_currency: defaultdict[str, list[TradeEvent]] = defaultdict(list)
        for event in events:
            by_currency[event.trade.currency].append(event)
        self._offer(self._all, events)
        for currency, matching in by_currency.items():
            if subscribers := self._by_currency.get(currency):
                self._offer(subscribers, matching)

    def _offer(self, subscribers: set[Subscriber], events: Sequence[TradeEvent]) -> None:
        delivered = 0
        for subscriber in list(subscribers):
            for event in events:
                if not subscriber.offer(event):
                    # Never buffer without limit: the subscriber is dropped, and told so.
                    subscribers.discard(subscriber)
                    self.counters.slow_consumers_closed += 1
                    break
                self._pending[event.trade.id] += 1
                delivered += 1
        self.counters.delivered += delivered
        EVENTS_DELIVERED.inc(delivered)  # once: the metric takes a lock each time

    def _done(self, event: TradeEvent) -> None:
        trade_id = event.trade.id
        self._pending[trade_id] -= 1
        if self._pending[trade_id] <= 0:
            del self._pending[trade_id]
            self.results.forget(trade_id)

    @asynccontextmanager
    async def subscribe(self, currency: str | None = None) -> AsyncIterator[Subscriber]:
        subscriber = Subscriber(currency, self.queue_size, self._done)
        group = self._all if currency is None else self._by_currency[currency]
        group.add(subscriber)
        SUBSCRIPTIONS.inc()
        try:
            yield subscriber
        finally:
            group.discard(subscriber)
            subscriber.close()
            SUBSCRIPTIONS.dec()
            if currency is not None and not group and self._by_currency.get(currency) is group:
                del self._by_currency[currency]
