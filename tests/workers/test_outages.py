"""The worker process through a Redis restart: it waits for Redis with backoff, saying so once,
stays up, and runs the jobs queued once Redis is back; arq's own command exits instead."""

from __future__ import annotations

from collections.abc import Callable

from tests.conftest import Api, make_settings, serve
from tests.graphql.helpers import JOB, REQUEST_TRADE_REPORT
from tests.workers.processes import RedisServer, WorkerProcess, eventually, worker_environment

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

    own_redis.stop()
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
