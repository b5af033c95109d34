"""Live trades: carry the feed's events to every process, and end the sockets of sessions that
were logged out, on every process. Ordering and gap-filling are the feed's (events/feed.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Hashable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from db import outbox
from events.fanout import Fanout, LiveCounters, Subscriber, TradeEvent

SESSION_ENDED_CLOSE_CODE = 4403
V = TypeVar("V")


@dataclass(frozen=True)
class SessionsEnded:
    """One session (logout), or every session of the user below a token version (logout-all,
    deactivation)."""

    user_id: int
    session_id: str | None = None
    below_version: int | None = None

    def ends(self, socket: LiveSocket) -> bool:
        if socket.user_id != self.user_id:
            return False
        if self.session_id is not None:
            return socket.session_id == self.session_id
        return self.below_version is None or socket.version < self.below_version


async def end_sockets(session: AsyncSession, ended: SessionsEnded) -> None:
    """In the transaction that ends the sessions: their sockets are closed, on every process,
    once it commits (through the outbox, so a Redis outage only delays it)."""
    await outbox.add(session, outbox.SESSIONS_ENDED, dataclasses.asdict(ended))


@dataclass(frozen=True)
class LiveSocket:
    user_id: int
    session_id: str
    version: int
    expires_at: datetime  # the token's: the socket is closed then
    close: Callable[[int, str], Coroutine[Any, Any, None]]

    def expired(self) -> bool:
        return time.time() >= self.expires_at.timestamp()


class Broadcaster:
    """The embedded default: one process, nothing to carry between processes.

    Subclasses carry events between processes and hand the trades they receive to `received`
    (the feed, which puts them in order); local delivery always goes through `fanout`.
    """

    def __init__(self, queue_size: int) -> None:
        self.fanout = Fanout(queue_size)
        self.received: Callable[[list[TradeEvent]], None] = self.fanout.deliver
        self._sockets: dict[int, LiveSocket] = {}  # by id of the socket's context
        self._expiries: dict[int, asyncio.TimerHandle] = {}
        self._per_user: Counter[int] = Counter()
        self._closing: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Ready to receive events published anywhere."""

    async def close(self) -> None:
        """Stop receiving; subscribers already connected see no more events."""

    def publish_trades(self, events: Sequence[TradeEvent]) -> None:
        """Tell the other processes of trades the feed has placed (this one has them already),
        without waiting. Best effort: a process that misses them reads them from the database."""

    async def end_sessions(self, ended: SessionsEnded) -> None:
        """Close the sockets of ended sessions here and (subclasses) on every other process;
        raises when the others could not be told, so the outbox keeps the message."""
        self.close_ended(ended)

    def subscribe(self, currency: str | None = None) -> AbstractAsyncContextManager[Subscriber]:
        return self.fanout.subscribe(currency)

    def shared_result(
        self, event: int, selection: Hashable, run: Callable[[], Any]
    ) -> Awaitable[Any]:
        return self.fanout.shared_result(event, selection, run)

    def shared_view(self, event: TradeEvent, build: Callable[[TradeEvent], V]) -> V:
        return self.fanout.shared_view(event, build)

    @property
    def counters(self) -> LiveCounters:
        """What `liveStats` reports of this process's sockets, deliveries and executions."""
        return self.fanout.counters

    @property
    def subscriber_count(self) -> int:
        return self.fanout.subscriber_count

    @contextmanager
    def connected(self, key: int) -> Iterator[None]:
        """An open socket, counted in `counters`; no longer tracked for logout once closed."""
        self.fanout.counters.connections += 1
        try:
            yield
        finally:
            self.fanout.counters.connections -= 1
            self.untrack_socket(key)

    def open_sockets(self, user_id: int) -> int:
        """The user's signed-in sockets on this process."""
        return self._per_user[user_id]

    def track_socket(self, key: int, socket: LiveSocket) -> None:
        """Close the socket with 4403 when its token expires or its session ends."""
        self.untrack_socket(key)  # the legacy protocol lets a socket initialise again
        self._sockets[key] = socket
        self._per_user[socket.user_id] += 1
        delay = max(0.0, socket.expires_at.timestamp() - time.time())
        loop = asyncio.get_running_loop()
        self._expiries[key] = loop.call_later(delay, self._end, key, "Session expired")

    def untrack_socket(self, key: int) -> None:
        socket = self._sockets.pop(key, None)
        if socket is None:
            return
        self._per_user[socket.user_id] -= 1
        if not self._per_user[socket.user_id]:
            del self._per_user[socket.user_id]
        self._expiries.pop(key).cancel()

    def session_lasts(self, key: int) -> bool:
        """Whether an operation may still start on the socket: False once its session ended or
        its token expired (closed now if the expiry timer, late on a busy loop, has not yet)."""
        socket = self._sockets.get(key)
        if socket is not None and socket.expired():
            self._end(key, "Session expired")
            return False
        return socket is not None

    def close_ended(self, ended: SessionsEnded) -> None:
        for key, socket in list(self._sockets.items()):
            if ended.ends(socket):
                self._end(key, "Session ended")

    def _end(self, key: int, reason: str) -> None:
        socket = self._sockets.get(key)
        if socket is None:
            return
        self.untrack_socket(key)
        task = asyncio.create_task(socket.close(SESSION_ENDED_CLOSE_CODE, reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
