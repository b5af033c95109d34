"""An entry the running release cannot decode (the previous release's shape during a rolling
deploy, garbage) is a cache miss: the request is answered from the database, and the entry is
overwritten in the current format. Both backends, through /graphql."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from redis.asyncio import Redis

from cache import codec
from cache.backends import Backend, MemoryBackend
from services import Services
from settings import Settings
from tests.utils.api import Api
from tests.utils.app import serve
from tests.utils.settings import make_settings

TRADE = "query($id: Int!) { trade(id: $id) { id currency side price amount createdAt seq } }"
ADD = "mutation($t: [TradeInput!]!) { addTrades(trades: $t) { id } }"


@pytest.fixture(params=["memory", "redis"])
def settings(request: pytest.FixtureRequest, database_url: str) -> Settings:
    # The general path: it caches records (compiled queries cache whole responses).
    if request.param == "memory":
        return make_settings(database_url, graphql_compiled_queries=False)
    redis_url = request.getfixturevalue("redis_url")
    return make_settings(database_url, redis_url=redis_url, graphql_compiled_queries=False)


def previous_release(trade: dict[str, Any], user_id: int) -> bytes:
    """How the release before this one stored a trade: its fields by position."""
    return json.dumps(
        [
            trade["id"], user_id, trade["currency"], trade["side"].lower(), trade["price"],
            trade["amount"], trade["createdAt"], None,
        ]
    ).encode()  # fmt: skip


async def keys_held(backend: Backend, redis_url: str | None, prefix: str) -> list[str]:
    if isinstance(backend, MemoryBackend):
        return [key for key in backend.stored_keys() if key.startswith(prefix)]
    assert redis_url is not None
    async with Redis.from_url(redis_url) as redis:
        return [key.decode() async for key in redis.scan_iter(match=prefix + "*")]


async def data(api: Api, token: str, trade_id: int) -> dict[str, Any]:
    body = await api.gql(TRADE, {"id": trade_id}, token=token)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["trade"]
    return found


@pytest.mark.parametrize("stale", ["previous release", "garbage"])
async def test_an_entry_that_does_not_decode_is_a_miss_then_overwritten(
    settings: Settings, stale: str
) -> None:
    async with serve(settings) as (client, app):
        services: Services = app.state.services
        cache = services.reads.cache
        api = Api(client)
        user_id, token = await api.signup("alice@example.com", "Alice")
        new = {"currency": "BTC", "side": "BUY", "price": "101.5", "amount": "0.00000001"}
        body = await api.gql(ADD, {"t": [new]}, token=token)
        trade_id = int(body["data"]["addTrades"][0]["id"])
        await services.relay.deliver()  # placed in the feed (a new `trades` version) now, not later
        first = await data(api, token, trade_id)  # a miss: loaded and stored

        prefix = f"trading:cache:{codec.TRADE.version}:trade:{trade_id}@"
        [key] = await keys_held(cache.backend, settings.redis_url, prefix)
        old = previous_release(first, user_id) if stale == "previous release" else b"\xff{not"
        await cache.backend.set_many({key: old}, ttl=60)
        if cache.local is not None:  # found as a process that has not kept the entry finds it
            cache.local.clear()

        before = replace(cache.stats)
        assert await data(api, token, trade_id) == first  # answered from the database
        assert cache.stats.undecodable == before.undecodable + 1
        assert (cache.stats.hits, cache.stats.misses) == (before.hits, before.misses + 1)
        [stored] = await cache.backend.get_many([key])
        assert stored is not None and codec.TRADE.decode(stored).id == trade_id

        assert await data(api, token, trade_id) == first
        assert cache.stats.hits == before.hits + 1  # the overwritten entry
        assert cache.stats.undecodable == before.undecodable + 1
