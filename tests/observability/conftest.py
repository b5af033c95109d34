"""Fixtures shared with the job tests: a redis-server of the test's own, worker processes."""

from tests.workers.processes import own_redis, start_worker  # noqa: F401 - fixtures
