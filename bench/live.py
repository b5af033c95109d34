"""Live-trade fan-out benchmark (not a test): N subscribers on one or two API processes.

A writer adds one trade per `addTrades` call on a fixed schedule, open loop: call n starts at
n / rate seconds from the start, each in a task of its own (the HTTP pool opens connections as
needed), so a slow answer does not delay the calls behind it. Every subscriber selects
`tradeAdded { id }`. Reported per configuration:

- latency of a delivery, p50, p99 and max: the subscriber's receipt minus the arrival of the
  `addTrades` answer that named the trade, both on `time.monotonic()` (CLOCK_MONOTONIC, one
  clock for the writer here and the subscriber processes: bench/live_subscribers.py). A
  delivery that arrives before the answer counts as 0 ms; how many did is printed too. The
  subscribers' own event loops stamp each frame as they reach it, so a busy subscriber process
  adds its delay to the figures (more processes: `--subscriber-processes`);
- missed and duplicated, over every socket: answered trades a socket had not received when the
  writes ended plus a grace period, and trades a socket received twice (both should be 0);
- server CPU per delivered event: user+system time of the API processes, every thread and every
  child process (from /proc), from the first write until the last delivery (or the grace
  period's end), divided by the deliveries; it includes serving the addTrades calls, and not
  the PostgreSQL and Redis servers (shared with the rest of the machine);
- memory per socket: growth of the API processes' RSS from before the sockets opened to after
  all N subscribed, divided by N.

One process runs the embedded default (SQLite, in-process broadcast); two processes run on
PostgreSQL and Redis pub/sub (a throwaway database), with subscribers and trades split between
them. The writer and the subscriber processes share the machine's cores with the servers. One
account stands for every subscriber, so the per-user limits on sockets and live cost are raised
to fit them all (LIMITS): signing up a thousand accounts would measure argon2, not the fan-out.
`--compression deflate none` runs each configuration with and without permessage-deflate: the
subscribers offer it, as browsers do, and the servers take it with WS_PER_MESSAGE_DEFLATE=true
(off by default), which "deflate" runs set; BENCH_COMPRESSION sets the default ("deflate", or
"none").

    python -m bench.live [--subscribers 100 1000] [--rate 10] [--seconds 10]
        [--compression deflate none] [--subscriber-processes 1] [--grace 10]
        [--redis-url redis://127.0.0.1:6379/14]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import os
import secrets
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.live_subscribers import Crowd, Received, Tally, percentile, run_crowd, tally
from tests.utils.databases import PostgresTemplate, copy_sqlite, migrate, postgres_url
from tests.utils.servers import Server, uvicorn_servers

ADD_TRADE = (
    'mutation { addTrades(trades: [{currency: "BTC", side: BUY, price: "1", amount: "1"}]) { id } }'
)
PASSWORD = "bench-password-1"  # noqa: S105 - a throwaway account
COMPRESSIONS = {"deflate": "deflate", "none": None}  # --compression: websockets' setting


def accepts(compression: str) -> dict[str, str]:
    """The servers' setting for a run: they take permessage-deflate only when it is measured."""
    return {"ws_per_message_deflate": "true" if COMPRESSIONS[compression] else "false"}


# Production settings (request logs and metrics on, as always), with the per-user limits raised
# for the one account that stands for every subscriber.
LIMITS = {
    "environment": "production",
    "jwt_secret": secrets.token_urlsafe(32),  # production refuses the tests' weak one
    "ws_max_sockets_per_user": "100000",
    "ws_max_new_sockets_per_minute": "100000",
    "graphql_max_live_cost": "10000000",
}
SETTLE = 0.5  # seconds after the last expected delivery, to see duplicates that come late
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stats() -> dict[int, list[str]]:
    """pid -> the fields of /proc/<pid>/stat after the command name (state first)."""
    stats = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended while we looked
            continue
        stats[int(stat.parent.name)] = text[text.rindex(")") + 2 :].split()
    return stats


def process_tree(roots: list[int]) -> list[int]:
    """The processes `roots` and every live descendant of theirs."""
    children: dict[int, list[int]] = {}
    for pid, fields in _stats().items():
        children.setdefault(int(fields[1]), []).append(pid)
    tree, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += children.get(pid, [])
    return tree


def cpu_seconds(roots: list[int]) -> float:
    """utime + stime (every thread's) and cutime + cstime (reaped children's) of `roots` and
    their descendants."""
    stats, tree = _stats(), set(process_tree(roots))
    ticks = sum(sum(int(v) for v in fields[11:15]) for pid, fields in stats.items() if pid in tree)
    return ticks / CLOCK_TICKS


def rss_bytes(roots: list[int]) -> int:
    total = 0
    for pid in process_tree(roots):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


