"""Jobs abandoned by a dead worker are run again: workers claim the jobs they run, and every live
worker releases the claims of workers whose heartbeat went stale.

arq marks a running job with a key, arq:in-progress:<id>, that lives for the longest job timeout
plus 10 s; the job itself stays in the queue (and its definition in arq:job:<id>) until it ends,
and no worker takes it while that key exists. A worker killed mid-job leaves the key behind, so
the job would wait out the timeout (over five minutes for a report). Deleting the key is all it
takes: the next poll of any worker runs the job again, as its next try (arq counts tries in
arq:retry:<id>, which each run increments). The same works for a job that reached Redis through
any enqueue path, as long as it carries the id the API gave it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from arq.constants import in_progress_key_prefix
from redis.asyncio import Redis

from observability import heartbeat
from workers.outage import REDIS_DOWN, Outage

logger = logging.getLogger(__name__)

# A hash: the id of each job a worker runs -> that worker's name (observability.heartbeat).
CLAIMS_KEY = "trading:jobs:claims"
# Release a claim if the job is still claimed by that worker: another may have taken the job
# since (after an earlier release), and its claim and in-progress key must stay.
# KEYS: the claims, the job's in-progress key; ARGV: job id, worker, 1 to delete the key.
_RELEASE = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then
  return 0
end
redis.call('HDEL', KEYS[1], ARGV[1])
if ARGV[3] == '1' then
  redis.call('DEL', KEYS[2])
end
return 1
"""


async def _release(redis: Redis, job_id: str, worker: str, *, run_again: bool) -> bool:
    script = redis.register_script(_RELEASE)
    keys = [CLAIMS_KEY, in_progress_key_prefix + job_id]
    return bool(await script(keys=keys, args=[job_id, worker, "1" if run_again else "0"]))


async def on_job_start(ctx: dict[str, Any]) -> None:
    """arq's hook before a job runs: claim it for this worker.

    Without the claim (Redis failing just now) the job still runs; were this worker to die
    meanwhile, arq's own key expiry would run it again, only later.
    """
    try:
        await ctx["redis"].hset(CLAIMS_KEY, ctx["job_id"], ctx["worker_name"])
    except REDIS_DOWN:
        logger.warning("could not claim job %s", ctx["job_id"], exc_info=True)


async def after_job_end(ctx: dict[str, Any]) -> None:
    """arq's hook once a job's end is recorded (arq deleted its in-progress key): drop the claim.

    A claim left behind (Redis failing just now) is harmless: once this worker is gone, a
    release deletes an in-progress key that no longer exists.
    """
    try:
        await _release(ctx["redis"], ctx["job_id"], ctx["worker_name"], run_again=False)
    except REDIS_DOWN:
        logger.warning("could not drop the claim on job %s", ctx["job_id"], exc_info=True)


async def release_abandoned(redis: Redis, stale_seconds: float) -> list[str]:
    """Release the jobs claimed by workers without a live heartbeat; their ids."""
    live = (await heartbeat.liveness(redis, stale_seconds)).live
    claims: dict[bytes, bytes] = await redis.hgetall(CLAIMS_KEY)  # type: ignore[misc]
    released = []
    for job_id, worker in ((j.decode(), w.decode()) for j, w in claims.items()):
        if worker not in live and await _release(redis, job_id, worker, run_again=True):
            logger.warning("job %s of worker %s, which is gone, will run again", job_id, worker)
            released.append(job_id)
    return released


async def keep_alive(redis: Redis, name: str, interval: float, stale_seconds: float) -> None:
    """Until cancelled: write this worker's heartbeat, and release jobs that dead workers left.

    Every live worker releases them (a release is atomic: one of them wins, the others find
    nothing). When cancelled (the worker shuts down) the heartbeat is removed.
    """
    outage = Outage("worker heartbeat")
    try:
        while True:
            try:
                await heartbeat.beat(redis, name)
                await release_abandoned(redis, stale_seconds)
            except REDIS_DOWN as error:
                await outage.wait(error)
                continue
            outage.over()
            await asyncio.sleep(interval)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.shield(heartbeat.forget(redis, name))
