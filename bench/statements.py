"""SQL statements per request, counted: the app runs in-process (lifespan and all, as the tests
run it) and a `before_cursor_execute` listener counts what its engines send to the database.

The listener is on the Engine class, not on `services.engine` alone: the app has more than one
engine (the compiled queries read through `services.reader`), and every one must be counted.
Statements that bypass SQLAlchemy (a raw driver connection) would not be; neither are the
driver's own round trips (BEGIN, the pool's pre-ping), which are not statements of the app.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import event
from sqlalchemy.engine import Engine

from bench.dataset import BENCH_EMAIL, BENCH_PASSWORD

REQUESTS = 10


async def statements_per_request(
    database_url: str, jwt_secret: str, cache_ttl: int, queries: dict[str, str]
) -> dict[str, float]:
    """{workload: statements per request} over REQUESTS requests after one warm-up each."""
    # `main` builds a module-level app from the environment on import: give it the benchmark's
    # settings for that moment, so the import neither writes a development key nor changes the
    # environment of what runs later (bench.live reads REDIS_URL).
    saved = dict(os.environ)
    os.environ.update(ENVIRONMENT="production", JWT_SECRET=jwt_secret, DATABASE_URL=database_url)
    try:
        from main import create_app
    finally:
        os.environ.clear()
        os.environ.update(saved)
    from settings import Environment, Settings

    settings = Settings(
        _env_file=None,
        database_url=database_url,
        environment=Environment.PRODUCTION,
        jwt_secret=SecretStr(jwt_secret),
        redis_url=None,
        cache_ttl_seconds=cache_ttl,
    )
    app = create_app(settings)
    # The app logs each request: not what the benchmark's output is for.
    request_log = logging.getLogger("trading_api.requests")
    request_log.disabled = True
    counted = 0

    def count(*_: Any) -> None:
        nonlocal counted
        counted += 1

    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://bench", timeout=60
        ) as client,
    ):
        response = await client.post(
            "/auth/token", data={"username": BENCH_EMAIL, "password": BENCH_PASSWORD}
        )
        response.raise_for_status()
        headers = {"authorization": f"Bearer {response.json()['access_token']}"}
        event.listen(Engine, "before_cursor_execute", count)
        results: dict[str, float] = {}
        try:
            for workload, query in queries.items():
                for n in range(REQUESTS + 1):
                    if n == 1:  # the first request warms caches and the pool
                        counted = 0
                    response = await client.post("/graphql", json={"query": query}, headers=headers)
                    body = response.json()
                    if response.status_code != 200 or "errors" in body:
                        raise RuntimeError(f"in-process {workload}: {response.text[:2000]}")
                results[workload] = counted / REQUESTS
        finally:
            event.remove(Engine, "before_cursor_execute", count)
            request_log.disabled = False
    return results