@dataclass
class Writes:
    """The writer's side: trade id -> time.monotonic() when the answer naming it arrived."""

    answered: dict[str, float] = field(default_factory=dict)
    took: list[float] = field(default_factory=list)  # seconds from each call's start to answer
    failures: list[str] = field(default_factory=list)
    late: float = 0.0  # the furthest behind schedule a call started, in seconds


@dataclass
class Result:
    processes: int
    subscribers: int
    compression: str
    scheduled: int
    writes: Writes
    tally: Tally
    negotiated: list[str]
    cpu: float
    rss_growth: int
    failures: list[str]

    def row(self) -> str:
        delivered = len(self.tally.latencies)
        expected = len(self.writes.answered) * self.subscribers
        late = [percentile(self.tally.latencies, f) * 1000 for f in (0.5, 0.99, 1.0)]
        return (
            f"| {self.processes} | {self.compression} ({', '.join(self.negotiated) or 'none'}) | "
            f"{self.subscribers:,} | {len(self.writes.answered)}/{self.scheduled} | "
            f"{delivered:,}/{expected:,} | {self.tally.missed:,} | {self.tally.duplicated:,} | "
            f"{self.tally.before_answer:,} | {late[0]:.1f} | {late[1]:.1f} | {late[2]:.1f} | "
            f"{percentile(self.writes.took, 0.99) * 1000:.1f} | "
            f"{self.cpu / max(delivered, 1) * 1e6:.0f} | "
            f"{self.rss_growth / self.subscribers / 1024:.0f} |"
        )

    def notes(self) -> list[str]:
        """What else went wrong, one line each (none in a clean run)."""
        what = f"{self.processes} process(es), {self.subscribers:,} subscribers, {self.compression}"
        lines = [f"{what}: {failure}" for failure in self.writes.failures + self.failures[:10]]
        if len(self.failures) > 10:
            lines.append(f"{what}: {len(self.failures) - 10} more socket failures")
        if self.tally.unknown:
            lines.append(f"{what}: {self.tally.unknown} deliveries of trades no answer named")
        if self.writes.late > 0.05:
            lines.append(f"{what}: a write started {self.writes.late * 1000:.0f} ms late")
        return lines


