"""A cluster of its own for the fault tests (PostgreSQL, Redis, two API processes, a worker), so
that they may kill any part of it; each scenario runs once and every check reads its outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from bench.faults import accounts, engine
from bench.faults.cluster import Cluster, running_cluster
from bench.faults.scenarios import BY_NAME, SCENARIOS
from tests.utils.needs import needed
from tests.utils.postgres_server import PostgresServer
from tests.utils.programs import missing

# Short phases: a few seconds of load around each fault (make bench-faults runs longer).
LOAD = engine.Load()


def require_binaries() -> None:
    """Fail in CI, skip loudly elsewhere, without PostgreSQL's and Redis's programs."""
    reason = PostgresServer.unavailable()
    if reason is None and missing("redis-server"):
        reason = "redis-server not found"
    if reason is not None:
        needed(reason)


@dataclass
class Runs:
    """Each scenario run once, on first use, in the order of SCENARIOS."""

    cluster: Cluster
    signed_up: accounts.Accounts | None = None
    outcomes: dict[str, engine.Outcome] = field(default_factory=dict)

    def outcome(self, name: str) -> engine.Outcome:
        if name not in self.outcomes:
            self.outcomes[name] = asyncio.run(self._run(name))
        return self.outcomes[name]

    async def _run(self, name: str) -> engine.Outcome:
        if self.signed_up is None:
            self.signed_up = await accounts.create_accounts(self.cluster, LOAD.writers)
        number = [s.name for s in SCENARIOS].index(name)
        return await engine.run(self.cluster, self.signed_up, BY_NAME[name], number, LOAD)


@pytest.fixture(scope="module")
def runs() -> Iterator[Runs]:
    require_binaries()
    with running_cluster() as cluster:
        yield Runs(cluster)
