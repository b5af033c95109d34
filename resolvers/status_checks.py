"""What the admins' `systemStatus` reports: versions, migrations, dependencies and the job queue."""

from __future__ import annotations

import asyncio
import platform
import time
from dataclasses import dataclass
from functools import cache
from importlib.metadata import version
from pathlib import Path

import sqlalchemy
from arq.constants import default_queue_name
from redis.asyncio import Redis
from sqlalchemy import text

from observability.heartbeat import liveness
from services import Services
from workers.inprocess import InProcessJobs

ROOT = Path(__file__).resolve().parent.parent
PROBE_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class Versions:
    app: str
    python: str
    strawberry: str
    sqlalchemy: str


@dataclass(frozen=True)
class Probe:
    reachable: bool
    latency_ms: float | None
    error: str | None


@dataclass(frozen=True)
class Migrations:
    head: str | None
    current: str | None


@dataclass(frozen=True)
class Jobs:
    runner: str  # "arq" or "in-process"
    queue_depth: int | None
    workers: int | None
    heartbeat_age_seconds: float | None
    lost_workers: int | None


@cache
def versions() -> Versions:
    # Imported when an admin first asks: serving does not read it.
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return Versions(
        app=project["version"],
        python=platform.python_version(),
        strawberry=version("strawberry-graphql"),
        sqlalchemy=sqlalchemy.__version__,
    )


async def database(services: Services) -> tuple[Probe, str | None]:
    """Reachability and latency of the database, and its Alembic revision."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_SECONDS), services.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            latency = (time.perf_counter() - started) * 1000
            current = (
                await connection.execute(text("SELECT version_num FROM alembic_version"))
            ).scalar()
    except Exception as error:  # unreachable, or never migrated: say which, never raise
        return Probe(False, None, _describe(error)), None
    return Probe(True, round(latency, 2), None), current


async def redis_and_jobs(services: Services) -> tuple[Probe | None, Jobs]:
    """Redis (when configured), and the job runner: arq's queue and workers, or this process."""
    if not services.settings.redis_url:
        running = services.jobs.running if isinstance(services.jobs, InProcessJobs) else None
        return None, Jobs("in-process", running, None, None, None)
    client = Redis.from_url(
        services.settings.redis_url,
        socket_connect_timeout=PROBE_TIMEOUT_SECONDS,
        socket_timeout=PROBE_TIMEOUT_SECONDS,
    )
    started = time.perf_counter()
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
            await client.ping()
            latency = (time.perf_counter() - started) * 1000
            depth = await client.zcard(default_queue_name)
            workers = await liveness(client, services.settings.worker_stale_seconds)
    except Exception as error:  # Redis down: reported, not raised
        return Probe(False, None, _describe(error)), Jobs("arq", None, None, None, None)
    finally:
        await client.aclose()
    age = min(workers.live.values()) if workers.live else None
    return (
        Probe(True, round(latency, 2), None),
        Jobs(
            "arq",
            depth,
            len(workers.live),
            round(age, 3) if age is not None else None,
            len(workers.lost),
        ),
    )


def _describe(error: BaseException) -> str:
    """The kind of failure, never its text (which may hold addresses or credentials)."""
    return "timed out" if isinstance(error, TimeoutError) else type(error).__name__
