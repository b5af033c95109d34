"""The fault scenarios, each run once on first use against the fault tests' own cluster."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bench.faults import accounts, engine
from bench.faults.cluster import Cluster
from bench.faults.scenarios import BY_NAME, SCENARIOS

# Short phases: a few seconds of load around each fault (make bench-faults runs longer).
LOAD = engine.Load()


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
