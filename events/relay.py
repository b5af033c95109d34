"""The relay: delivers, after commit, what a commit left for others, from every API process.

- New trades (written with no place in the feed) get the next positions under one lock shared
  by all processes, then go to this process's feed and, through Redis, to the others'.
- Outbox messages (db/outbox.py): jobs go to the job queue, ended sessions to every process.
  A message is deleted only once delivered, so a Redis outage delays it and loses nothing.

Every process runs one: woken by its own commits, and polling for what a crashed or cut-off
process left behind. One transaction at a time places trades (PostgreSQL: an advisory lock);
outbox messages are taken with SKIP LOCKED, so two relays never deliver the same one at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db import data_versions, feed, outbox, users
from events.broadcast import Broadcaster, SessionsEnded
from events.fanout import TradeEvent
from events.feed import LiveFeed
from observability.metrics import EVENTS_PUBLISHED
from workers.outage import REDIS_DOWN
from workers.queue import JobQueue

logger = logging.getLogger(__name__)

# Trades placed, or outbox messages delivered, per transaction.
BATCH = 1_000
MAX_RETRY_DELAY = 5.0
# Tries of a message that fails for a reason of its own (not an outage) before it is dropped.
MESSAGE_TRIES = 3
# How often jobs a queue may have lost are handed to it again (workers/queue.py `recover`): with
# workers/arq_queue.py's RECOVER_AFTER, a job Redis lost runs again within 15 s of its enqueue.
RECOVER_SECONDS = 5.0


class Relay:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        live_feed: LiveFeed,
        broadcaster: Broadcaster,
        jobs: JobQueue,
        poll_seconds: float,
    ) -> None:
        self._sessions = sessions
        self._feed = live_feed
        self._broadcaster = broadcaster
        self._jobs = jobs
        self._poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        # What the wake was for: a trade commit need not look in the outbox, and the other way.
        self._trades_waiting = self._messages_waiting = True
        self._task: asyncio.Task[None] | None = None
        self._delivering = asyncio.Lock()
        self._failed: dict[int, int] = {}  # message id: failed tries, outages aside
        jobs.outbox = self

    def trades_committed(self) -> None:
        """Trades were committed: place them in the feed now rather than at the next poll."""
        self._trades_waiting = True
        self._wake.set()

    def wake(self) -> None:
        """An outbox message was committed: deliver it now rather than at the next poll."""
        self._messages_waiting = True
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        delay = 0.1
        recovered_at = time.monotonic()
        while True:
            polled = False
            try:
                async with asyncio.timeout(self._poll_seconds):
                    await self._wake.wait()
            except TimeoutError:
                polled = True
            self._wake.clear()
            trades, messages = self._trades_waiting or polled, self._messages_waiting or polled
            self._trades_waiting = self._messages_waiting = False
            try:
                await self.deliver(trades=trades, messages=messages)
                if time.monotonic() - recovered_at > RECOVER_SECONDS:
                    recovered_at = time.monotonic()
                    await self._jobs.recover()
                delay = 0.1
            except Exception as error:  # the database is down: the rows wait for the next try
                self._trades_waiting = self._messages_waiting = True
                logger.warning("outbox relay: %r; retrying in %.1f s", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_DELAY)

    async def deliver(self, *, trades: bool = True, messages: bool = True) -> None:
        """What is pending now: trades placed in the feed, outbox messages handed on."""
        async with self._delivering:
            while trades and await self._place_trades() == BATCH:
                pass
            while messages and await self._deliver_messages() == BATCH:
                pass

    async def _place_trades(self) -> int:
        async with self._sessions.begin() as session:
            await feed.take_sequencer(session)
            placed = await feed.sequence_pending(session, BATCH)
            if placed:  # cached trades show their seq from this commit on
                await data_versions.bump(session, data_versions.TRADES)
        if not placed:
            return 0
        async with self._sessions() as session:
            traders = {
                u.id: u
                for u in await users.users_by_ids(session, list({t.user_id for t in placed}))
            }
        events = [TradeEvent(t, traders[t.user_id]) for t in placed if t.user_id in traders]
        self._feed.receive(events)
        self._broadcaster.publish_trades(events)
        EVENTS_PUBLISHED.inc(len(events))
        return len(placed)

    async def _deliver_messages(self) -> int:
        async with self._sessions.begin() as session:
            messages = await outbox.oldest(session, BATCH)
            done: list[int] = []
            for message_id, topic, payload in messages:
                try:
                    await self._hand_on(topic, payload)
                except REDIS_DOWN as error:  # kept, in order, and tried again later
                    logger.warning("outbox relay: %s not delivered yet (%r)", topic, error)
                    break
                except Exception as error:
                    # This message's own fault (a payload its handler refuses): it must not hold
                    # back the ones behind it, nor be tried for ever.
                    if not self._gives_up_on(message_id, topic, error):
                        continue
                self._failed.pop(message_id, None)  # it failed here before, maybe
                done.append(message_id)
            await outbox.remove(session, done)
        return len(done) if len(done) == len(messages) else 0

    def _gives_up_on(self, message_id: int, topic: str, error: Exception) -> bool:
        tries = self._failed.pop(message_id, 0) + 1
        if tries < MESSAGE_TRIES:
            self._failed[message_id] = tries
            logger.warning("outbox relay: %s message %d failed (%r)", topic, message_id, error)
            return False
        logger.error(
            "outbox relay: %s message %d failed %d times, dropped",
            topic,
            message_id,
            tries,
            exc_info=error,
        )
        return True

    async def _hand_on(self, topic: str, payload: dict[str, Any]) -> None:
        if topic == outbox.JOB:
            await self._jobs.dispatch(payload["kind"], payload["job_id"], payload["arguments"])
        elif topic == outbox.SESSIONS_ENDED:
            await self._broadcaster.end_sessions(SessionsEnded(**payload))
        else:
            logger.error("outbox relay: unknown topic %r, dropped", topic)
