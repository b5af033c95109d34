"""Live subscribers of a fault run: graphql-transport-ws clients that reconnect with backoff and,
where the served schema has the live feed's positions, resume after the last `seq` they saw."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, WebSocketException
from websockets.typing import Subprotocol

from bench.faults.client import Errors, now

PROTOCOL = Subprotocol("graphql-transport-ws")
# The code of an error that says the feed cannot replay what came after the given `seq` (a gap
# it cannot fill): the client must refetch. One place, for when the server names it otherwise.
GAP_CODES = frozenset({"FEED_GAP"})
RESUMING = (
    "subscription($c: String, $after: String) "
    "{ tradeAdded(currency: $c, after: $after) { id seq currency } }"
)
OPEN_TIMEOUT = 5.0
FIRST_BACKOFF, MAX_BACKOFF = 0.1, 1.0


@dataclass
class Receipt:
    id: int
    seq: int | None
    currency: str
    received: float


@dataclass
class Subscriber:
    index: int
    home: int  # the process it connects to first
    currency: str
    token: str
    receipts: list[Receipt] = field(default_factory=list)
    connects: int = 0
    gaps: list[str] = field(default_factory=list)  # messages of the refetch errors
    other_errors: list[str] = field(default_factory=list)

    @property
    def last_seq(self) -> int | None:
        seqs = [r.seq for r in self.receipts if r.seq is not None]
        return seqs[-1] if seqs else None

    def _subscribe_message(self) -> dict[str, Any]:
        after = str(self.last_seq) if self.last_seq is not None else None
        return {"query": RESUMING, "variables": {"c": self.currency, "after": after}}

    async def run(self, urls: list[str], errors: Errors) -> None:
        """Until cancelled: connect, subscribe, read; on any failure back off and resume,
        trying the other processes in turn (any process may hold any socket)."""
        backoff = FIRST_BACKOFF
        for attempt in itertools.count():
            url = urls[(self.home + attempt) % len(urls)].replace("http://", "ws://") + "/graphql"
            try:
                async with connect(
                    url, subprotocols=[PROTOCOL], open_timeout=OPEN_TIMEOUT, close_timeout=1
                ) as socket:
                    await self._session(socket)
                    backoff = FIRST_BACKOFF
                errors.add("sockets", "completed by the server")
            except (OSError, TimeoutError, InvalidHandshake) as error:
                errors.add("sockets", f"connect failed ({type(error).__name__})")
            except WebSocketException as error:
                errors.add("sockets", f"socket lost ({type(error).__name__})")
            except _Ended as ended:
                errors.add("sockets", str(ended))
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    async def _session(self, socket: ClientConnection) -> None:
        await socket.send(
            json.dumps({"type": "connection_init", "payload": {"authToken": self.token}})
        )
        async with asyncio.timeout(OPEN_TIMEOUT):
            ack = json.loads(await socket.recv())
        if ack.get("type") != "connection_ack":
            raise _Ended(f"no connection_ack: {ack.get('type')}")
        self.connects += 1
        await socket.send(
            json.dumps({"id": "1", "type": "subscribe", "payload": self._subscribe_message()})
        )
        async for raw in socket:
            message = json.loads(raw)
            kind = message.get("type")
            if kind == "ping":
                await socket.send(json.dumps({"type": "pong"}))
            elif kind == "next":
                self._next(message.get("payload") or {})
            elif kind == "error":
                self.other_errors.append(json.dumps(message.get("payload"))[:200])
                raise _Ended("error message")
            elif kind == "complete":
                return

    def _next(self, payload: dict[str, Any]) -> None:
        for error in payload.get("errors") or []:
            code = (error.get("extensions") or {}).get("code")
            if code in GAP_CODES:
                self.gaps.append(str(error.get("message")))
            else:
                self.other_errors.append(f"{code}: {error.get('message')}"[:200])
        trade = (payload.get("data") or {}).get("tradeAdded")
        if trade:
            seq = trade.get("seq")
            receipt = Receipt(int(trade["id"]), int(seq) if seq else None, trade["currency"], now())
            self.receipts.append(receipt)


class _Ended(Exception):
    """The server ended the session in a way the protocol allows but a subscriber resumes from."""


@dataclass
class Subscribers:
    members: list[Subscriber]
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self, urls: list[str], errors: Errors) -> None:
        self.tasks = [asyncio.create_task(s.run(urls, errors)) for s in self.members]

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
