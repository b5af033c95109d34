"""bench/live.py's own arithmetic: deliveries tallied against the writes' answers, and a writer
that keeps its schedule whatever the answers do."""

from __future__ import annotations

import asyncio
import time

import httpx

from bench.live import write_open_loop
from bench.live_subscribers import percentile, tally

ANSWERED = {"1": 10.0, "2": 11.0}


def test_latency_runs_from_the_answer_and_an_earlier_delivery_counts_zero() -> None:
    counted = tally(ANSWERED, [[("1", 10.25), ("2", 10.5)]])

    assert counted.latencies == [0.25, 0.0]
    assert counted.before_answer == 1
    assert (counted.missed, counted.duplicated, counted.unknown) == (0, 0, 0)


def test_each_socket_is_counted_on_its_own() -> None:
    counted = tally(
        ANSWERED,
        [
            [("1", 10.1), ("1", 10.2), ("2", 11.1)],  # a duplicate
            [("2", 11.3), ("3", 11.4)],  # "1" missed, "3" named by no answer
            [("1", 10.1), ("2", 11.1)],  # complete: what another socket got does not count
        ],
    )

    assert counted.duplicated == 1
    assert counted.missed == 1
    assert counted.unknown == 1
    assert len(counted.latencies) == 5  # first deliveries of answered trades only


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]

    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 1.0) == 100.0
    assert percentile([3.0], 0.99) == 3.0


async def test_the_writer_keeps_its_schedule_when_an_answer_is_slow() -> None:
    """Open loop: the first answer takes 0.4 s, and the calls behind it start on time anyway."""
    starts: list[float] = []

    async def server(request: httpx.Request) -> httpx.Response:
        starts.append(time.monotonic())
        n = len(starts)
        await asyncio.sleep(0.4 if n == 1 else 0.0)
        return httpx.Response(200, json={"data": {"addTrades": [{"id": n}]}})

    async with httpx.AsyncClient(
        transport=httpx.MockTransport(server), base_url="http://bench"
    ) as client:
        began = time.monotonic()
        writes = await write_open_loop([client], {}, rate=20, count=5)

    offsets = [start - began for start in starts]
    assert all(offset >= n * 0.05 - 0.005 for n, offset in enumerate(offsets))  # every 50 ms
    assert max(offsets) < 0.35  # none waited for the first answer (0.4 s)
    assert sorted(writes.answered) == ["1", "2", "3", "4", "5"]
    assert writes.answered["1"] - began >= 0.4  # stamped when its answer came
    assert writes.answered["2"] < writes.answered["1"]
    assert writes.failures == []
    assert len(writes.took) == 5
