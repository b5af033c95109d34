"""Fixtures of the job tests: a closed port, a report computation that fails once, and the
worker processes of tests/workers/processes.py."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

import workers.reports
from tests.utils.ports import free_port
from tests.workers.processes import (  # noqa: F401 - fixtures
    own_persistent_redis,
    own_redis,
    start_worker,
)


@pytest.fixture
def closed_port() -> int:
    """A local port where nothing listens."""
    return free_port()


@pytest.fixture
def connection_lost_once(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The first report computation loses its database connection; later ones succeed.

    Returns the list of calls, one entry per try.
    """
    compute = workers.reports.compute_trade_report
    calls: list[int] = []

    async def lose_connection_once(*args: Any) -> dict[str, Any]:
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("SELECT ...", {}, ConnectionResetError("connection lost"))
        return await compute(*args)

    monkeypatch.setattr(workers.reports, "compute_trade_report", lose_connection_once)
    return calls
