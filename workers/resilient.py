"""arq's Worker, kept running through Redis outages: the one module that leans on arq's internals
(tests/workers/test_resilient.py checks them against the arq installed).

arq 0.28 gives up on the first Redis error of its poll loop: the error leaves Worker.main() and
the process exits 1. RedisSettings.conn_retries covers the first connection only, and
redis-py's per-command retries (RedisSettings.retry) would not do either: a connection lost
during the WATCH that claims a job still escapes, and a worker stopped during an outage would
wait on Redis forever. So this subclass catches Redis errors where arq's loop would end, backs
off (workers/outage.py) and goes on. Jobs already running go on running meanwhile.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import signal
import time
from typing import Any

from arq.typing import StartupShutdown, WorkerSettingsType
from arq.worker import Worker, get_kwargs

from workers.outage import REDIS_DOWN, Outage, backoff

logger = logging.getLogger(__name__)


class ResilientWorker(Worker):
    """A Worker that waits for Redis, with backoff, wherever arq's would stop."""

    def __init__(
        self, *args: Any, on_job_given_up: StartupShutdown | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        # Called with the job's ctx when arq gives up on a job without running it.
        self.on_job_given_up = on_job_given_up
        if self.redis_settings is not None:
            # main() below retries the first connection, with backoff and one log line, for
            # as long as it takes; arq's own retries would give up after five.
            self.redis_settings = dataclasses.replace(self.redis_settings, conn_retries=0)
        self.outage = Outage("arq worker")
        self._stopping = False

    async def main(self) -> None:
        while True:
            try:
                return await super().main()
            except REDIS_DOWN as error:
                # Connecting and logging Redis's version come before ctx["redis"] is set and
                # on_startup runs: a failure there is retried whole. Later ones are not caught
                # here (the poll loop catches its own), as on_startup must run once.
                if "redis" in self.ctx:
                    raise
                await self.outage.wait(error)

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
        except REDIS_DOWN as error:
            await self.outage.wait(error)
            return
        if self.outage.over():
            # arq records its health (the key `arq --check` reads) once an interval and counts
            # a failed record as done: record it now rather than an interval after the outage.
            self._last_health_check = 0

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        # arq takes a slot (its job counter and semaphore) before claiming a job in Redis and
        # gives it back only on a WatchError: a connection lost meanwhile would leak the slot
        # and, after max_jobs outages, the worker would run nothing. Claimed one at a time, a
        # Redis error is known to come from the one job whose slot is given back.
        for job_id in job_ids:
            if self.job_counter >= self.max_jobs:
                return
            try:
                await super().start_jobs([job_id])
            except REDIS_DOWN:
                self._release_sem_dec_counter_on_complete()
                raise

    async def finish_job(self, *args: Any, **kwargs: Any) -> None:
        # A job that ended while Redis was away: arq would drop its end (and the job would run
        # again once its in-progress key expires). Retried until Redis is back, unless that key
        # has expired by then (the job runs again anyway) or the worker is stopping.
        deadline = time.monotonic() + self.in_progress_timeout_s
        failures = 0
        while True:
            try:
                return await super().finish_job(*args, **kwargs)
            except REDIS_DOWN:
                failures += 1
                if self._stopping or time.monotonic() + backoff(failures) > deadline:
                    raise
                await asyncio.sleep(backoff(failures))

    async def finish_failed_job(self, job_id: str, result_data: bytes | None) -> None:
        # arq gives up on a job without running it when no try is left (as after workers died
        # during each), or its definition expired or names no function, and says so in Redis
        # only: the hook lets the job's own record say so too, rather than "in progress" for ever.
        await super().finish_failed_job(job_id, result_data)
        if self.on_job_given_up is not None:
            await self.on_job_given_up({**self.ctx, "job_id": job_id})

    def handle_sig(self, signum: signal.Signals) -> None:
        self._stopping = True
        super().handle_sig(signum)

    def handle_sig_wait_for_completion(self, signum: signal.Signals) -> None:
        self._stopping = True
        super().handle_sig_wait_for_completion(signum)

    async def close(self) -> None:
        try:
            await super().close()
        except REDIS_DOWN as error:
            # Stopped while Redis is away: arq's close() ends at deleting its health key, before
            # on_shutdown (the database engine, the heartbeat) and closing its connections.
            logger.warning("arq worker: stopping while Redis does not answer (%s)", error)
            if self.on_shutdown:
                await self.on_shutdown(self.ctx)
            if self._pool is not None:
                await self._pool.aclose(close_connection_pool=True)
                self._pool = None


def create_worker(settings_cls: WorkerSettingsType, **overrides: Any) -> ResilientWorker:
    """arq's create_worker for a ResilientWorker: the settings' own attributes, on_job_given_up
    among them, then the overrides."""
    own = settings_cls if isinstance(settings_cls, dict) else vars(settings_cls)
    kwargs = {**get_kwargs(settings_cls), "on_job_given_up": own.get("on_job_given_up")}
    return ResilientWorker(**{**kwargs, **overrides})
