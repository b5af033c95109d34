"""This process's view of the live feed: every trade delivered to the local subscribers once, in
the feed's order (`seq`), whatever reached it through Redis, late or not at all.

Positions are consecutive (db/feed.py), so a gap is visible: the missing trades are read from the
database before the ones after them are delivered. A poll reads what no message announced (Redis
down, a publish lost with a crashed process).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import feed
from events.fanout import Fanout, TradeEvent

logger = logging.getLogger(__name__)

# Trades read from the database per statement when filling a gap or replaying.
PAGE = 500
# Batches received and not yet put in order; beyond, they are dropped and read back by the poll.
INBOX_SIZE = 1_000
MAX_RETRY_DELAY = 5.0


class LiveFeed:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], fanout: Fanout, poll_seconds: float
    ) -> None:
        self._sessions = sessions
        self._fanout = fanout
        self._poll_seconds = poll_seconds
        self._inbox: asyncio.Queue[Sequence[TradeEvent]] = asyncio.Queue(INBOX_SIZE)
        self._task: asyncio.Task[None] | None = None
        # The position of the last trade delivered to this process's subscribers.
        self.delivered = 0

    async def start(self) -> None:
        """Deliver from the newest position on: subscribers get the trades committed from now."""
        async with self._sessions() as session:
            self.delivered = await feed.newest(session)
        self._task = asyncio.create_task(self._run(), name="live-feed")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def receive(self, events: Sequence[TradeEvent]) -> None:
        """Placed trades, from this process's relay or another's through Redis; any order.

        An empty batch says trades were announced that could not be read (a message in another
        release's format): the feed reads the database at once rather than at its next poll."""
        try:
            self._inbox.put_nowait(events)
        except asyncio.QueueFull:
            logger.warning("live feed: inbox full, %d trades left to the poll", len(events))

    async def _run(self) -> None:
        delay = 0.1
        while True:
            try:
                try:
                    async with asyncio.timeout(self._poll_seconds):
                        events = await self._inbox.get()
                except TimeoutError:
                    await self._catch_up()
                else:
                    await (self._take(events) if events else self._catch_up())
                delay = 0.1
            except Exception as error:  # the database is down: nothing is lost, try again
                logger.warning("live feed: %r; retrying in %.1f s", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_DELAY)

    async def _take(self, events: Sequence[TradeEvent]) -> None:
        ready: list[TradeEvent] = []
        for event in sorted(events, key=_seq):
            seq = _seq(event)
            if seq <= self.delivered:
                continue  # delivered already (a second relay's echo, a poll that came first)
            if seq > self.delivered + 1:
                self._deliver(ready)
                ready = []
                await self._read(before=seq)
            ready.append(event)
            self.delivered = seq
        self._deliver(ready)

    async def _catch_up(self) -> None:
        await self._read(before=None)

    async def _read(self, *, before: int | None) -> None:
        """Deliver the trades placed after the last delivered one (and before `before`)."""
        while True:
            async with self._sessions() as session:
                rows = await feed.events_after(session, self.delivered, before=before, limit=PAGE)
            if not rows:
                return
            events = [TradeEvent(trade, user) for trade, user in rows]
            self._deliver(events)
            self.delivered = _seq(events[-1])
            if len(rows) < PAGE:
                return

    def _deliver(self, events: list[TradeEvent]) -> None:
        if events:
            self._fanout.deliver(events)

    async def replay(self, after: int, currency: str | None) -> AsyncIterator[TradeEvent]:
        """The trades placed after position `after`, from the database, in feed order."""
        while True:
            async with self._sessions() as session:
                rows = await feed.events_after(session, after, currency=currency, limit=PAGE)
            for trade, user in rows:
                yield TradeEvent(trade, user)
            if len(rows) < PAGE:
                return
            after = _seq(TradeEvent(*rows[-1]))

    async def newest(self) -> int:
        async with self._sessions() as session:
            return await feed.newest(session)


def _seq(event: TradeEvent) -> int:
    """Its place: events always carry the one their relay gave them."""
    return event.trade.seq or 0
