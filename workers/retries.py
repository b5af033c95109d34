"""Which failures earn another try, how long to wait before it, and what the record may say."""

from __future__ import annotations

import logging
from typing import Any

from arq import Retry

from db.engine import database_trouble
from settings import Settings

logger = logging.getLogger(__name__)


def is_transient(error: BaseException) -> bool:
    """Lost or refused connections, a database restarting, locked or out of connection slots, a
    full pool, a time limit: the next try may well work. The database's part is the API's own
    classification (a 503 there); OSError covers ConnectionError and TimeoutError (senders, time
    limits)."""
    return isinstance(error, OSError) or database_trouble(error) is not None


def retry_for(ctx: dict[str, Any], error: Exception, *, max_tries: int) -> Retry | None:
    """arq's Retry, deferred exponentially by try, if `error` is transient and a try is left."""
    job_try: int = ctx.get("job_try", 1)
    if not is_transient(error) or job_try >= max_tries:
        return None
    settings: Settings = ctx["settings"]
    delay = settings.job_retry_delay_seconds * 2 ** (job_try - 1)
    logger.warning(
        "job %s: try %d of %d failed (%r), retrying in %.2fs",
        ctx.get("job_id"),
        job_try,
        max_tries,
        error,
        delay,
    )
    return Retry(defer=delay)


def describe(error: BaseException) -> str:
    """A few words for the job record: the kind of failure, never its text or a traceback."""
    if isinstance(error, TimeoutError):
        return "timed out"
    if is_transient(error):
        return "a service it needs was unavailable"
    return "unexpected error (details in the worker log)"
