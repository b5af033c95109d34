"""A burst of wrong passwords for one account, sent at once, is verified at most the limit's
number of times: the attempt is reserved before argon2 runs. argon2 holds no database
connection, so everyone else keeps being answered meanwhile."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.security.live import bystander, cost_of
from tests.utils.live import Live, start_live

LIMIT = 5  # LOGIN_MAX_FAILURES_PER_ACCOUNT's default
BURST = 50


@pytest.fixture(scope="module")
def live(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    yield from start_live(sqlite_template, tmp_path_factory.mktemp("login-burst"))


async def wrong_password(client: httpx.AsyncClient, email: str) -> httpx.Response:
    return await client.post("/auth/token", data={"username": email, "password": "wrong-guess-1"})


async def test_a_burst_is_verified_at_most_the_limit(live: Live) -> None:
    live.sign_up("victim@example.com")
    other = live.sign_up("bystander@example.com")
    async with httpx.AsyncClient(base_url=live.server.base_url, timeout=30) as client:
        # What one refused password costs the server: one argon2 verification and the request.
        with cost_of(live) as one:
            assert (await wrong_password(client, "calibration@example.com")).status_code == 401

        async with bystander(client, other.token) as watched:
            with cost_of(live) as burst:
                answers = await asyncio.gather(
                    *(wrong_password(client, "victim@example.com") for _ in range(BURST))
                )
        bystander_statuses = watched.statuses

    statuses = Counter(answer.status_code for answer in answers)
    assert statuses == {401: LIMIT, 429: BURST - LIMIT}, statuses
    refused = [answer for answer in answers if answer.status_code == 429]
    assert all(1 <= int(answer.headers["retry-after"]) <= 900 for answer in refused)
    assert refused[0].json() == {
        "detail": "Too many failed sign-ins; try again later",
        "code": "RATE_LIMITED",
        "errors": [],
    }
    # The limit's verifications and little else: each refusal costs well under 20 ms.
    budget = LIMIT * one.cpu_seconds + BURST * 0.02 + len(bystander_statuses) * 0.01
    assert burst.cpu_seconds <= budget, (burst.cpu_seconds, one.cpu_seconds)
    assert bystander_statuses and set(bystander_statuses) == {200}, Counter(bystander_statuses)