HEADER = (
    "| API processes | compression (negotiated) | subscribers | trades answered | delivered "
    "| missed | duplicated | before the answer | p50 ms | p99 ms | max ms | addTrades p99 ms "
    "| server CPU µs/event | server kB/socket |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
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


async def write(client: httpx.AsyncClient, headers: dict[str, str], writes: Writes) -> None:
    """One addTrades call; the answer's arrival is stamped before anything else is done."""
    started = time.monotonic()
    try:
        response = await client.post("/graphql", json={"query": ADD_TRADE}, headers=headers)
    except httpx.HTTPError as error:
        writes.failures.append(f"addTrades: {error!r}")
        return
    answered = time.monotonic()
    writes.took.append(answered - started)
    body = response.json() if response.status_code == 200 else {}
    if "errors" in body or "data" not in body:
        writes.failures.append(f"addTrades: {response.status_code} {response.text[:200]}")
        return
    for trade in body["data"]["addTrades"]:
        writes.answered[str(trade["id"])] = answered


async def write_open_loop(
    clients: list[httpx.AsyncClient], headers: dict[str, str], rate: float, count: int
) -> Writes:
    """`count` calls, call n started n / rate seconds after the first whatever the earlier ones
    are doing, spread over `clients` in turn; returns once every call has its answer."""
    writes, calls = Writes(), []
    start = time.monotonic()
    for n in range(count):
        await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
        writes.late = max(writes.late, time.monotonic() - (start + n / rate))
        calls.append(asyncio.create_task(write(clients[n % len(clients)], headers, writes)))
    await asyncio.gather(*calls)
    return writes


async def from_crowd(process: BaseProcess, pipe: Connection) -> Any:
    """The next message of a subscriber process; an error if it exits without one."""
    while not await asyncio.to_thread(pipe.poll, 0.5):
        if not process.is_alive():
            raise RuntimeError(f"a subscriber process exited with {process.exitcode}")
    return pipe.recv()


async def run(
    servers: list[Server],
    subscribers: int,
    compression: str,
    processes: int,
    rate: float,
    seconds: float,
    grace: float,
) -> Result:
    token = await sign_up(servers[0].base_url)
    pids = [s.process.pid for s in servers]
    rss_before = rss_bytes(pids)
    urls = [
        servers[i % len(servers)].base_url.replace("http://", "ws://") + "/graphql"
        for i in range(subscribers)
    ]
    context = multiprocessing.get_context("spawn")
    counts = context.Array("q", processes, lock=False)
    crowds: list[tuple[BaseProcess, Connection]] = []
    received: list[Received] = []
    for slot in range(processes):
        ours, theirs = context.Pipe()
        crowd = Crowd(urls[slot::processes], token, COMPRESSIONS[compression])
        child = context.Process(target=run_crowd, args=(crowd, slot, counts, theirs))
        child.start()
        crowds.append((child, ours))
    try:
        failures = [f for process, pipe in crowds for f in await from_crowd(process, pipe)]
        if failures:
            raise RuntimeError(f"{len(failures)} sockets failed to subscribe: {failures[:3]}")
        await asyncio.sleep(1)  # let the last subscriptions register
        rss_growth = rss_bytes(pids) - rss_before

        clients = [
            httpx.AsyncClient(
                base_url=s.base_url, timeout=30, limits=httpx.Limits(max_connections=None)
            )
            for s in servers
        ]
        headers = {"Authorization": f"Bearer {token}"}
        for client in clients:  # a connection open before the clock starts
            await client.get("/healthz")
        cpu_before = cpu_seconds(pids)
        writes = await write_open_loop(clients, headers, rate, int(rate * seconds))
        expected = len(writes.answered) * subscribers
        deadline = time.monotonic() + grace
        # The counts are in memory shared with the subscriber processes: no event to wait on.
        while sum(counts) < expected and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        cpu = cpu_seconds(pids) - cpu_before
        await asyncio.sleep(SETTLE)
        for client in clients:
            await client.aclose()
        for process, pipe in crowds:
            pipe.send("stop")
            received.append(await from_crowd(process, pipe))
    finally:
        for process, _ in crowds:
            process.join(timeout=30 if len(received) == len(crowds) else 0)
            if process.is_alive():
                process.kill()
                process.join()
    return Result(
        processes=len(servers),
        subscribers=subscribers,
        compression=compression,
        scheduled=int(rate * seconds),
        writes=writes,
        tally=tally(writes.answered, [r for part in received for r in part.receipts]),
        negotiated=sorted({e for part in received for e in part.extensions}),
        cpu=cpu,
        rss_growth=rss_growth,
        failures=[f for part in received for f in part.failures],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--rate", type=float, default=10, help="trades per second")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument(
        "--compression",
        nargs="+",
        choices=sorted(COMPRESSIONS),
        default=[os.environ.get("BENCH_COMPRESSION") or "deflate"],
        help="permessage-deflate offered by the subscribers or not; each one given is run",
    )
    parser.add_argument(
        "--subscriber-processes", type=int, default=1, help="processes the sockets are split over"
    )
    parser.add_argument(
        "--grace", type=float, default=10, help="seconds after the last answer to deliver all"
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14")
    )
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not one line per trade posted
    if time.get_clock_info("monotonic").implementation != "clock_gettime(CLOCK_MONOTONIC)":
        sys.exit("bench.live needs CLOCK_MONOTONIC: its processes compare time.monotonic()")

    print(
        f"# live trades, {args.rate:g} trades/s for {args.seconds:g} s (open loop), "
        f"{os.cpu_count()} cores, {args.subscriber_processes} subscriber process(es)\n"
    )
    print(
        "Latency: subscriber's receipt minus the arrival of the addTrades answer naming the "
        "trade; a delivery before the answer counts as 0 ms.\n"
    )
    print(HEADER, flush=True)
    notes: list[str] = []

    def measure(servers: list[Server], n: int, compression: str) -> None:
        result = asyncio.run(
            run(
                servers,
                n,
                compression,
                args.subscriber_processes,
                args.rate,
                args.seconds,
                args.grace,
            )
        )
        print(result.row(), flush=True)
        notes.extend(result.notes())

    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        template = directory / "template.db"
        migrate(f"sqlite+aiosqlite:///{template}")
        for n in args.subscribers:
            for compression in args.compression:
                database = copy_sqlite(template, directory / f"one-{n}-{compression}.db")
                log = directory / f"one-{n}-{compression}.log"
                with uvicorn_servers(database, log, **LIMITS, **accepts(compression)) as servers:
                    measure(servers, n, compression)
        postgres = PostgresTemplate()
        postgres.create()
        try:
            for n in args.subscribers:
                for compression in args.compression:
                    name = postgres.copy()
                    with ExitStack() as stack:
                        logs = [directory / f"two-{n}-{compression}-{i}.log" for i in (1, 2)]
                        servers = stack.enter_context(
                            uvicorn_servers(
                                postgres_url(name),
                                *logs,
                                redis_url=args.redis_url,
                                **LIMITS,
                                **accepts(compression),
                            )
                        )
                        measure(servers, n, compression)
                    postgres.drop(name)
        finally:
            postgres.drop(postgres.name)
    if notes:
        print("\n" + "\n".join(notes))


if __name__ == "__main__":
    main()
