"""Probes for orchestrators: /healthz (the process answers) and /readyz (its dependencies do)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Response, status
from redis.asyncio import Redis
from sqlalchemy import text

from observability.heartbeat import liveness
from services import Services
from web.deps import ServicesDep

router = APIRouter(tags=["health"])
PROBE_TIMEOUT = 2.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive and serving; says nothing about the database."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={503: {"description": "The database, or Redis when configured, is unreachable"}},
)
async def readyz(services: ServicesDep, response: Response) -> dict[str, Any]:
    """Ready for traffic: the database answers, and Redis too when REDIS_URL is set.

    With REDIS_URL the body also says whether an arq worker is alive, without failing readiness:
    readiness takes an API process in or out of a load balancer's rotation, and this process
    serves reads, writes and job requests (queued, run once a worker is back) whether or not a
    worker runs. Failing it would turn every API process away for a worker's fault.
    """
    settings = services.settings
    checks = {"database": await _probe(_database(services))}
    if settings.redis_url:
        checks["redis"] = await _probe(_redis(settings.redis_url))
    ready = all(value == "ok" for value in checks.values())
    if not ready:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        response.headers["Retry-After"] = "5"
    body: dict[str, Any] = {"status": "ok" if ready else "unavailable", "checks": checks}
    if settings.redis_url:
        body["worker"] = (
            await _worker(settings.redis_url, settings.worker_stale_seconds)
            if checks["redis"] == "ok"
            else "unknown: Redis does not answer"
        )
    return body


async def _probe(check: Any) -> str:
    try:
        async with asyncio.timeout(PROBE_TIMEOUT):
            await check
    except TimeoutError:
        return f"no answer within {PROBE_TIMEOUT:g} s"
    except Exception as error:  # any failure means not ready; the message says which
        return f"unreachable: {type(error).__name__}"
    return "ok"


async def _database(services: Services) -> None:
    async with services.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


def _client(url: str) -> Redis:
    client: Redis = Redis.from_url(
        url, socket_connect_timeout=PROBE_TIMEOUT, socket_timeout=PROBE_TIMEOUT
    )
    return client


async def _redis(url: str) -> None:
    client = _client(url)
    try:
        await client.ping()
    finally:
        await client.aclose()


async def _worker(url: str, stale_seconds: float) -> str:
    """ "ok" while an arq worker's heartbeat is recent, else what is wrong."""
    client = _client(url)
    try:
        async with asyncio.timeout(PROBE_TIMEOUT):
            workers = await liveness(client, stale_seconds)
    except Exception as error:  # reported, like the checks
        return f"unknown: {type(error).__name__}"
    finally:
        await client.aclose()
    if workers.live:
        return "ok"
    return f"down: no arq worker has written a heartbeat in the last {stale_seconds:g} s"
