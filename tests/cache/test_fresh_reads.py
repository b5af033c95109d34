"""No process serves data older than a write that has answered, whatever Redis does meanwhile.

Two API processes (apps with their own services and cache clients) share the database and a
Redis of the test's own. The writer's Redis goes away (hung, or down and back with its data)
while it writes; the other process's next read must show the write, and so must every process's
once the writer is gone: nothing the writer kept in memory may be needed for that.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.utils.api import Api
from tests.utils.app import process_factory
from tests.utils.redis_server import RedisServer
from tests.utils.settings import make_settings

USER = "query($id: Int!) { user(id: $id) { id name degrees { name } trades { id } } }"
USERS = "{ users(limit: 100) { id name } }"
TRADES = "{ trades(limit: 100) { id userId user { name } } }"
RENAME = 'mutation($id: Int!) { changeUserName(userId: $id, newName: "Alicia") { id } }'
ADD_TRADES = "mutation($t: [TradeInput!]!) { addTrades(trades: $t) { id } }"
ADD_DEGREE = "mutation($id: Int!) { addDegree(userId: $id, name: EXPERT) { id } }"
TRADE = {"currency": "BTC", "side": "BUY", "price": "1", "amount": "1"}


async def _read_all(api: Api, token: str, user_id: int) -> dict[str, Any]:
    """What a client sees of users, trades and degrees."""
    return {
        "user": (await api.data(USER, token, id=user_id))["user"],
        "users": (await api.data(USERS, token))["users"],
        "trades": (await api.data(TRADES, token))["trades"],
    }


@pytest.fixture(params=["compiled", "general"])
def path(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.mark.parametrize("outage", ["hung", "down"])
async def test_a_write_made_while_redis_was_away_is_read_everywhere(
    database_url: str, own_redis: RedisServer, path: str, outage: str
) -> None:
    settings = make_settings(
        database_url, redis_url=own_redis.url, graphql_compiled_queries=path == "compiled"
    )
    process = process_factory(settings)
    # Not a speed target: a Redis call without a timeout would make this test wait forever.
    async with asyncio.timeout(60), process() as (reader, reader_services):
        async with process() as (writer, _):
            alice_id, alice = await writer.signup("alice@example.com", "Alice")
            admin = await writer.admin_token()
            # Both processes have cached what the writes below change.
            for api in (reader, writer, reader):
                before = await _read_all(api, alice, alice_id)
            assert before["user"] == {"id": alice_id, "name": "Alice", "degrees": [], "trades": []}
            assert before["trades"] == []
            assert reader_services.reads.cache.stats.hits > 0

            own_redis.pause() if outage == "hung" else own_redis.stop()
            await writer.data(RENAME, alice, id=alice_id)
            added = (await writer.data(ADD_TRADES, alice, t=[TRADE]))["addTrades"]
            await writer.data(ADD_DEGREE, admin, id=alice_id)
            own_redis.resume() if outage == "hung" else own_redis.start()

            expected = {
                "user": {
                    "id": alice_id, "name": "Alicia",
                    "degrees": [{"name": "EXPERT"}], "trades": [{"id": added[0]["id"]}],
                },
                "trades": [{"id": added[0]["id"], "userId": alice_id, "user": {"name": "Alicia"}}],
            }  # fmt: skip

            def fresh(seen: dict[str, Any]) -> dict[str, Any]:
                names = {u["id"]: u["name"] for u in seen["users"]}
                assert names[alice_id] == "Alicia"
                return {"user": seen["user"], "trades": seen["trades"]}

            # The other process's next read shows every write, while the writer still lives.
            assert fresh(await _read_all(reader, alice, alice_id)) == expected
            hits = reader_services.reads.cache.stats.hits
        # The writer is gone (it had nothing to hand on): every process still reads the writes,
        # a new one as well as the one that had cached the old data.
        async with process() as (newcomer, _):
            for api in (reader, newcomer, reader):
                assert fresh(await _read_all(api, alice, alice_id)) == expected
        # ...and from the cache again, not only because the cache stepped aside.
        assert reader_services.reads.cache.stats.hits > hits


async def test_a_mutation_answers_with_its_own_write(database_url: str) -> None:
    """Fields read after the write in the same request do not come from entries keyed by the
    versions its session check read before the write (embedded default: in-process cache;
    the general path, whose entries the mutation's fields read)."""
    settings = make_settings(database_url, graphql_compiled_queries=False)
    async with process_factory(settings)() as (api, _):
        alice_id, alice = await api.signup("alice@example.com", "Alice")
        assert (await api.data(USER, alice, id=alice_id))["user"]["trades"] == []  # cached
        add = "mutation($t: [TradeInput!]!) { addTrades(trades: $t) { id user { trades { id } } } }"
        [added] = (await api.data(add, alice, t=[TRADE]))["addTrades"]
        assert added["user"]["trades"] == [{"id": added["id"]}]
