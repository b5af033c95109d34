"""The subscribers of bench/live.py, in processes of their own, and what they received tallied
against the writes' answers.

Each process holds its share of the sockets and only stamps and keeps what arrives: the time on
`time.monotonic()` first, the frame as it came; frames are decoded once the run is over, so that
decoding does not delay the stamps of the frames behind them. On Linux `time.monotonic()` is
CLOCK_MONOTONIC, one clock for every process of the machine, so these stamps and the writer's
(in the parent process) are on the same clock.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

SUBSCRIPTION = "subscription { tradeAdded { id } }"
PROTOCOL = Subprotocol("graphql-transport-ws")
OPEN_IN_STEPS_OF = 50  # sockets opened at once: a thousand at once would measure the accept queue

Receipt = tuple[str, float]  # trade id, time.monotonic() when its frame arrived


@dataclass
class Crowd:
    """What one subscriber process is to do: one socket per URL, each subscribed to
    SUBSCRIPTION with `token`; `compression` is websockets' ("deflate" or None)."""

    urls: list[str]
    token: str
    compression: str | None


@dataclass
class Received:
    """What one subscriber process got: per socket, its receipts in arrival order; the
    negotiated WebSocket extensions; and what went wrong (sockets that failed, frames that were
    not a trade)."""

    receipts: list[list[Receipt]]
    extensions: list[str]
    failures: list[str] = field(default_factory=list)


def run_crowd(crowd: Crowd, slot: int, counts: Any, pipe: Connection) -> None:
    """A subscriber process: opens the sockets, sends "ready" (with failures, if any) through
    `pipe`, counts frames into `counts[slot]` while it waits for "stop", then sends Received."""
    asyncio.run(_run_crowd(crowd, slot, counts, pipe))


async def _run_crowd(crowd: Crowd, slot: int, counts: Any, pipe: Connection) -> None:
    frames: list[list[tuple[float, str | bytes]]] = [[] for _ in crowd.urls]
    extensions: set[str] = set()
    failures: list[str] = []
    readies: list[asyncio.Event] = []
    tasks = []
    for i, url in enumerate(crowd.urls):
        readies.append(asyncio.Event())
        socket = _subscribe(url, crowd, frames[i], readies[i], extensions, failures, slot, counts)
        tasks.append(asyncio.create_task(socket))
        if i % OPEN_IN_STEPS_OF == OPEN_IN_STEPS_OF - 1:
            await asyncio.gather(*(ready.wait() for ready in readies))
    await asyncio.gather(*(ready.wait() for ready in readies))
    pipe.send(list(failures))
    await asyncio.to_thread(pipe.recv)  # "stop"
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    receipts = [_decode(socket_frames, failures) for socket_frames in frames]
    pipe.send(Received(receipts, sorted(extensions), failures))


async def _subscribe(
    url: str,
    crowd: Crowd,
    frames: list[tuple[float, str | bytes]],
    ready: asyncio.Event,
    extensions: set[str],
    failures: list[str],
    slot: int,
    counts: Any,
) -> None:
    try:
        async with connect(
            url, subprotocols=[PROTOCOL], open_timeout=60, compression=crowd.compression
        ) as ws:
            await ws.send(
                json.dumps({"type": "connection_init", "payload": {"authToken": crowd.token}})
            )
            ack = json.loads(await ws.recv())
            if ack.get("type") != "connection_ack":
                raise RuntimeError(f"no connection_ack: {ack}")
            message = {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}
            await ws.send(json.dumps(message))
            extensions.update(extension.name for extension in ws.protocol.extensions)
            ready.set()
            async for raw in ws:
                frames.append((time.monotonic(), raw))
                counts[slot] += 1  # only this process writes its slot
            failures.append(f"{url}: closed by the server ({ws.close_code} {ws.close_reason})")
    except Exception as error:  # reported by the parent, with the rest (not CancelledError)
        failures.append(f"{url}: {error!r}")
    finally:
        ready.set()


def _decode(frames: list[tuple[float, str | bytes]], failures: list[str]) -> list[Receipt]:
    receipts = []
    for received, raw in frames:
        message = json.loads(raw)
        try:
            receipts.append((str(message["payload"]["data"]["tradeAdded"]["id"]), received))
        except (KeyError, TypeError):
            failures.append(f"not a trade: {raw!r}")
    return receipts


@dataclass
class Tally:
    """Deliveries of one run, counted against the writes' answers."""

    latencies: list[float]  # seconds from the write's answer; a delivery before it counts 0
    before_answer: int  # deliveries that arrived before their write's answer (counted as 0)
    missed: int  # (socket, answered trade) pairs never delivered
    duplicated: int  # deliveries of a trade a socket had already received
    unknown: int  # deliveries of a trade no answer named (a write that failed, another writer)


def tally(answered: dict[str, float], receipts: Sequence[Sequence[Receipt]]) -> Tally:
    """`answered`: trade id -> time.monotonic() when the answer naming it arrived; `receipts`:
    per socket, what it received. Every socket's selection is every trade."""
    result = Tally(latencies=[], before_answer=0, missed=0, duplicated=0, unknown=0)
    for socket_receipts in receipts:
        seen: set[str] = set()
        for trade_id, received in socket_receipts:
            if trade_id in seen:
                result.duplicated += 1
                continue
            seen.add(trade_id)
            answer = answered.get(trade_id)
            if answer is None:
                result.unknown += 1
                continue
            if received < answer:
                result.before_answer += 1
            result.latencies.append(max(0.0, received - answer))
        result.missed += sum(1 for trade_id in answered if trade_id not in seen)
    return result


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest rank: the smallest value with at least `fraction` of the values at or below it."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = math.ceil(round(fraction * len(ordered), 9))  # rounded first: 0.99 * 100 is 99.00..01
    return ordered[min(max(rank, 1), len(ordered)) - 1]
