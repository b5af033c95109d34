"""The benchmark dataset: deterministic users, trades and degrees in PostgreSQL, through the
project's own migrations.

    python -m bench.dataset [--database NAME] [--scale N]

Scale 1 is 1,000 users, 20,000 trades (3 currencies, both sides) and one degree each; the same
seed gives the same rows. The database is dropped and created afresh. The first user,
bench@example.com / bench-password-1, is the one the benchmark signs in as.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
from sqlalchemy import insert
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auth.passwords import PasswordHasher
from db.engine import create_engine
from db.models import USER_ROLE_ID, Degree, Trade, User
from manage import migrate
from settings import Settings

SERVER_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
BENCH_EMAIL = "bench@example.com"
BENCH_PASSWORD = "bench-password-1"  # noqa: S105 - a published benchmark account
CURRENCIES = ("BTC", "ETH", "SOL")
USERS, TRADES_PER_USER = 1_000, 20
CHUNK = 5_000
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def database_url(name: str, server: str = SERVER_URL) -> str:
    return make_url(server).set(database=name).render_as_string(hide_password=False)


async def recreate(name: str, server: str) -> None:
    url = make_url(server)
    conn = await asyncpg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database=url.database or "postgres",
    )
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def progress(label: str, done: int, total: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    end = "\n" if done >= total else ""
    print(
        f"\r  {label:8s} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}",
        end=end,
        flush=True,
    )


async def fill(url: str, scale: int, seed: int = 7) -> None:
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    users = USERS * scale
    password_hash = await PasswordHasher(1).hash(BENCH_PASSWORD)  # one hash for all: fast, valid
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            rows = [
                {
                    "email": BENCH_EMAIL if n == 0 else f"trader{n}@example.com",
                    "name": f"Trader {n}",
                    "role_id": USER_ROLE_ID,
                    "password_hash": password_hash,
                    "registered_at": EPOCH + timedelta(minutes=n),
                }
                for n in range(users)
            ]
            for start in range(0, users, CHUNK):
                await conn.execute(insert(User), rows[start : start + CHUNK])
                progress("users", min(start + CHUNK, users), users)
            degrees = [
                {
                    "user_id": n + 1,
                    "name": rng.choice(("newbie", "expert")),
                    "created_at": EPOCH + timedelta(minutes=n),
                }
                for n in range(users)
            ]
            for start in range(0, users, CHUNK):
                await conn.execute(insert(Degree), degrees[start : start + CHUNK])
                progress("degrees", min(start + CHUNK, users), users)
            total = users * TRADES_PER_USER
            for start in range(0, total, CHUNK):
                batch = [
                    {
                        "user_id": rng.randrange(users) + 1,
                        "currency": rng.choice(CURRENCIES),
                        "side": rng.choice(("buy", "sell")),
                        "price": Decimal(rng.randrange(1, 10_000_000)) / 100,
                        "amount": Decimal(rng.randrange(1, 1_000_000)) / 10_000,
                        "created_at": EPOCH + timedelta(seconds=start + i),
                        # Already in the live feed, as trades the relay placed long ago.
                        "seq": start + i + 1,
                    }
                    for i in range(min(CHUNK, total - start))
                ]
                await conn.execute(insert(Trade), batch)
                progress("trades", start + len(batch), total)
        # Settle the new tables now: otherwise autovacuum vacuums and analyzes them in the
        # background while the first servers are measured, on the cores they share.
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql("VACUUM (ANALYZE)")
    finally:
        await engine.dispose()


def build(name: str, scale: int, server: str = SERVER_URL) -> str:
    """Create, migrate (Alembic runs its own event loop) and fill; the new database's URL."""
    url = database_url(name, server)
    print(f"- creating {name} (scale {scale})")
    asyncio.run(recreate(name, server))
    migrate(Settings(database_url=url, jwt_secret="x" * 40, _env_file=None))
    asyncio.run(fill(url, scale))
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default="trading_bench")
    parser.add_argument("--scale", type=int, default=1, choices=(1, 10, 100))
    parser.add_argument("--server", default=SERVER_URL, help="a PostgreSQL URL to create it on")
    args = parser.parse_args()
    print(build(args.database, args.scale, args.server))


if __name__ == "__main__":
    main()
