"""Nested lists load in a constant number of SQL statements: one on the compiled path, a few
through Strawberry's executor (DataLoaders, no N+1)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import insert, select

from db.models import Degree, Trade, User
from services import Services
from settings import Settings
from tests.utils.accounts import Account
from tests.utils.api import Api
from tests.utils.graphql import insert_users
from tests.utils.settings import make_settings
from tests.utils.statements import recorded_statements

NESTED = """
query($limit: Int!) {
  users(limit: $limit) {
    id name
    degrees { name }
    trades(limit: 20) { id user { name } }
  }
}
"""
# General path: the viewer, the users page, their degrees, their trade pages.
MAX_STATEMENTS = {"compiled": 1, "general": 4}


@pytest.fixture
def settings(database_url: str, path: str) -> Settings:
    """The result cache off: these tests count what is sent to the database."""
    return make_settings(
        database_url, cache_ttl_seconds=0, graphql_compiled_queries=path == "compiled"
    )


async def seed(services: Services) -> dict[int, list[int]]:
    """60 users besides the admin, every user with 2 degrees and 25 trades, in one transaction.

    Returns each user's trade ids, newest first."""
    await insert_users(services, 60, prefix="trader")
    async with services.sessions.begin() as session:
        user_ids = list(await session.scalars(select(User.id).order_by(User.id)))
        await session.execute(
            insert(Degree),
            [{"user_id": u, "name": n} for u in user_ids for n in ("newbie", "expert")],
        )
        await session.execute(
            insert(Trade),
            [
                {
                    "user_id": u,
                    "currency": "BTC",
                    "side": "buy" if n % 2 else "sell",
                    "price": n + 1,
                    "amount": 1,
                }
                for n in range(25)
                for u in user_ids
            ],
        )
        rows = await session.execute(select(Trade.user_id, Trade.id).order_by(Trade.id.desc()))
        trades: dict[int, list[int]] = {u: [] for u in user_ids}
        for user_id, trade_id in rows:
            trades[user_id].append(trade_id)
    return trades


async def nested_users(
    api: Api, services: Services, token: str, limit: int
) -> tuple[list[dict[str, Any]], list[str]]:
    with recorded_statements(services.engine, services.reader) as statements:
        body = await api.gql(NESTED, {"limit": limit}, token=token)
    assert "errors" not in body, body
    users: list[dict[str, Any]] = body["data"]["users"]
    return users, list(statements)


async def test_nested_users_load_in_constant_statements(
    api: Api, services: Services, admin: Account, path: str
) -> None:
    trades = await seed(services)
    users, statements = await nested_users(api, services, admin.token, 50)
    assert len(statements) <= MAX_STATEMENTS[path], "\n\n".join(statements)
    # The listener saw the request: one statement each for degrees and trades.
    assert sum("FROM degrees" in s for s in statements) == 1
    assert sum("FROM trades" in s for s in statements) == 1
    _, few_statements = await nested_users(api, services, admin.token, 5)
    assert len(few_statements) == len(statements), "\n\n".join(few_statements)

    assert [u["id"] for u in users] == sorted(trades)[:50]
    for user in users:
        assert [d["name"] for d in user["degrees"]] == ["NEWBIE", "EXPERT"]
        assert [t["id"] for t in user["trades"]] == trades[user["id"]][:20]
        assert {t["user"]["name"] for t in user["trades"]} == {user["name"]}
