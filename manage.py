"""Operator commands: `python manage.py prepare` migrates and, in development, loads demo data;
`migrate` only migrates; `export-schema` writes schema.graphql."""

from __future__ import annotations

import argparse
import asyncio
import random
from decimal import Decimal
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import func, insert, select
from sqlalchemy.engine import make_url

from auth.accounts import register
from auth.passwords import PasswordHasher
from db import data_versions
from db.engine import create_engine, create_session_factory
from db.models import Degree, Trade, User
from settings import Settings, get_settings
from startup import database_problems, exit_on_problem

SCHEMA_FILE = Path(__file__).with_name("schema.graphql")
DEMO_EMAIL = "demo@example.com"
# Published demo credentials, loaded in development only.
DEMO_PASSWORD = "demo-password-1"  # noqa: S105
DEMO_ADMIN_EMAIL = "admin@example.com"
DEMO_ADMIN_PASSWORD = "admin-password-1"  # noqa: S105


def migrate(settings: Settings) -> None:
    # Without the password: this line ends up in terminals and deployment logs.
    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    print(f"- applying migrations to {shown}", flush=True)
    config = Config("alembic.ini")
    config.set_main_option("sqlalchemy.url", settings.database_url)
    config.attributes["configure_logger"] = False
    with database_problems(settings.database_url):
        command.upgrade(config, "head")


async def load_demo_data(settings: Settings) -> None:
    """A demo user, a demo admin, a few traders with trades and degrees. Idempotent."""
    engine = create_engine(settings.database_url)
    sessions = create_session_factory(engine)
    passwords = PasswordHasher(settings.password_hash_concurrency)
    try:
        async with sessions.begin() as session:
            if await session.scalar(select(func.count()).select_from(User)):
                print("- demo data: the database already has users, leaving it as it is")
                return
            print("- loading demo data")
            demo_hash = await passwords.hash(DEMO_PASSWORD)
            demo = await register(session, DEMO_EMAIL, "Demo Trader", demo_hash)
            admin_hash = await passwords.hash(DEMO_ADMIN_PASSWORD)
            await register(session, DEMO_ADMIN_EMAIL, "Demo Admin", admin_hash, admin=True)
            rng = random.Random(42)  # noqa: S311 - repeatable demo data, not security
            user_ids = [demo.id]
            for name in ("Ada", "Grace", "Linus", "Margaret"):
                user = await register(session, f"{name.lower()}@example.com", name, demo_hash)
                user_ids.append(user.id)
            prices = {"BTC": 64000, "ETH": 3200, "EUR": 1}
            trades = [
                {
                    "user_id": rng.choice(user_ids),
                    "currency": currency,
                    "side": rng.choice(("buy", "sell")),
                    "price": Decimal(prices[currency] * rng.uniform(0.95, 1.05)).quantize(
                        Decimal("0.01")
                    ),
                    "amount": Decimal(rng.uniform(0.01, 3)).quantize(Decimal("0.0001")),
                }
                for currency in rng.choices(list(prices), k=60)
            ]
            await session.execute(insert(Trade), trades)
            await session.execute(
                insert(Degree),
                [{"user_id": uid, "name": rng.choice(("newbie", "expert"))} for uid in user_ids],
            )
            await data_versions.bump(session, *data_versions.TAGS)
    finally:
        await engine.dispose()


def prepare() -> None:
    settings = get_settings()
    migrate(settings)
    if settings.is_production or not settings.demo_data:
        return
    with database_problems(settings.database_url):
        asyncio.run(load_demo_data(settings))
    print(f"- demo login: {DEMO_EMAIL} / {DEMO_PASSWORD}")
    print(f"  demo admin: {DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD}")


def export_schema() -> None:
    """Write the served SDL to schema.graphql (tests fail when it drifts)."""
    from web.graphql_schema import create_schema

    schema = create_schema(get_settings())
    SCHEMA_FILE.write_text(schema.as_str() + "\n")
    print(f"- wrote {SCHEMA_FILE.name}")


COMMANDS = {
    "prepare": prepare,
    "migrate": lambda: migrate(get_settings()),
    "export-schema": export_schema,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=list(COMMANDS))
    exit_on_problem(COMMANDS[parser.parse_args().command])


if __name__ == "__main__":
    main()
