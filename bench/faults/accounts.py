"""The accounts of a fault cluster, signed up once through the API as clients do: a writer
each, one renamed by the freshness checks (whose token also subscribes), and one whose reports
the runs request."""

from __future__ import annotations

import asyncio
import itertools
import secrets
from dataclasses import dataclass

import asyncpg
import httpx

from bench.faults.client import sign_up
from bench.faults.cluster import Cluster
from bench.faults.load import Account, Writer

PASSWORD = "faults-password-1"  # noqa: S105 - throwaway accounts of a throwaway cluster
# Trades of the account whose reports the runs request: enough that a report takes a while,
# so that a worker killed while one runs is killed mid-job.
REPORT_TRADES = 300_000
# `Trade.seq` is served: subscribers resume after the last position they saw.


@dataclass
class Accounts:
    writers: list[Writer]
    renamed: Account
    jobs: Account


async def create_accounts(cluster: Cluster, writers: int) -> Accounts:
    """The accounts every run of a cluster uses, signed up through the API as clients do."""
    urls = cluster.api_urls
    tag = secrets.token_hex(4)
    async with httpx.AsyncClient(timeout=60) as http:
        emails = [f"faults-{tag}-{n}@example.com" for n in range(writers + 2)]
        tokens = await asyncio.gather(
            *(sign_up(http, urls[n % len(urls)], e, PASSWORD) for n, e in enumerate(emails))
        )
        ids = []
        for token in tokens:
            me = await http.get(f"{urls[0]}/users/me", headers={"Authorization": f"Bearer {token}"})
            ids.append(int(me.json()["id"]))
    accounts = [Account(i, t) for i, t in zip(ids, tokens, strict=True)]
    await _give_trades(cluster.dsn, accounts[-1].id, REPORT_TRADES)
    return Accounts(
        [Writer(n, accounts[n], [], tag, itertools.count()) for n in range(writers)],
        renamed=accounts[-2],
        jobs=accounts[-1],
    )


async def _give_trades(dsn: str, user_id: int, count: int) -> None:
    """Old trades for the reports to read, written directly: through the API they would take
    minutes. They take feed positions below any the service gives, as history does."""
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            "INSERT INTO trades (user_id, currency, side, price, amount, created_at, seq) "
            "SELECT $1, 'HISTORY', 'buy', 1, 1, now(), g FROM generate_series(1, $2) AS g",
            user_id,
            count,
        )
        await connection.execute("ANALYZE trades")
    finally:
        await connection.close()
