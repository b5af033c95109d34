"""A job whose worker is killed mid-run (kill -9: no clean-up at all) runs again on a live worker
within seconds, once, as its next try; arq alone would wait out the job's timeout (310 s). One
that has no try left is recorded as failed rather than left in progress."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import arq.worker
import pytest
from arq.connections import RedisSettings
from arq.constants import (
    default_queue_name,
    in_progress_key_prefix,
    job_key_prefix,
    retry_key_prefix,
)
from arq.jobs import Job as ArqJob
from arq.worker import Worker
from redis.asyncio import Redis

from db import jobs
from db.models import Job
from services import Services
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
from workers import WorkerSettings, reports
from workers.abandoned import CLAIMS_KEY
from workers.resilient import create_worker

# The bound: within 30 s of a live worker being there.
RERUN_DEADLINE = 30.0


async def test_a_job_left_by_a_killed_worker_runs_again_once_on_a_live_one(
    database_url: str,
    own_redis: RedisServer,
    start_worker: Callable[..., WorkerProcess],
    tmp_path: Path,
) -> None:
    hold = tmp_path / "hold"
    hold.touch()
    env = worker_environment(database_url, own_redis.url, HELD_REPORTS_FILE=str(hold))
    both = [start_worker(env, HELD_REPORTS), start_worker(env, HELD_REPORTS)]
    for worker in both:
        worker.wait_for_output("Starting worker")
    redis = Redis.from_url(own_redis.url)
    settings = make_settings(database_url, redis_url=own_redis.url)
    try:
        async with serve(settings) as (client, app):
            api = Api(client)
            services: Services = app.state.services
            _, token = await api.signup("alice@example.com", "Alice")
            requested = await api.gql(REQUEST_TRADE_REPORT, token=token)
            job_id = requested["data"]["requestTradeReport"]["id"]

            async def status() -> str:
                body = await api.gql(JOB, {"id": job_id}, token=token)
                return str(body["data"]["job"]["status"])

            async def in_progress() -> bool:
                return await status() == "IN_PROGRESS"

            async def complete() -> bool:
                return await status() == "COMPLETE"

            await eventually(in_progress, 15, "a worker starts the report")
            claim = (await redis.hget(CLAIMS_KEY, job_id)).decode()
            [holder] = [w for w in both if f":{w.pid}:" in claim]
            [survivor] = [w for w in both if w is not holder]

            holder.kill()
            hold.unlink()
            await eventually(complete, RERUN_DEADLINE, "the report left by the killed worker")
            async with services.sessions() as session:
                record = await session.get(Job, job_id)

        assert record is not None
        assert (record.status, record.tries, record.error) == ("complete", 2, None)
        assert record.result is not None and record.result["userId"] > 0
        # arq's view: finished, as its second try, and nothing of it left running or queued.
        result = await ArqJob(job_id, redis).result_info()
        assert result is not None and (result.success, result.job_try) == (True, 2)
        assert not await redis.exists(in_progress_key_prefix + job_id, job_key_prefix + job_id)
        assert await redis.zscore(default_queue_name, job_id) is None
        assert not await redis.hexists(CLAIMS_KEY, job_id)
        finished = f"{job_id}:build_trade_report ●"
        survivor.wait_for_output(finished, timeout=5)  # logs are written in batches
        output = survivor.output()
        assert f"job {job_id} of worker {claim}, which is gone, will run again" in output
        assert output.count(finished) == 1, output
        assert finished not in holder.output()
    finally:
        await redis.aclose()


@pytest.mark.parametrize(
    ("create", "status"), [(arq.worker.create_worker, "IN_PROGRESS"), (create_worker, "FAILED")]
)
async def test_a_job_left_on_its_last_try_is_recorded_failed(
    database_url: str, redis_url: str, create: Callable[..., Worker], status: str
) -> None:
    """arq does not run a job with no try left and tells nobody but Redis: with arq's own
    worker its record would say in progress for ever."""
    settings = make_settings(database_url, redis_url=redis_url)
    redis = Redis.from_url(redis_url)
    try:
        async with serve(settings) as (client, app):
            api = Api(client)
            services: Services = app.state.services
            _, token = await api.signup("alice@example.com", "Alice")
            requested = await api.gql(REQUEST_TRADE_REPORT, token=token)
            job_id = requested["data"]["requestTradeReport"]["id"]
            # What workers killed during each of its tries leave: the record in progress, arq's
            # count of tries at the most, the job in the queue (its in-progress keys released).
            async with services.sessions.begin() as session:
                await jobs.start_job(session, job_id, job_try=reports.MAX_TRIES)
            await redis.set(retry_key_prefix + job_id, reports.MAX_TRIES)

            worker = create(
                WorkerSettings,
                redis_settings=RedisSettings.from_dsn(redis_url),
                burst=True,
                handle_signals=False,
                poll_delay=0.01,
                cron_jobs=None,
                ctx={"settings": settings},
            )
            try:
                await worker.main()
            finally:
                await worker.close()
            job = (await api.gql(JOB, {"id": job_id}, token=token))["data"]["job"]
            async with services.sessions() as session:
                record = await session.get(Job, job_id)
    finally:
        await redis.aclose()

    assert job["status"] == status
    assert record is not None
    if status == "FAILED":
        assert (record.error, record.tries) == (reports.NO_TRY_LEFT, reports.MAX_TRIES)
