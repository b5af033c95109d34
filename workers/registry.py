"""Every job, declared once: what the API may enqueue, arq's limits for each, and the cron jobs.

Both runners read it: the arq worker (workers/worker.py `WorkerSettings`) and the API process's
own runner without Redis (workers/inprocess.py). A job is called `job(ctx, **arguments)` with
the keyword arguments it was enqueued with; its id and try number are in ctx, as arq puts them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from arq import cron, func
from arq.cron import CronJob
from arq.worker import Function

from settings import Settings
from workers import reports, welcome
from workers.purge import purge_expired
from workers.reports import build_trade_report
from workers.welcome import send_welcome

# arq's own time limit comes this much after a job's, so the job's fires first and its record
# says it timed out (arq cancelling it would leave the record in progress).
TIMEOUT_MARGIN_SECONDS = 10


@dataclass(frozen=True)
class Registered:
    """A job the API enqueues: its function, its tries, its own time limit, and whether users
    poll it with `job(id)` (then it has a row in the jobs table, and takes its id)."""

    coroutine: Callable[..., Any]
    max_tries: int
    time_limit: Callable[[Settings], float]
    recorded: bool = False


# Under the name arq knows each by: the function's.
JOBS: dict[str, Registered] = {
    job.coroutine.__qualname__: job
    for job in (
        Registered(
            build_trade_report,
            max_tries=reports.MAX_TRIES,
            time_limit=lambda settings: settings.job_timeout_seconds,
            recorded=True,
        ),
        Registered(
            send_welcome,
            max_tries=welcome.MAX_TRIES,
            time_limit=lambda settings: welcome.TIMEOUT_SECONDS,
        ),
    )
}


def functions(settings: Settings) -> tuple[Function, ...]:
    """The jobs as arq's `func()`s, with their tries and time limits."""
    return tuple(
        func(
            job.coroutine,
            name=name,
            max_tries=job.max_tries,
            timeout=job.time_limit(settings) + TIMEOUT_MARGIN_SECONDS,
        )
        for name, job in JOBS.items()
    )


def cron_jobs() -> tuple[CronJob, ...]:
    """New CronJob objects: arq keeps a cron job's next run on the object, so runners that
    should not share a schedule each take their own."""
    # On the hour. One try: a failed purge is made good by the next one.
    return (cron(purge_expired, minute=0, max_tries=1),)
