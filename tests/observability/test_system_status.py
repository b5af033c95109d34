"""The admins' systemStatus: versions, migrations, database, Redis and the job runner."""

from __future__ import annotations

import asyncio
import contextlib
import platform
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy
from arq.connections import RedisSettings
from arq.worker import create_worker
from redis.asyncio import Redis

from db.revision import migration_head
from observability.heartbeat import HEARTBEAT_KEY
from tests.utils.api import Api, error_codes
from tests.utils.app import serve
from tests.utils.redis_server import RedisServer
from tests.utils.settings import make_settings
from tests.workers.processes import WorkerProcess, eventually, worker_environment
from workers import WorkerSettings

STATUS = """{ systemStatus {
  versions { app python strawberry sqlalchemy }
  migrations { head current upToDate }
  database { reachable latencyMs error }
  redis { reachable latencyMs error }
  jobs { runner queueDepth workers heartbeatAgeSeconds lostWorkers }
} }"""


async def test_admins_see_the_system_in_process(database_url: str) -> None:
    async with serve(make_settings(database_url)) as (client, _):
        api = Api(client)
        body = await api.gql(STATUS, token=await api.admin_token())
    assert "errors" not in body, body
    status = body["data"]["systemStatus"]
    assert status["versions"]["python"] == platform.python_version()
    assert status["versions"]["sqlalchemy"] == sqlalchemy.__version__
    assert status["versions"]["app"] and status["versions"]["strawberry"]
    head = migration_head()
    assert head
    assert status["migrations"] == {"head": head, "current": head, "upToDate": True}
    assert status["database"]["reachable"] is True
    assert status["database"]["latencyMs"] >= 0
    assert status["database"]["error"] is None
    assert status["redis"] is None
    assert status["jobs"] == {
        "runner": "in-process",
        "queueDepth": 0,
        "workers": None,
        "heartbeatAgeSeconds": None,
        "lostWorkers": None,
    }


async def test_others_are_refused(database_url: str) -> None:
    async with serve(make_settings(database_url)) as (client, _):
        api = Api(client)
        _, token = await api.signup("nosy@example.com")
        member = await api.gql(STATUS, token=token)
        anonymous = await api.gql(STATUS)
    assert error_codes(member) == ["FORBIDDEN"]
    assert error_codes(anonymous) == ["UNAUTHENTICATED"]
    assert member["data"] is None and anonymous["data"] is None


async def test_arq_queue_and_worker_heartbeat(database_url: str, redis_url: str) -> None:
    settings = make_settings(database_url, redis_url=redis_url)
    worker = create_worker(
        WorkerSettings,
        redis_settings=RedisSettings.from_dsn(redis_url),
        handle_signals=False,
        poll_delay=0.05,
        ctx={"settings": settings},
    )
    running = asyncio.create_task(worker.async_run())
    redis = Redis.from_url(redis_url)
    try:
        deadline = time.monotonic() + 10
        while not await redis.hlen(HEARTBEAT_KEY):
            assert time.monotonic() < deadline, "the worker wrote no heartbeat"
            await asyncio.sleep(0.05)
        async with serve(settings) as (client, _):
            api = Api(client)
            body = await api.gql(STATUS, token=await api.admin_token())
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await worker.close()
    assert "errors" not in body, body
    status = body["data"]["systemStatus"]
    assert status["redis"]["reachable"] is True
    assert status["redis"]["latencyMs"] >= 0
    jobs = status["jobs"]
    assert jobs["runner"] == "arq"
    assert jobs["queueDepth"] == 0
    assert jobs["workers"] == 1
    assert 0 <= jobs["heartbeatAgeSeconds"] < 10
    assert jobs["lostWorkers"] == 0
    # A worker that shut down takes its heartbeat with it.
    assert await redis.hlen(HEARTBEAT_KEY) == 0
    await redis.aclose()


async def test_redis_down_is_reported_not_raised(database_url: str) -> None:
    settings = make_settings(database_url, redis_url="redis://127.0.0.1:1/0")
    async with serve(settings) as (client, _):
        api = Api(client)
        body = await api.gql(STATUS, token=await api.admin_token())
    assert "errors" not in body, body
    status = body["data"]["systemStatus"]
    assert status["database"]["reachable"] is True
    assert status["redis"] == {"reachable": False, "latencyMs": None, "error": "ConnectionError"}
    assert status["jobs"] == {
        "runner": "arq",
        "queueDepth": None,
        "workers": None,
        "heartbeatAgeSeconds": None,
        "lostWorkers": None,
    }


async def test_a_killed_worker_is_reported_down(
    database_url: str, own_redis: RedisServer, start_worker: Callable[..., WorkerProcess]
) -> None:
    """kill -9: no clean-up, the heartbeat just stops. /readyz says the worker is down but keeps
    the API in rotation; systemStatus counts it lost."""
    settings = make_settings(
        database_url,
        redis_url=own_redis.url,
        worker_heartbeat_seconds=0.5,
        worker_stale_seconds=3,
    )
    worker = start_worker(worker_environment(database_url, own_redis.url))
    async with serve(settings) as (client, _):
        api = Api(client)
        token = await api.admin_token()

        async def worker_says(prefix: str) -> bool:
            return str((await client.get("/readyz")).json()["worker"]).startswith(prefix)

        async def jobs() -> dict[str, Any]:
            body = await api.gql(STATUS, token=token)
            assert "errors" not in body, body
            return dict(body["data"]["systemStatus"]["jobs"])

        await eventually(lambda: worker_says("ok"), 20, "the worker's first heartbeat")
        alive = await jobs()
        worker.kill()
        await eventually(lambda: worker_says("down"), 10, "the killed worker reported down")
        ready = await client.get("/readyz")
        dead = await jobs()

    assert (alive["workers"], alive["lostWorkers"]) == (1, 0)
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "ok"},
        "worker": "down: no arq worker has written a heartbeat in the last 3 s",
    }
    assert dead == {
        "runner": "arq",
        "queueDepth": 0,
        "workers": 0,
        "heartbeatAgeSeconds": None,
        "lostWorkers": 1,
    }
