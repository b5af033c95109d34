"""The relay hands outbox messages on in order; one that fails for a reason of its own (not an
outage) neither holds back those behind it nor is tried for ever."""

from __future__ import annotations

import pytest

from db import outbox
from db.models import OutboxMessage
from events.relay import MESSAGE_TRIES
from services import Services
from tests.workers.jobs import all_rows


async def test_a_message_that_keeps_failing_is_dropped_without_holding_back_the_rest(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    async with services.sessions.begin() as session:
        # A job message without its arguments: its handler raises KeyError, every time.
        await outbox.add(session, outbox.JOB, {"kind": "send_welcome", "job_id": "broken"})
        await outbox.add(session, outbox.SESSIONS_ENDED, {"user_id": 1, "session_id": "s"})

    await services.relay.deliver()
    [left] = await all_rows(services, OutboxMessage)
    assert left.payload["job_id"] == "broken"  # the message behind it went on

    for _ in range(MESSAGE_TRIES - 1):
        await services.relay.deliver()
    assert await all_rows(services, OutboxMessage) == []
    assert "failed 3 times, dropped" in caplog.text
