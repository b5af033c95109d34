"""A job whose worker is killed mid-run (kill -9: no clean-up at all) runs again on a live worker
within seconds, once, as its next try; arq alone would wait out the job's timeout (310 s)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from arq.constants import default_queue_name, in_progress_key_prefix, job_key_prefix
from arq.jobs import Job as ArqJob
from redis.asyncio import Redis

from db.models import Job
from services import Services
from tests.conftest import Api, make_settings, serve
from tests.graphql.helpers import JOB, REQUEST_TRADE_REPORT
from tests.workers.processes import RedisServer, WorkerProcess, eventually, worker_environment
from workers.abandoned import CLAIMS_KEY

HELD = "tests.workers.held_reports.WorkerSettings"
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
    both = [start_worker(env, HELD), start_worker(env, HELD)]
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
