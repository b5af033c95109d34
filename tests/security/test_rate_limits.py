"""The one rate-limit mechanism, in-process and on a real Redis: a hit is checked and counted in
one step (a burst gets exactly the limit), several rules are taken all or none, and a Redis that
does not answer lets requests through."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from ratelimit.limiter import MemoryStore, RateLimiter, RateLimitExceeded, RedisStore, Rule

PER_ACCOUNT = Rule("test:account", limit=5, window_seconds=60)
PER_ADDRESS = Rule("test:address", limit=8, window_seconds=60)


@pytest.fixture(params=["memory", "redis"])
def store_url(request: pytest.FixtureRequest) -> str | None:
    """None for the in-process store, else an empty Redis database."""
    return None if request.param == "memory" else str(request.getfixturevalue("redis_url"))


@pytest.fixture
async def limiter(store_url: str | None) -> AsyncIterator[RateLimiter]:
    limiter = RateLimiter(RedisStore(store_url) if store_url else MemoryStore())
    yield limiter
    await limiter.close()


async def taken(limiter: RateLimiter, *hits: tuple[Rule, str]) -> bool:
    try:
        await limiter.take(*hits)
    except RateLimitExceeded:
        return False
    return True


async def test_a_burst_gets_exactly_the_limit(limiter: RateLimiter) -> None:
    results = await asyncio.gather(*(taken(limiter, (PER_ACCOUNT, "alice")) for _ in range(50)))
    assert results.count(True) == PER_ACCOUNT.limit
    with pytest.raises(RateLimitExceeded) as refused:
        await limiter.take((PER_ACCOUNT, "alice"))
    assert 1 <= refused.value.retry_after <= 60
    # Subjects and rules are counted apart; subjects ignore case and spaces (emails).
    assert await taken(limiter, (PER_ACCOUNT, "bob"))
    assert await taken(limiter, (PER_ADDRESS, "alice"))
    assert not await taken(limiter, (PER_ACCOUNT, " ALICE "))


async def test_several_rules_are_taken_all_or_none(limiter: RateLimiter) -> None:
    for n in range(PER_ADDRESS.limit):
        assert await taken(limiter, (PER_ACCOUNT, f"user{n}"), (PER_ADDRESS, "10.0.0.1"))
    # The address is full: the fresh account is not charged for the refused attempt.
    assert not await taken(limiter, (PER_ACCOUNT, "fresh"), (PER_ADDRESS, "10.0.0.1"))
    for _ in range(PER_ACCOUNT.limit):
        assert await taken(limiter, (PER_ACCOUNT, "fresh"))


async def test_giving_back_and_clearing(limiter: RateLimiter) -> None:
    for _ in range(PER_ACCOUNT.limit):
        await limiter.take((PER_ACCOUNT, "carol"))
    await limiter.give_back(PER_ACCOUNT, "carol")
    assert await taken(limiter, (PER_ACCOUNT, "carol"))
    assert not await taken(limiter, (PER_ACCOUNT, "carol"))
    await limiter.clear(PER_ACCOUNT, "carol")
    assert await taken(limiter, (PER_ACCOUNT, "carol"))
    # Giving back what was never taken does not make room beyond the limit.
    await limiter.give_back(PER_ACCOUNT, "nobody")
    results = [await taken(limiter, (PER_ACCOUNT, "nobody")) for _ in range(6)]
    assert results.count(True) == PER_ACCOUNT.limit


async def test_the_window_ends(limiter: RateLimiter) -> None:
    short = Rule("test:short", limit=1, window_seconds=1)
    assert await taken(limiter, (short, "dave"))
    assert not await taken(limiter, (short, "dave"))
    await asyncio.sleep(1.1)
    assert await taken(limiter, (short, "dave"))


async def test_the_memory_store_is_bounded() -> None:
    store = MemoryStore(max_keys=100)
    limiter = RateLimiter(store)
    for n in range(1_000):
        await limiter.take((PER_ACCOUNT, f"user{n}"))
    assert len(store._counts) == 100
    # The newest subjects are the ones kept, with their counts.
    results = [await taken(limiter, (PER_ACCOUNT, "user999")) for _ in range(PER_ACCOUNT.limit)]
    assert results.count(True) == PER_ACCOUNT.limit - 1


async def test_an_unreachable_redis_lets_requests_through(caplog: pytest.LogCaptureFixture) -> None:
    limiter = RateLimiter(RedisStore("redis://127.0.0.1:1/0"))
    try:
        for _ in range(PER_ACCOUNT.limit + 1):
            await limiter.take((PER_ACCOUNT, "erin"))
        await limiter.give_back(PER_ACCOUNT, "erin")
        await limiter.clear(PER_ACCOUNT, "erin")
    finally:
        await limiter.close()
    assert "rate limits unavailable" in caplog.text
