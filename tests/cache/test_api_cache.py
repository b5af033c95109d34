"""The query cache seen by clients: scoped by visibility, invalidated everywhere, failing open.

Every test runs on both read paths: compiled queries cache whole responses, Strawberry's
executor caches records; both must hold to the same rules.
"""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from cache import codec
from settings import Settings
from tests.utils.api import Api
from tests.utils.app import process_factory
from tests.utils.settings import make_settings

USERS = "{ users(limit: 100) { id name email } }"
USER = "query($id: Int!) { user(id: $id) { id name email degrees { name } trades { id } } }"
TRADES = "{ trades(limit: 100) { id userId user { name } } }"
ADD = """mutation($t: [TradeInput!]!) { addTrades(trades: $t) { id } }"""


@pytest.fixture(params=["compiled", "general"])
def path(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def redis_settings(database_url: str, redis_url: str, path: str) -> Settings:
    return make_settings(
        database_url, redis_url=redis_url, graphql_compiled_queries=path == "compiled"
    )


async def test_one_users_email_never_reaches_another_from_the_cache(
    redis_settings: Settings, redis_url: str, path: str
) -> None:
    async with process_factory(redis_settings)() as (api, services):
        alice_id, alice = await api.signup("alice@example.com", "Alice")
        bob_id, bob = await api.signup("bob@example.com", "Bob")
        admin = await api.admin_token()

        emails_seen = {}
        for viewer, token in (("alice", alice), ("bob", bob), ("admin", admin), ("bob2", bob)):
            users = (await api.data(USERS, token))["users"]
            emails_seen[viewer] = {u["id"]: u["email"] for u in users if u["email"]}
        assert emails_seen["alice"] == {alice_id: "alice@example.com"}
        assert emails_seen["bob"] == emails_seen["bob2"] == {bob_id: "bob@example.com"}
        assert set(emails_seen["admin"].values()) >= {"alice@example.com", "bob@example.com"}
        assert services.reads.cache.stats.hits > 0  # bob's second read came from the cache

    redis = Redis.from_url(redis_url)
    try:
        if path == "general":
            # What non-admins' record entries hold: no email at all.
            pattern = f"trading:cache:{codec.USERS.version}:users:public:*"
            keys = [k async for k in redis.scan_iter(match=pattern)]
            assert keys
            for value in await redis.mget(keys):
                assert value is not None and b"@example.com" not in value
        else:
            # One response per viewer (they select `email`): alice, bob, the admin.
            keys = [k async for k in redis.scan_iter(match="trading:cache:raw:compiled:*")]
            assert len(keys) == 3
            values = await redis.mget(keys)
            assert sum(b"alice@example.com" in v and b"bob@example.com" in v for v in values) == 1
    finally:
        await redis.aclose()


async def test_writes_on_one_process_invalidate_the_cache_of_another(
    redis_settings: Settings,
) -> None:
    process = process_factory(redis_settings)
    async with process() as (api_a, _), process() as (api_b, _):
        alice_id, alice = await api_a.signup("alice@example.com", "Alice")
        admin = await api_a.admin_token()
        # Fill A's cache with everything the writes below must change.
        before = await api_a.data(USER, alice, id=alice_id)
        assert before["user"] == {
            "id": alice_id, "name": "Alice", "email": "alice@example.com",
            "degrees": [], "trades": [],
        }  # fmt: skip
        await api_a.data(USERS, alice)
        assert (await api_a.data(TRADES, alice))["trades"] == []

        # A registration on B shows in A's user list.
        await api_b.register("carol@example.com", "Carol")
        names = [u["name"] for u in (await api_a.data(USERS, alice))["users"]]
        assert "Carol" in names

        # Writes on B...
        await api_b.data(
            'mutation($id: Int!) { changeUserName(userId: $id, newName: "Alicia") { id } }',
            alice,
            id=alice_id,
        )
        trade = {"currency": "BTC", "side": "BUY", "price": "1", "amount": "1"}
        added = (await api_b.data(ADD, alice, t=[trade]))["addTrades"]
        await api_b.data(
            "mutation($id: Int!) { addDegree(userId: $id, name: EXPERT) { id } }",
            admin,
            id=alice_id,
        )

        # ...are what A serves next, not its cached answers.
        after = (await api_a.data(USER, alice, id=alice_id))["user"]
        assert after["name"] == "Alicia"
        assert after["degrees"] == [{"name": "EXPERT"}]
        assert after["trades"] == [{"id": added[0]["id"]}]
        assert "Alicia" in [u["name"] for u in (await api_a.data(USERS, alice))["users"]]
        trades = (await api_a.data(TRADES, alice))["trades"]
        assert trades == [{"id": added[0]["id"], "userId": alice_id, "user": {"name": "Alicia"}}]


@pytest.fixture(params=["nothing listens", "never answers"])
def dead_redis_url(request: pytest.FixtureRequest) -> str:
    if request.param == "nothing listens":
        return "redis://127.0.0.1:1/0"
    port = request.getfixturevalue("silent_server")
    return f"redis://127.0.0.1:{port}/0"


async def test_the_api_fails_open_when_redis_is_down_or_hung(
    database_url: str, dead_redis_url: str, path: str
) -> None:
    """Every read and write still works, from the database; the breaker stops the waiting.

    The hard time limit is not a speed target: without socket timeouts a hung Redis makes
    requests wait forever, and this test would never end.
    """
    settings = make_settings(
        database_url, redis_url=dead_redis_url, graphql_compiled_queries=path == "compiled"
    )
    async with asyncio.timeout(30), process_factory(settings)() as (api, services):
        alice_id, alice = await api.signup("alice@example.com", "Alice")
        added = await api.data(
            ADD, alice, t=[{"currency": "EUR", "side": "SELL", "price": "2", "amount": "3"}]
        )
        for _ in range(10):
            data = await api.data(USER, alice, id=alice_id)
            assert data["user"]["trades"] == [{"id": added["addTrades"][0]["id"]}]
            assert [t["id"] for t in (await api.data(TRADES, alice))["trades"]] == [
                added["addTrades"][0]["id"]
            ]
        stats = services.reads.cache.stats
        assert stats.errors >= services.reads.cache.breaker.failures_to_open
        assert stats.bypassed > 0  # the breaker opened: later requests did not wait on Redis
        assert stats.hits == 0


async def test_admins_read_the_cache_counters(api: Api) -> None:
    _, alice = await api.signup("alice@example.com", "Alice")
    for _ in range(3):
        await api.data(USERS, alice)
    query = "{ cacheStats { backend hits misses errors bypassed breakerOpen } }"
    stats = (await api.data(query, await api.admin_token()))["cacheStats"]
    assert stats == {
        "backend": "memory", "hits": 2, "misses": 1, "errors": 0, "bypassed": 0,
        "breakerOpen": False,
    }  # fmt: skip
    body = await api.gql(query, token=alice)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
