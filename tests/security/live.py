"""A live uvicorn process to attack, and what an attack cost it: CPU time and RSS from /proc.

The server's own CPU time (user + system, every thread of the process) is what an attacker
spends of ours; unlike the wall clock it does not move when the shared machine is busy.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.utils.live import Live

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_RSS = re.compile(r"^VmRSS:\s+(\d+) kB", re.MULTILINE)
MB = 1024 * 1024
# The most CPU a refused attack may cost the server, per request (the bound).
REFUSAL_CPU_SECONDS = 0.1


@dataclass(frozen=True)
class Usage:
    cpu_seconds: float
    rss_bytes: int


def usage(pid: int) -> Usage:
    """CPU seconds the process has used so far, and its resident memory now."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name may hold spaces and parentheses: the fields start after the last ")".
    fields = stat.rsplit(")", 1)[1].split()
    user, system = int(fields[11]), int(fields[12])  # utime and stime, fields 14 and 15
    status = Path(f"/proc/{pid}/status").read_text()
    match = _RSS.search(status)
    rss = int(match.group(1)) * 1024 if match else 0
    return Usage((user + system) / CLOCK_TICKS, rss)


@dataclass
class Cost:
    """Filled in when the `cost_of` block ends."""

    cpu_seconds: float = 0.0
    rss_growth_bytes: int = 0

    def per(self, requests: int) -> float:
        """CPU seconds per request."""
        return self.cpu_seconds / requests


@contextmanager
def cost_of(live: Live) -> Iterator[Cost]:
    """What the server process spent while the block ran."""
    pid = live.server.process.pid
    before = usage(pid)
    cost = Cost()
    try:
        yield cost
    finally:
        after = usage(pid)
        cost.cpu_seconds = after.cpu_seconds - before.cpu_seconds
        cost.rss_growth_bytes = after.rss_bytes - before.rss_bytes


def cost_once_warm(live: Live, send: Callable[[str], object], requests: int) -> Cost:
    """What `2 * requests` calls of `send` (each given a distinct tag) cost the server, once
    `requests` calls have warmed it.

    Under 1 MB bodies the allocator's heap grows by 10-25 MB over the first hundred requests,
    then drifts by a few MB a hundred, down as well as up (1,500 requests measured; no Python
    object kept). A server that keeps each text grows by its size at every request. Judged
    after the warm-up and over two rounds, one round's drift is not read as keeping."""
    for i in range(requests):
        send(f"warm-up {i}")
    with cost_of(live) as cost:
        for i in range(2 * requests):
            send(str(i))
    return cost


@dataclass
class Bystander:
    """What another user's requests got while an attack ran: HTTP statuses, in order."""

    statuses: list[int] = field(default_factory=list)


@asynccontextmanager
async def bystander(client: httpx.AsyncClient, token: str) -> AsyncIterator[Bystander]:
    """Another user asking for `/users/me` every 20 ms while the block runs."""
    watched = Bystander()
    done = asyncio.Event()

    async def ask() -> None:
        headers = {"Authorization": f"Bearer {token}"}
        while not done.is_set():
            watched.statuses.append((await client.get("/users/me", headers=headers)).status_code)
            await asyncio.sleep(0.02)

    asking = asyncio.create_task(ask())
    try:
        yield watched
    finally:
        done.set()
        await asking
