"""Failed sign-ins are limited per account and per client address, with 429 and Retry-After;
an unknown email and a wrong password get the same answer for the same work."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from services import Services
from settings import Settings
from tests.utils.api import Api
from tests.utils.app import serve
from tests.utils.settings import make_settings

PASSWORD = "trade-secret-1"


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/auth/token", data={"username": email, "password": password})


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(
        database_url, login_max_failures_per_account=3, login_max_failures_per_address=5
    )


async def test_an_account_is_locked_after_its_failures(api: Api, client: httpx.AsyncClient) -> None:
    await api.register("alice@example.com")
    for _ in range(3):
        assert (await sign_in(client, "alice@example.com", "wrong")).status_code == 401
    # Even the right password waits now.
    locked = await sign_in(client, "alice@example.com", PASSWORD)
    assert locked.status_code == 429
    assert locked.json()["detail"] == "Too many failed sign-ins; try again later"
    assert locked.json()["code"] == "RATE_LIMITED"
    assert 1 <= int(locked.headers["retry-after"]) <= 900
    # The cookie login shares the count; other accounts are unaffected.
    cookie = await client.post(
        "/auth/login", data={"username": "alice@example.com", "password": PASSWORD}
    )
    assert cookie.status_code == 429
    await api.register("bob@example.com")
    assert (await sign_in(client, "bob@example.com", PASSWORD)).status_code == 200


async def test_success_forgives_the_accounts_failures(api: Api, client: httpx.AsyncClient) -> None:
    await api.register("carol@example.com")
    for _ in range(2):
        await sign_in(client, "carol@example.com", "wrong")
    assert (await sign_in(client, "carol@example.com", PASSWORD)).status_code == 200
    for _ in range(2):
        assert (await sign_in(client, "carol@example.com", "wrong")).status_code == 401


async def test_an_address_is_limited_across_accounts(api: Api, client: httpx.AsyncClient) -> None:
    """Spraying one password over many accounts from one address."""
    for n in range(5):
        assert (await sign_in(client, f"nobody{n}@example.com", "guess")).status_code == 401
    await api.register("dave@example.com")
    assert (await sign_in(client, "dave@example.com", PASSWORD)).status_code == 429


async def test_unknown_email_and_wrong_password_look_the_same(
    api: Api, client: httpx.AsyncClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    await api.register("erin@example.com")
    verified: list[str | None] = []
    verify = services.passwords.verify

    async def counting(password: str, password_hash: str | None) -> bool:
        verified.append(password_hash)
        return await verify(password, password_hash)

    monkeypatch.setattr(services.passwords, "verify", counting)
    wrong = await sign_in(client, "erin@example.com", "wrong")
    unknown = await sign_in(client, "nobody@example.com", "wrong")
    assert (wrong.status_code, wrong.json()) == (unknown.status_code, unknown.json())
    assert wrong.headers.get("www-authenticate") == unknown.headers.get("www-authenticate")
    # One argon2 verification each: against the real hash, and against a dummy one.
    assert len(verified) == 2
    assert verified[0] is not None and verified[1] is None
    # And both count towards a lock the same way.
    for _ in range(2):
        await sign_in(client, "nobody@example.com", "wrong")
    assert (await sign_in(client, "nobody@example.com", "wrong")).status_code == 429


async def test_the_window_ends(database_url: str) -> None:
    settings = make_settings(
        database_url, login_max_failures_per_account=1, login_failure_window_seconds=1
    )
    async with serve(settings) as (client, _):
        api = Api(client)
        await api.register("frank@example.com")
        await sign_in(client, "frank@example.com", "wrong")
        assert (await sign_in(client, "frank@example.com", PASSWORD)).status_code == 429
        await asyncio.sleep(1.1)
        assert (await sign_in(client, "frank@example.com", PASSWORD)).status_code == 200


async def test_redis_counts_for_every_process(database_url: str, redis_url: str) -> None:
    settings = make_settings(database_url, redis_url=redis_url, login_max_failures_per_account=2)
    async with serve(settings) as (one, _), serve(settings) as (two, _):
        await Api(one).register("grace@example.com")
        assert (await sign_in(one, "grace@example.com", "wrong")).status_code == 401
        assert (await sign_in(two, "grace@example.com", "wrong")).status_code == 401
        assert (await sign_in(one, "grace@example.com", PASSWORD)).status_code == 429
        assert (await sign_in(two, "grace@example.com", PASSWORD)).status_code == 429


async def test_an_unreachable_redis_lets_sign_in_through(database_url: str) -> None:
    settings = make_settings(database_url, redis_url="redis://127.0.0.1:1/0")
    async with serve(settings) as (client, _):
        await Api(client).register("heidi@example.com")
        assert (await sign_in(client, "heidi@example.com", PASSWORD)).status_code == 200
