"""WorkerSettings for worker processes whose trade reports, once started (the record says in
progress), wait while the file named by HELD_REPORTS_FILE exists: jobs to kill a worker amid."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

import workers.reports
from workers import WorkerSettings

__all__ = ["WorkerSettings"]

_HOLD = Path(os.environ["HELD_REPORTS_FILE"])
_compute = workers.reports.compute_trade_report


async def _held(session: AsyncSession, user_id: int) -> dict[str, Any]:
    # Polled: the test removes the file from another process.
    while await asyncio.to_thread(_HOLD.exists):  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    return await _compute(session, user_id)


workers.reports.compute_trade_report = _held
