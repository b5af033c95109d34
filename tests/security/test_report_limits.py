"""Trade reports are rate limited per user: thirty requests at once over 21,000 trades run the
limit's reports and refuse the rest with RATE_LIMITED. (In development the report jobs run on
the API's own event loop.)"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.security.live import cost_of
from tests.utils.live import Account, Live, start_live

LIMIT = 10  # REPORT_MAX_REQUESTS_PER_USER's default
REQUESTS = 30
TRADES = 21_000
REQUEST_REPORT = "mutation { requestTradeReport { id } }"
JOB = "query($id: String!) { job(id: $id) { status report { currencies { trades } } } }"


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("report-limits")


@pytest.fixture(scope="module")
def live(sqlite_template: Path, directory: Path) -> Iterator[Live]:
    yield from start_live(sqlite_template, directory)


@pytest.fixture(scope="module")
def trader(live: Live, directory: Path) -> Account:
    """A user with many trades, written straight into the server's database."""
    account = live.sign_up("reports@example.com")
    rng = random.Random(12)  # noqa: S311 - test data
    rows = [
        (
            account.id,
            rng.choice(("BTC", "ETH", "EUR")),
            rng.choice(("buy", "sell")),
            f"{rng.uniform(1, 70_000):.8f}",
            f"{rng.uniform(0, 5):.8f}",
        )
        for _ in range(TRADES)
    ]
    with sqlite3.connect(directory / "live.db") as db:
        db.executemany(
            "INSERT INTO trades (user_id, currency, side, price, amount) VALUES (?, ?, ?, ?, ?)",
            rows,
        )
    return account


async def request_report(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    response = await client.post(
        "/graphql",
        json={"query": REQUEST_REPORT},
        headers={"Authorization": f"Bearer {token}"},
    )
    body: dict[str, Any] = response.json()
    return body


def wait_until_complete(live: Live, token: str, job_ids: list[str]) -> None:
    deadline = time.monotonic() + 120
    for job_id in job_ids:
        while (job := live.gql(token, JOB, id=job_id)["data"]["job"])["status"] != "COMPLETE":
            assert job["status"] in ("QUEUED", "IN_PROGRESS"), job
            assert time.monotonic() < deadline, f"job {job_id} did not complete"
            time.sleep(0.1)
        assert sum(c["trades"] for c in job["report"]["currencies"]) == TRADES


async def test_report_requests_are_limited_per_user(live: Live, trader: Account) -> None:
    async with httpx.AsyncClient(base_url=live.server.base_url, timeout=60) as client:
        with cost_of(live) as cost:
            bodies = await asyncio.gather(
                *(request_report(client, trader.token) for _ in range(REQUESTS))
            )
            job_ids = [b["data"]["requestTradeReport"]["id"] for b in bodies if b.get("data")]
            wait_until_complete(live, trader.token, job_ids)
    assert len(job_ids) == LIMIT, bodies
    refusals = [b["errors"][0] for b in bodies if not b.get("data")]
    assert Counter(e["extensions"]["code"] for e in refusals) == {"RATE_LIMITED": REQUESTS - LIMIT}
    assert all(1 <= e["extensions"]["retryAfter"] <= 3600 for e in refusals), refusals
    assert refusals[0]["message"].startswith("Too many report requests")
    # The limit's reports (about 0.1 s each over these trades, database included) and the
    # requests: a refusal costs next to nothing.
    assert cost.cpu_seconds < LIMIT * 0.3 + REQUESTS * 0.02, cost.cpu_seconds
