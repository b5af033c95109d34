"""A crowd of HTTP clients for bench/overload.py, light enough to outrun one server process:
closed-loop clients on keep-alive connections spoken by hand, and a `/healthz` prober in a
process of its own; what they saw, per answer kind, in a Step."""

from __future__ import annotations

import asyncio
import random
import socket
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

QUERY = b'{"query":"{ me { id name } }"}'
PROBE_INTERVAL = 0.1
PROBE_TIMEOUT = 2.0


@dataclass
class Step:
    clients: int
    seconds: float
    ok: int = 0
    errors: int = 0  # 200 with GraphQL errors, other statuses, broken connections
    ok_latencies: list[float] = field(default_factory=list)
    shed_latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    # Every distinct answer other than a good 200: (status, body, Retry-After).
    refusals: set[tuple[int, bytes, float]] = field(default_factory=set)
    probes: list[float] = field(default_factory=list)  # seconds; PROBE_TIMEOUT when missed

    @property
    def goodput(self) -> float:
        return self.ok / self.seconds


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class Connection:
    """One keep-alive HTTP/1.1 connection, spoken by hand: httpx would cost the load generator
    more CPU per request than the server spends answering a 503."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
        return self.streams

    async def exchange(self, request: bytes) -> tuple[int, bytes, float]:
        """Status, body and Retry-After (0 when absent) of one request."""
        reader, writer = await self.open()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length, retry_after = 0, 0.0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"retry-after":
                retry_after = float(value)
        body = await reader.readexactly(length)
        return status, body, retry_after

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
        self.streams = None


def graphql_request(host: str, port: int, token: str) -> bytes:
    return (
        f"POST /graphql HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(QUERY)}\r\n\r\n"
    ).encode() + QUERY


async def client(
    connection: Connection, request: bytes, until: float, step: Step, backoff: bool
) -> None:
    while (started := time.perf_counter()) < until:
        try:
            status, body, retry_after = await connection.exchange(request)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            connection.close()
            step.errors += 1
            step.statuses[0] = step.statuses.get(0, 0) + 1
            await asyncio.sleep(0.01)
            continue
        took = time.perf_counter() - started
        step.statuses[status] = step.statuses.get(status, 0) + 1
        if status == 200 and b'"errors"' not in body:
            step.ok += 1
            step.ok_latencies.append(took)
            continue
        step.refusals.add((status, body, retry_after))
        if status == 503:
            step.shed_latencies.append(took)
            if backoff:
                # With jitter, as clients back off: refused together, they would all come
                # back in the same instant, a wave every Retry-After.
                pause = retry_after * random.uniform(1.0, 1.5)  # noqa: S311 - not a secret
                await asyncio.sleep(min(pause, until - time.perf_counter()))
        else:
            step.errors += 1
    connection.close()


def probe(host: str, port: int, seconds: float) -> list[float]:
    """`/healthz` on a new connection every PROBE_INTERVAL, as an orchestrator probes: seconds
    per probe, PROBE_TIMEOUT for a miss. Run in a process of its own, so that the load
    generator's busy event loop does not delay it."""
    request = f"GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
    took: list[float] = []
    until = time.perf_counter() + seconds
    while (started := time.perf_counter()) < until:
        try:
            with socket.create_connection((host, port), timeout=PROBE_TIMEOUT) as sock:
                sock.sendall(request)
                answer = b""
                while chunk := sock.recv(4096):
                    answer += chunk
            ok = answer.startswith(b"HTTP/1.1 200 ")
        except OSError:
            ok = False
        took.append(min(time.perf_counter() - started, PROBE_TIMEOUT) if ok else PROBE_TIMEOUT)
        time.sleep(max(0.0, PROBE_INTERVAL - took[-1]))
    return took


async def load(
    host: str,
    port: int,
    token: str,
    clients: int,
    seconds: float,
    backoff: bool,
    probes: bool,
    into: Step | None = None,
) -> Step:
    """`clients` clients for `seconds`, counted into `into` (which then covers both runs) or a
    new Step."""
    step = into or Step(clients, 0)
    step.seconds += seconds
    request = graphql_request(host, port, token)
    # Connected before the clock starts, as wrk and autocannon do: what is measured is the
    # answers, not a storm of connections opening at once.
    connections = [Connection(host, port) for _ in range(clients)]
    await asyncio.gather(*(connection.open() for connection in connections))
    until = time.perf_counter() + seconds
    with ProcessPoolExecutor(max_workers=1) as prober:
        probed = prober.submit(probe, host, port, seconds) if probes else None
        await asyncio.gather(
            *(client(connection, request, until, step, backoff) for connection in connections)
        )
        if probed is not None:
            step.probes += probed.result()
    return step
