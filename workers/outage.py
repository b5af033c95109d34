"""Riding out a Redis outage: capped exponential backoff, one log line as it starts and one as
it ends (not one per retry)."""

from __future__ import annotations

import asyncio
import logging
import time

from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# What Redis being away looks like: redis-py's errors, and OSError for refused, reset and timed
# out connections (asyncio's TimeoutError is an OSError too).
REDIS_DOWN = (RedisError, OSError)
# Waits between tries: 0.5 s, doubling, at most 5 s, so a worker is back within seconds of Redis.
FIRST_DELAY_SECONDS = 0.5
MAX_DELAY_SECONDS = 5.0


def backoff(failures: int) -> float:
    """The wait after this many failures in a row (1 or more)."""
    return float(min(MAX_DELAY_SECONDS, FIRST_DELAY_SECONDS * 2 ** (failures - 1)))


class Outage:
    """Tracks one part's outage (`what`, named in its log lines): how long, how many failures."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.failures = 0
        self._since: float | None = None

    async def wait(self, error: BaseException) -> None:
        """Another failure: say so if it is the first of an outage, then back off."""
        if self._since is None:
            self._since = time.monotonic()
            logger.warning(
                "%s: Redis does not answer (%s: %s); retrying every %g s at most",
                self.what,
                type(error).__name__,
                error,
                MAX_DELAY_SECONDS,
            )
        self.failures += 1
        await asyncio.sleep(backoff(self.failures))

    def over(self) -> bool:
        """Redis answered: True if that ends an outage (which is then logged)."""
        if self._since is None:
            return False
        logger.warning(
            "%s: Redis answers again after %.1f s (%d failed tries)",
            self.what,
            time.monotonic() - self._since,
            self.failures,
        )
        self._since, self.failures = None, 0
        return True
