"""The faults: what each scenario breaks, how, and when what it broke is back."""

from __future__ import annotations

import asyncio

import asyncpg

from bench.faults.client import now
from bench.faults.engine import Fault, Scenario, Stage

WORKER_KILL_TRIES = 5
RUNNING_TIMEOUT = 15.0  # for a requested report to start
CRASHED_FOR = 8.0


async def api_kill(stage: Stage) -> Fault:
    """kill -9 of the first API process; a supervisor starts it again at once."""
    api = stage.cluster.apis[0]
    api.kill()
    injected = now()
    stage.rename_during_fault()
    await asyncio.to_thread(api.start)
    return Fault(injected, now())


async def postgres_restart(stage: Stage) -> Fault:
    """`pg_ctl restart -m fast`: every connection of every process is cut."""
    injected = now()
    stage.rename_during_fault()
    await asyncio.to_thread(stage.cluster.postgres.restart)
    return Fault(injected, now())


async def redis_restart(stage: Stage) -> Fault:
    """Redis shut down with a snapshot and started again on it, so that cache entries written
    before the outage survive it; meanwhile the API process that took the last rename crashes
    (kill -9), so only the database knows of that write. Its supervisor starts it again
    CRASHED_FOR seconds after Redis is back: long enough for the other process to be reading
    through its cache again (its circuit breaker tries Redis every 5 s) before a new process
    could change anything."""
    redis, api = stage.cluster.redis, stage.cluster.apis[1]
    await asyncio.to_thread(redis.stop, save=True)
    injected = now()
    await asyncio.sleep(min(0.5, stage.load.outage / 4))
    await stage.rename_during_fault()
    api.kill()
    await asyncio.sleep(max(stage.load.outage - (now() - injected), 0))
    await asyncio.to_thread(redis.start)
    redis_back = now()
    await asyncio.sleep(CRASHED_FOR)
    await asyncio.to_thread(api.start)
    return Fault(injected, now(), redis_down=(injected, redis_back))


async def redis_restart_empty(stage: Stage) -> Fault:
    """Redis shut down without saving and started again empty: queue, cache and pub/sub lost."""
    redis = stage.cluster.redis
    await asyncio.to_thread(redis.stop, save=False)
    injected = now()
    await asyncio.sleep(min(0.5, stage.load.outage / 4))
    stage.rename_during_fault()
    await asyncio.sleep(max(stage.load.outage - (now() - injected), 0))
    await asyncio.to_thread(redis.start)
    back = now()
    return Fault(injected, back, redis_down=(injected, back))


async def worker_kill(stage: Stage) -> Fault:
    """kill -9 of the worker while a report runs; a supervisor starts it again at once."""
    dsn = stage.cluster.dsn
    note = "no report was running when the worker was killed"
    for attempt in range(WORKER_KILL_TRIES):
        job = await stage.jobs.request(stage.traffic, attempt % len(stage.traffic.urls))
        if job is None or not await _running(dsn, job.id):
            continue
        stage.cluster.worker.kill()
        if await _status(dsn, job.id) == "in_progress":
            note = f"killed while job {job.id} ran"
        break
    else:
        stage.cluster.worker.kill()
    injected = now()
    stage.rename_during_fault()
    await asyncio.to_thread(stage.cluster.worker.start)
    return Fault(injected, now(), worker_back=now(), note=note)


async def _status(dsn: str, job_id: str) -> str | None:
    connection = await asyncpg.connect(dsn)
    try:
        status: str | None = await connection.fetchval(
            "SELECT status FROM jobs WHERE id = $1", job_id
        )
        return status
    finally:
        await connection.close()


async def _running(dsn: str, job_id: str) -> bool:
    """Wait until the job runs (True) or has finished or never started in time (False)."""
    connection = await asyncpg.connect(dsn)
    try:
        deadline = now() + RUNNING_TIMEOUT
        while now() < deadline:
            status = await connection.fetchval("SELECT status FROM jobs WHERE id = $1", job_id)
            if status == "in_progress":
                return True
            if status in ("complete", "failed"):
                return False
            await asyncio.sleep(0.002)
        return False
    finally:
        await connection.close()


SCENARIOS = [
    Scenario("api-kill", "kill -9 of an API process, started again at once", api_kill),
    Scenario("postgres-restart", "pg_ctl restart -m fast", postgres_restart),
    Scenario(
        "redis-restart",
        "Redis down, an API process crashes, Redis back with its data",
        redis_restart,
    ),
    Scenario("redis-restart-empty", "Redis down, then back empty", redis_restart_empty),
    Scenario("worker-kill", "kill -9 of the worker mid-report, started again", worker_kill),
]
BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}
