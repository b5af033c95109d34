"""A real deployment on one machine: two uvicorn API processes and one arq worker process, sharing
PostgreSQL and Redis. Jobs cross processes through the queue; writes on one API process are never
served stale from the cache by the other."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis import Redis

from events.redis_broadcast import channel_for
from tests.utils.databases import ROOT, PostgresTemplate, postgres_url
from tests.utils.live import Live
from tests.utils.ports import free_port
from tests.utils.servers import Server, graphql_data, stop, wait_until_serving
from tests.utils.settings import ADMIN_EMAIL, ADMIN_PASSWORD, TEST_SECRET

JOB_TIMEOUT = 30.0
PASSWORD = "trade-secret-1"


@pytest.fixture
def postgres_database(postgres_template: PostgresTemplate) -> Iterator[str]:
    name = postgres_template.copy()
    yield postgres_url(name)
    postgres_template.drop(name)


def _environment(database_url: str, redis_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "JWT_SECRET": TEST_SECRET,
        "FIRST_ADMIN_EMAIL": ADMIN_EMAIL,
        "FIRST_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "CACHE_TTL_SECONDS": "300",
    }


def _spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(  # noqa: S603 - fixed command lines
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )


@pytest.fixture
def deployment(
    postgres_database: str, redis_url: str, tmp_path: Path
) -> Iterator[tuple[Server, Server]]:
    env = _environment(postgres_database, redis_url)
    processes: list[subprocess.Popen[bytes]] = []
    servers: list[Server] = []
    try:
        for name in ("a", "b"):
            port, log = free_port(), tmp_path / f"api-{name}.log"
            command = [sys.executable, "-m", "uvicorn", "main:app", "--port", str(port)]
            process = _spawn(command, env, log)
            processes.append(process)
            servers.append(Server(f"http://127.0.0.1:{port}", process, log))
        worker = [sys.executable, "-m", "workers"]
        processes.append(_spawn(worker, env, tmp_path / "worker.log"))
        for server in servers:
            wait_until_serving(server)
        yield servers[0], servers[1]
    finally:
        for process in processes:
            stop(process)


def _gql(server: Server, token: str, query: str, **variables: Any) -> dict[str, Any]:
    return graphql_data(server.base_url, token, query, **variables)


def _sign_up(server: Server, email: str) -> tuple[int, str]:
    registered = httpx.post(
        f"{server.base_url}/auth/register",
        json={"email": email, "password": PASSWORD, "name": "Alice"},
    )
    assert registered.status_code == 201, registered.text
    token = httpx.post(
        f"{server.base_url}/auth/token", data={"username": email, "password": PASSWORD}
    ).json()["access_token"]
    return registered.json()["id"], token


REPORT = """query($id: String!) { job(id: $id) { status report { userId
  currencies { currency trades boughtAmount soldAmount netAmount averagePrice } } } }"""


def test_a_report_requested_on_one_process_is_built_by_the_worker_and_read_on_another(
    deployment: tuple[Server, Server],
) -> None:
    a, b = deployment
    user_id, token = _sign_up(a, "alice@example.com")
    trades = [
        {"currency": "BTC", "side": "BUY", "price": "100", "amount": "2"},
        {"currency": "BTC", "side": "SELL", "price": "110", "amount": "0.5"},
    ]
    _gql(a, token, "mutation($t: [TradeInput!]!) { addTrades(trades: $t) { id } }", t=trades)
    job_id = _gql(a, token, "mutation { requestTradeReport { id status } }")["requestTradeReport"][
        "id"
    ]

    deadline = time.monotonic() + JOB_TIMEOUT
    while (job := _gql(b, token, REPORT, id=job_id)["job"])["status"] != "COMPLETE":
        assert job["status"] in ("QUEUED", "IN_PROGRESS"), job
        assert time.monotonic() < deadline, "the worker did not finish the report"
        time.sleep(0.2)
    assert job["report"] == {
        "userId": user_id,
        "currencies": [
            {
                "currency": "BTC",
                "trades": 2,
                "boughtAmount": "2.00000000",
                "soldAmount": "0.50000000",
                "netAmount": "1.50000000",
                "averagePrice": "102.00000000",  # (200 + 55) / 2.5
            }
        ],
    }


def test_a_name_changed_on_one_process_is_not_served_stale_by_another(
    deployment: tuple[Server, Server],
) -> None:
    a, b = deployment
    user_id, token = _sign_up(a, "alice@example.com")
    query = "query($id: Int!) { user(id: $id) { name } users { name } }"
    assert _gql(a, token, query, id=user_id)["user"]["name"] == "Alice"  # now cached on A
    _gql(
        b,
        token,
        'mutation($id: Int!) { changeUserName(userId: $id, newName: "Alicia") { name } }',
        id=user_id,
    )
    seen = _gql(a, token, query, id=user_id)
    assert seen["user"]["name"] == "Alicia"
    assert "Alicia" in [u["name"] for u in seen["users"]]


def test_a_trade_added_on_one_process_reaches_subscribers_on_another(
    deployment: tuple[Server, Server], redis_url: str
) -> None:
    a, b = deployment
    live_a, live_b = Live(a), Live(b)
    alice = live_b.sign_up("live@example.com", name="Alice")
    admin = live_a.admin()
    with live_a.socket() as one, live_a.socket() as two, live_b.socket() as local:
        for ws in (one, two, local):
            ws.init({"authToken": alice.token})
            ws.subscribe()
        live_a.wait_for(admin, lambda s: s["subscriptions"] == 2)
        live_b.wait_for(admin, lambda s: s["subscriptions"] == 1)
        ids = live_b.add(alice.token, "BTC", "ETH")
        for ws in (one, two, local):
            assert [ws.next_trade()["id"] for _ in ids] == ids
    # One Redis subscription per API process, however many sockets each serves.
    channel = channel_for(redis_url)
    with Redis.from_url(redis_url) as redis:
        assert redis.pubsub_numsub(channel) == [(channel.encode(), 2)]


def test_a_logout_on_one_process_closes_the_sessions_sockets_on_another(
    deployment: tuple[Server, Server],
) -> None:
    a, b = deployment
    live_a, live_b = Live(a), Live(b)
    alice = live_a.sign_up("logout@example.com")
    with live_a.socket() as ws:
        ws.init({"authToken": alice.token})
        ws.subscribe()
        live_a.wait_for(live_a.admin(), lambda s: s["subscriptions"] == 1)
        with live_b.http() as http:
            logout = http.post("/auth/logout", headers={"Authorization": f"Bearer {alice.token}"})
        assert logout.status_code == 204
        assert ws.close_code() == 4403
