"""Registrations are limited per client address: a burst from one address hashes at most the
limit's passwords, the rest get 429 with Retry-After, and everyone else keeps being answered."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.security.live import bystander, cost_of
from tests.utils.live import PASSWORD, Live, start_live

LIMIT = 10  # REGISTER_MAX_PER_ADDRESS's default
BURST = 60


@pytest.fixture(scope="module")
def live(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    yield from start_live(sqlite_template, tmp_path_factory.mktemp("sign-up-limits"))


async def register(client: httpx.AsyncClient, email: str) -> httpx.Response:
    return await client.post(
        "/auth/register", json={"email": email, "password": PASSWORD, "name": "Mallory"}
    )


async def test_a_burst_of_registrations_is_limited(live: Live) -> None:
    async with httpx.AsyncClient(base_url=live.server.base_url, timeout=60) as client:
        # What one registration costs the server: one argon2 hash, the insert and the request.
        with cost_of(live) as one:
            assert (await register(client, "bystander@example.com")).status_code == 201
        signed_in = await client.post(
            "/auth/token", data={"username": "bystander@example.com", "password": PASSWORD}
        )

        async with bystander(client, signed_in.json()["access_token"]) as watched:
            with cost_of(live) as burst:
                answers = await asyncio.gather(
                    *(register(client, f"sock{n}@example.com") for n in range(BURST))
                )
        bystander_statuses = watched.statuses

    allowed = LIMIT - 1  # the bystander's registration came from the same address
    statuses = Counter(answer.status_code for answer in answers)
    assert statuses == {201: allowed, 429: BURST - allowed}, statuses
    refused = [answer for answer in answers if answer.status_code == 429]
    assert all(1 <= int(answer.headers["retry-after"]) <= 3600 for answer in refused)
    assert refused[0].json() == {
        "detail": "Too many registrations from this address; try again later",
        "code": "RATE_LIMITED",
        "errors": [],
    }
    budget = allowed * one.cpu_seconds + BURST * 0.02 + len(bystander_statuses) * 0.01
    assert burst.cpu_seconds <= budget, (burst.cpu_seconds, one.cpu_seconds)
    assert bystander_statuses and set(bystander_statuses) == {200}, Counter(bystander_statuses)
