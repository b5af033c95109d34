"""The fault runs' subscriber resumes as the live feed expects of a client: after a lost socket it
subscribes again with `after` = the last `seq` it received, and reports a refetch error as one.
Played against a stand-in graphql-transport-ws server, since the API's feed is another branch's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.typing import Subprotocol

from bench.faults.client import Errors
from bench.faults.subscribers import GAP_CODES, PROTOCOL, Subscriber


def trade(id: int, seq: int) -> dict[str, Any]:
    return {"data": {"tradeAdded": {"id": id, "seq": str(seq), "currency": "FA"}}}


GAP = {"errors": [{"message": "gap", "extensions": {"code": next(iter(GAP_CODES))}}]}


class StandIn:
    """Each connection: ack, read the subscription, send its script, then drop the socket
    (all but the last, which stays open)."""

    def __init__(self, scripts: list[list[dict[str, Any]]]) -> None:
        self.scripts = scripts
        self.subscriptions: list[dict[str, Any]] = []

    async def handle(self, socket: ServerConnection) -> None:
        init = json.loads(await socket.recv())
        assert init == {"type": "connection_init", "payload": {"authToken": "token"}}
        await socket.send(json.dumps({"type": "connection_ack"}))
        subscribe = json.loads(await socket.recv())
        self.subscriptions.append(subscribe["payload"])
        script = self.scripts[len(self.subscriptions) - 1]
        for payload in script:
            await socket.send(
                json.dumps({"id": subscribe["id"], "type": "next", "payload": payload})
            )
        if len(self.subscriptions) < len(self.scripts):
            socket.transport.abort()  # a crashed process: no close frame
        else:
            await socket.wait_closed()


async def play(stand_in: StandIn, until: int) -> Subscriber:
    """A subscriber against the stand-in until it has `until` receipts."""
    subscriber = Subscriber(0, 0, "FA", "token")
    async with serve(
        stand_in.handle, "127.0.0.1", 0, subprotocols=[Subprotocol(PROTOCOL)]
    ) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        task = asyncio.create_task(subscriber.run([f"http://127.0.0.1:{port}"], Errors()))
        async with asyncio.timeout(10):
            while len(subscriber.receipts) < until:  # noqa: ASYNC110 - a plain list it fills
                await asyncio.sleep(0.01)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return subscriber


async def test_resumes_after_the_last_seq() -> None:
    stand_in = StandIn([[trade(1, 5), trade(2, 6)], [trade(3, 7)], [trade(4, 9)]])
    subscriber = await play(stand_in, until=4)
    assert [s["variables"]["after"] for s in stand_in.subscriptions] == [None, "6", "7"]
    assert [(r.id, r.seq) for r in subscriber.receipts] == [(1, 5), (2, 6), (3, 7), (4, 9)]
    assert subscriber.connects == 3
    assert subscriber.gaps == []


async def test_reports_a_gap_it_cannot_resume_across() -> None:
    stand_in = StandIn([[trade(1, 5)], [GAP, trade(2, 8)]])
    subscriber = await play(stand_in, until=2)
    assert subscriber.gaps == ["gap"]
