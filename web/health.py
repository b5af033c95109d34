"""Probes for orchestrators: /healthz (the process answers) and /readyz (its dependencies do)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Response, status
from redis.asyncio import Redis
from sqlalchemy import text

from auth.deps import ServicesDep
from services import Services

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
    """Ready for traffic: the database answers, and Redis too when REDIS_URL is set."""
    checks = {"database": await _probe(_database(services))}
    if services.settings.redis_url:
        checks["redis"] = await _probe(_redis(services.settings.redis_url))
    ready = all(value == "ok" for value in checks.values())
    if not ready:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        response.headers["Retry-After"] = "5"
    return {"status": "ok" if ready else "unavailable", "checks": checks}


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


async def _redis(url: str) -> None:
    client = Redis.from_url(url, socket_connect_timeout=PROBE_TIMEOUT, socket_timeout=PROBE_TIMEOUT)
    try:
        await client.ping()
    finally:
        await client.aclose()
