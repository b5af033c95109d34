"""Write throughput of `addTrades` transactions by how cached reads learn of them (not a test).

    python -m bench.data_versions [--writers 1 4 16] [--seconds 0.5] [--rounds 12] [--batch 1]

On PostgreSQL (a throwaway database, `trading_bench_versions`) with `--writers` concurrent
connections, each running the statements of an `addTrades` call in a loop (insert the batch,
record its idempotency key, commit), in every way compared here:

- `redis after commit`: the old way, a Redis MSET of the `trades` tags' version tokens after the
  commit (what `RedisBackend.bump` did): nothing held in the database, but lost with Redis;
- `db, 1 row`: the version bumped in the transaction, on a single row per tag: every writer
  waits for the commit of the one before it;
- `db, N shards`: the version bumped in the transaction on one of `data_versions.SHARDS` rows
  picked at random, as shipped (taking a row no one holds, `FOR UPDATE SKIP LOCKED`, measured
  slower: the lock is one more write);
- `none`: no versioning at all, the ceiling.

Each round runs every way once for a short window, in a rotated order (the machine's other load
drifts: each way gets its share of it); the medians of the rounds are printed, with the shipped
way's ratio to the old one. The generator shares the machine's cores with PostgreSQL: figures
vary with what else runs, ratios less so. What is measured is the transaction alone: through
the API, each `addTrades` also parses, checks and answers, so the share of the bump is smaller.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path

from redis.asyncio import Redis
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.dataset import SERVER_URL, database_url, recreate
from db import data_versions, idempotency, trades
from db.engine import create_engine, create_session_factory
from db.models import User
from tests.utils.databases import migrate

DATABASE = "trading_bench_versions"
REDIS_URL = "redis://127.0.0.1:6379/0"
# What RedisBackend.bump wrote, under a prefix of this benchmark's own.
REDIS_PREFIX = "trading:bench:versions:"
USERS = 32

Variant = Callable[..., Awaitable[None]]


async def run(args: argparse.Namespace) -> None:
    url = database_url(DATABASE, args.server)
    await recreate(DATABASE, args.server)
    await asyncio.to_thread(migrate, url)
    engine = create_engine(url, pool_size=max(args.writers) + 2, max_overflow=0)
    sessions = create_session_factory(engine)
    redis = Redis.from_url(args.redis, socket_timeout=1)
    async with sessions.begin() as session:
        await session.execute(
            insert(User),
            [
                {"email": f"w{i}@example.com", "name": f"W{i}", "password_hash": "x"}
                for i in range(USERS)
            ],
        )
    shipped_shards = data_versions.SHARDS

    async def transaction(user_id: int, bump: bool) -> None:
        async with sessions() as session:
            added = await trades.insert_trades(
                session,
                [
                    {
                        "user_id": user_id,
                        "currency": "BTC",
                        "side": "buy",
                        "price": Decimal("64000.5"),
                        "amount": Decimal("0.25"),
                    }
                    for _ in range(args.batch)
                ],
            )
            await idempotency.record(
                session,
                user_id=user_id,
                key=uuid.uuid4().hex,
                request_hash="0" * 64,
                trade_ids=[t.id for t in added],
            )
            if bump:
                await data_versions.bump(session, data_versions.TRADES)
            await session.commit()

    async def in_transaction(user_id: int) -> None:
        await transaction(user_id, bump=True)

    async def none(user_id: int) -> None:
        await transaction(user_id, bump=False)

    async def redis_after_commit(user_id: int) -> None:
        await transaction(user_id, bump=False)
        token = uuid.uuid4().hex[:12]
        await redis.mset(
            {REDIS_PREFIX + "trades": token, REDIS_PREFIX + f"trades:user:{user_id}": token}
        )

    shipped = f"db, {shipped_shards} shards"
    # Each way, and the shards data_versions.bump spreads its writers over while it runs.
    variants: dict[str, tuple[Variant, int]] = {
        "redis after commit": (redis_after_commit, shipped_shards),
        "db, 1 row": (in_transaction, 1),
        shipped: (in_transaction, shipped_shards),
        "none": (none, shipped_shards),
    }
    try:
        for writers in args.writers:
            rates: dict[str, list[float]] = {name: [] for name in variants}
            for round_ in range(args.rounds):
                names = list(variants)
                names = names[round_ % len(names) :] + names[: round_ % len(names)]
                for name in names:
                    variant, data_versions.SHARDS = variants[name]
                    rates[name].append(await _rate(variant, writers, args.seconds))
            medians = {name: statistics.median(found) for name, found in rates.items()}
            print(f"{writers} writers, batches of {args.batch} (transactions/s, median):")
            for name, rate in medians.items():
                print(f"  {name:22s} {rate:8.0f}")
            old = medians["redis after commit"]
            print(
                f"  shipped / old: {medians[shipped] / old:.2f}, "
                f"1 row / old: {medians['db, 1 row'] / old:.2f}",
                flush=True,
            )
    finally:
        data_versions.SHARDS = shipped_shards
        await redis.delete(*[k async for k in redis.scan_iter(match=REDIS_PREFIX + "*")] or ["-"])
        await redis.aclose()
        await engine.dispose()


async def _rate(variant: Variant, writers: int, seconds: float) -> float:
    """Transactions per second of `writers` closed loops, each a user of its own."""
    done = 0
    deadline = time.monotonic() + seconds

    async def loop(user_id: int) -> None:
        nonlocal done
        while time.monotonic() < deadline:
            await variant(user_id)
            done += 1

    started = time.monotonic()
    await asyncio.gather(*(loop(1 + w % USERS) for w in range(writers)))
    return done / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--seconds", type=float, default=0.5, help="per way and round")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--batch", type=int, default=1, help="trades per transaction")
    parser.add_argument("--server", default=SERVER_URL, help="a PostgreSQL URL to create it on")
    parser.add_argument("--redis", default=REDIS_URL)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
