"""workers/resilient.py leans on arq's internals: they are checked here against the arq installed,
and so is the slot arq leaks when Redis fails while it claims a job."""

from __future__ import annotations

import inspect

import arq
import pytest
from arq.connections import RedisSettings, create_pool
from arq.worker import Worker

from tests.utils.redis_server import RedisServer
from workers import WorkerSettings
from workers.outage import REDIS_DOWN
from workers.resilient import ResilientWorker

# Written against these; a release outside the range needs the overrides read again.
ARQ_VERSIONS = ("0.26", "0.27", "0.28")


async def test_the_arq_internals_it_overrides_are_there() -> None:
    assert arq.VERSION.startswith(ARQ_VERSIONS), arq.VERSION
    for name in ("_poll_iteration", "start_jobs", "finish_job", "handle_sig", "close", "main"):
        assert inspect.iscoroutinefunction(getattr(Worker, name)) or name == "handle_sig", name
    assert list(inspect.signature(Worker.start_jobs).parameters) == ["self", "job_ids"]
    assert callable(Worker._release_sem_dec_counter_on_complete)
    worker = Worker(functions=[WorkerSettings.functions[0]], handle_signals=False)
    for attribute in ("job_counter", "max_jobs", "sem", "_last_health_check", "ctx"):
        assert hasattr(worker, attribute), attribute
    assert worker.in_progress_timeout_s > 0


@pytest.mark.parametrize(("worker_class", "slots_taken"), [(Worker, 1), (ResilientWorker, 0)])
async def test_a_claim_that_redis_fails_gives_its_slot_back(
    own_redis: RedisServer, worker_class: type[Worker], slots_taken: int
) -> None:
    """arq's own Worker keeps the slot (after max_jobs such failures it would run nothing)."""
    pool = await create_pool(RedisSettings.from_dsn(own_redis.url))
    worker = worker_class(
        functions=list(WorkerSettings.functions), redis_pool=pool, handle_signals=False
    )
    try:
        own_redis.kill()
        with pytest.raises(REDIS_DOWN):
            await worker.start_jobs([b"some-job"])
        assert worker.job_counter == slots_taken
        # The semaphore holds max_jobs + 1: one is spare while every slot is free.
        assert worker.sem._value == worker.max_jobs + 1 - slots_taken
    finally:
        await pool.aclose()
