"""Live trades: publish committed trades, in commit order, to every subscriber on every process."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from events.fanout import Fanout, Subscriber, TradeEvent


class Broadcaster:
    """The embedded default: trades published by this process reach this process's subscribers.

    Subclasses carry the events between processes; local delivery always goes through `fanout`.
    """

    def __init__(self, queue_size: int) -> None:
        self.fanout = Fanout(queue_size)
        self._commit_order = asyncio.Lock()

    async def start(self) -> None:
        """Ready to deliver events published anywhere."""

    async def close(self) -> None:
        """Stop delivering; subscribers already connected see no more events."""

    def publish(self, events: Sequence[TradeEvent]) -> None:
        """Hand the events on without waiting: a slow network never holds a request."""
        self.fanout.deliver(events)

    @asynccontextmanager
    async def publish_after(self, events: Sequence[TradeEvent]) -> AsyncIterator[None]:
        """Publish `events` when the block (the commit) succeeds; nothing when it raises.

        One commit at a time per process holds the lock, so this process publishes its batches
        in the order the database committed them.
        """
        async with self._commit_order:
            yield
            self.publish(events)

    def subscribe(self, currency: str | None = None) -> AbstractAsyncContextManager[Subscriber]:
        return self.fanout.subscribe(currency)
