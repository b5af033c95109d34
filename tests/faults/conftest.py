"""A cluster of its own for the fault tests (PostgreSQL, Redis, two API processes, a worker), so
that they may kill any part of it; each scenario runs once and every check reads its outcome."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.faults.cluster import running_cluster
from tests.faults.runs import Runs
from tests.utils.needs import needed
from tests.utils.postgres_server import PostgresServer
from tests.utils.programs import missing


def require_binaries() -> None:
    """Fail in CI, skip loudly elsewhere, without PostgreSQL's and Redis's programs."""
    reason = PostgresServer.unavailable()
    if reason is None and missing("redis-server"):
        reason = "redis-server not found"
    if reason is not None:
        needed(reason)


@pytest.fixture(scope="module")
def runs() -> Iterator[Runs]:
    require_binaries()
    with running_cluster() as cluster:
        yield Runs(cluster)
