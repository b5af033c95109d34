"""Live-trade fan-out benchmark (not a test): N subscribers on one or two API processes.

Trades are added one per `addTrades` call at a steady rate; every subscriber selects
`tradeAdded { id createdAt }`. Reported per configuration:

- latency from commit to receipt, p50 and p99: receipt time minus the trade's `createdAt` (set
  when the row is inserted, just before the commit, on the same clock);
- server CPU per delivered event: the API processes' user+system time (from /proc) over the
  publishing window, divided by the events delivered; it includes serving the addTrades calls;
- memory per connection: growth of the API processes' RSS from before the sockets opened to after
  all N subscribed, divided by N.

One process runs the embedded default (SQLite, in-process broadcast); two processes run on
PostgreSQL and Redis pub/sub (a throwaway database), with subscribers and trades split between
them. The load generator shares the machine's cores with the servers. One account stands for
every subscriber, so the per-user limits on sockets and live cost are raised to fit them all
(LIMITS): signing up a thousand accounts would measure argon2, not the fan-out.
Every client offers permessage-deflate, as browsers do (BENCH_COMPRESSION= offers none); the
servers take it only with WS_PER_MESSAGE_DEFLATE=true in the environment.

    python -m bench.live [--subscribers 100 1000] [--rate 10] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.utils.databases import PostgresTemplate, copy_sqlite, migrate, postgres_url
from tests.utils.servers import Server, uvicorn_servers

SUBSCRIPTION = "subscription { tradeAdded { id createdAt } }"
ADD_TRADE = (
    'mutation { addTrades(trades: [{currency: "BTC", side: BUY, price: "1", amount: "1"}]) { id } }'
)
PASSWORD = "bench-password-1"  # noqa: S105 - a throwaway account
COMPRESSION = os.environ.get("BENCH_COMPRESSION", "deflate") or None
# Per-user limits, raised for the one account that stands for every subscriber.
LIMITS = {
    "ws_max_sockets_per_user": "100000",
    "ws_max_new_sockets_per_minute": "100000",
    "graphql_max_live_cost": "10000000",
}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


@dataclass
class Result:
    processes: int
    subscribers: int
    trades: int = 0
    delivered: int = 0
    latencies: list[float] = field(default_factory=list)
    cpu: float = 0.0
    rss_growth: int = 0
    expected: int = 0
    all_delivered: asyncio.Event = field(default_factory=asyncio.Event)

    def row(self) -> str:
        q = statistics.quantiles(self.latencies, n=100) if len(self.latencies) > 1 else [0] * 99
        expected = self.trades * self.subscribers
        return (
            f"| {self.processes} | {self.subscribers:,} | {self.trades} | "
            f"{self.delivered:,}/{expected:,} | {q[49] * 1000:.1f} | {q[98] * 1000:.1f} | "
            f"{self.cpu / max(self.delivered, 1) * 1e6:.0f} | "
            f"{self.rss_growth / self.subscribers / 1024:.0f} |"
        )


async def sign_up(base_url: str) -> str:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        email = "bench@example.com"
        await http.post(
            "/auth/register", json={"email": email, "password": PASSWORD, "name": "Bench"}
        )
        response = await http.post("/auth/token", data={"username": email, "password": PASSWORD})
        token: str = response.json()["access_token"]
        return token


async def subscribe(url: str, token: str, result: Result, ready: asyncio.Event) -> None:
    async with connect(
        url,
        subprotocols=[Subprotocol("graphql-transport-ws")],
        open_timeout=60,
        compression=COMPRESSION,
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authToken": token}}))
        await ws.recv()
        message = {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}
        await ws.send(json.dumps(message))
        ready.set()
        async for raw in ws:
            received = time.time()
            trade = json.loads(raw)["payload"]["data"]["tradeAdded"]
            result.latencies.append(
                received - datetime.fromisoformat(trade["createdAt"]).timestamp()
            )
            result.delivered += 1
            if result.delivered == result.expected:
                result.all_delivered.set()


async def run(servers: list[Server], subscribers: int, rate: float, seconds: float) -> Result:
    result = Result(processes=len(servers), subscribers=subscribers)
    token = await sign_up(servers[0].base_url)
    pids = [s.process.pid for s in servers]
    rss_before = sum(rss_bytes(p) for p in pids)
    tasks, events = [], []
    for i in range(subscribers):
        server = servers[i % len(servers)]
        ready = asyncio.Event()
        url = server.base_url.replace("http://", "ws://") + "/graphql"
        tasks.append(asyncio.create_task(subscribe(url, token, result, ready)))
        events.append(ready)
        if i % 50 == 49:
            await asyncio.gather(*(e.wait() for e in events))
    await asyncio.gather(*(e.wait() for e in events))
    await asyncio.sleep(1)  # let the last subscriptions register
    result.rss_growth = sum(rss_bytes(p) for p in pids) - rss_before

    cpu_before = sum(cpu_seconds(p) for p in pids)
    clients = [httpx.AsyncClient(base_url=s.base_url, timeout=30) for s in servers]
    headers = {"Authorization": f"Bearer {token}"}
    start = time.monotonic()
    count = int(rate * seconds)
    result.expected = count * subscribers
    for n in range(count):
        await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
        response = await clients[n % len(clients)].post(
            "/graphql", json={"query": ADD_TRADE}, headers=headers
        )
        if "errors" in response.json():
            raise RuntimeError(response.text)
    result.trades = count
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(result.all_delivered.wait(), 30)
    result.cpu = sum(cpu_seconds(p) for p in pids) - cpu_before
    for client in clients:
        await client.aclose()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--rate", type=float, default=10, help="trades per second")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14")
    )
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not one line per trade posted

    print(f"# live trades, {args.rate:g} trades/s for {args.seconds:g} s, {os.cpu_count()} cores\n")
    print(
        "| API processes | subscribers | trades | delivered | p50 ms | p99 ms "
        "| server CPU µs/event | server kB/connection |"
    )
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        template = directory / "template.db"
        migrate(f"sqlite+aiosqlite:///{template}")
        for n in args.subscribers:
            database = copy_sqlite(template, directory / f"one-{n}.db")
            with uvicorn_servers(database, directory / f"one-{n}.log", **LIMITS) as servers:
                print(asyncio.run(run(servers, n, args.rate, args.seconds)).row(), flush=True)
        postgres = PostgresTemplate()
        postgres.create()
        try:
            for n in args.subscribers:
                name = postgres.copy()
                with ExitStack() as stack:
                    logs = [directory / f"two-{n}-{i}.log" for i in (1, 2)]
                    servers = stack.enter_context(
                        uvicorn_servers(
                            postgres_url(name), *logs, redis_url=args.redis_url, **LIMITS
                        )
                    )
                    print(asyncio.run(run(servers, n, args.rate, args.seconds)).row(), flush=True)
                postgres.drop(name)
        finally:
            postgres.drop(postgres.name)


if __name__ == "__main__":
    main()
