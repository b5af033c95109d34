"""The worker process through a Redis restart: it waits for Redis with backoff, saying so once,
stays up, and runs the jobs queued once Redis is back; arq's own command exits instead."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from arq.constants import default_queue_name, in_progress_key_prefix, job_key_prefix
from arq.jobs import Job as ArqJob
from redis.asyncio import Redis

from tests.utils.api import Api
from tests.utils.app import serve
from tests.utils.graphql import JOB, REQUEST_TRADE_REPORT
from tests.utils.redis_server import RedisServer
from tests.utils.settings import make_settings
from tests.workers.processes import (
    HELD_REPORTS,
    WorkerProcess,
    eventually,
    worker_environment,
)
from workers.abandoned import CLAIMS_KEY
from workers.outage import REDIS_DOWN

JOB_DEADLINE = 30.0


async def test_worker_rides_out_a_redis_restart(
    database_url: str, own_redis: RedisServer, start_worker: Callable[..., WorkerProcess]
) -> None:
    env = worker_environment(database_url, own_redis.url)
    worker = start_worker(env)
    # arq's own command, on the same Redis: the outage ends it.
    arq_command = start_worker(env, "workers.WorkerSettings", module="arq")
    worker.wait_for_output("Starting worker")
    arq_command.wait_for_output("Starting worker")

    own_redis.kill()
    worker.wait_for_output("arq worker: Redis does not answer")
    assert arq_command.process.wait(timeout=10) == 1
    own_redis.start()  # empty: what Redis held is gone, as after a restart without persistence
    worker.wait_for_output("arq worker: Redis answers again", timeout=15)

    async with serve(make_settings(database_url, redis_url=own_redis.url)) as (client, _):
        api = Api(client)
        _, token = await api.signup("alice@example.com", "Alice")
        requested = await api.gql(REQUEST_TRADE_REPORT, token=token)
        job_id = requested["data"]["requestTradeReport"]["id"]

        async def complete() -> bool:
            job = await api.gql(JOB, {"id": job_id}, token=token)
            return bool(job["data"]["job"]["status"] == "COMPLETE")

        await eventually(complete, JOB_DEADLINE, "the report after the restart")

    output = worker.output()
    assert output.count("arq worker: Redis does not answer") == 1, output
    assert worker.process.poll() is None, output
    assert worker.stop() == 0, worker.output()


async def test_a_job_that_ends_during_an_outage_is_recorded_once_redis_is_back(
    database_url: str,
    own_persistent_redis: RedisServer,
    start_worker: Callable[..., WorkerProcess],
    tmp_path: Path,
) -> None:
    """The report runs on while Redis is away; arq's record of its end waits for Redis (which
    keeps its data here), so the job is finished in arq too and never runs a second time."""
    redis_server = own_persistent_redis
    hold = tmp_path / "hold"
    hold.touch()
    env = worker_environment(database_url, redis_server.url, HELD_REPORTS_FILE=str(hold))
    worker = start_worker(env, HELD_REPORTS)
    worker.wait_for_output("Starting worker")
    redis = Redis.from_url(redis_server.url)
    try:
        async with serve(make_settings(database_url, redis_url=redis_server.url)) as (client, _):
            api = Api(client)
            _, token = await api.signup("alice@example.com", "Alice")
            requested = await api.gql(REQUEST_TRADE_REPORT, token=token)
            job_id = requested["data"]["requestTradeReport"]["id"]

            async def status_is(expected: str) -> bool:
                job = await api.gql(JOB, {"id": job_id}, token=token)
                return bool(job["data"]["job"]["status"] == expected)

            await eventually(lambda: status_is("IN_PROGRESS"), 15, "the worker starts the report")
            redis_server.kill()
            hold.unlink()
            await eventually(lambda: status_is("COMPLETE"), 15, "the report, Redis away")
        worker.wait_for_output("arq worker: Redis does not answer")
        redis_server.start()

        async def finished_in_arq() -> bool:
            with contextlib.suppress(*REDIS_DOWN):
                return await ArqJob(job_id, redis).result_info() is not None
            return False

        await eventually(finished_in_arq, 15, "arq records the job's end")
        result = await ArqJob(job_id, redis).result_info()
        assert result is not None and (result.success, result.job_try) == (True, 1)
        assert not await redis.exists(in_progress_key_prefix + job_id, job_key_prefix + job_id)
        assert await redis.zscore(default_queue_name, job_id) is None

        async def unclaimed() -> bool:
            return not await redis.hexists(CLAIMS_KEY, job_id)

        await eventually(unclaimed, 5, "the claim dropped")
    finally:
        await redis.aclose()
    finished = f"{job_id}:build_trade_report ●"
    worker.wait_for_output("arq worker: Redis answers again")
    output = worker.output()
    assert output.count(finished) == 1, output
    assert worker.stop() == 0, worker.output()
