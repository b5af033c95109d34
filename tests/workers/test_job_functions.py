"""The job functions called directly, as a queue that delivers twice would call them, and the
in-process runner that serves when there is no Redis."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert

import workers.reports
from db import jobs
from db.models import WELCOME, IdempotencyKey, Job, Notification, RevokedToken
from db.types import utcnow
from services import Services
from settings import Settings
from tests.utils.api import Api
from tests.utils.graphql import REQUEST_TRADE_REPORT, added, insert_users, trade
from tests.utils.settings import make_settings
from tests.workers.jobs import FlakySender, all_rows, job_context
from workers import reports
from workers.inprocess import InProcessJobs
from workers.purge import purge_expired
from workers.reports import build_trade_report
from workers.welcome import send_welcome


@pytest.fixture
def settings(database_url: str) -> Settings:
    """In-process jobs (no REDIS_URL), retried after a short delay."""
    return make_settings(database_url, job_retry_delay_seconds=0.01)


async def new_report_job(services: Services, user_id: int) -> str:
    async with services.sessions.begin() as session:
        return await jobs.create_job(
            session, kind="build_trade_report", user_id=user_id, arguments={"user_id": user_id}
        )


async def job_record(services: Services, job_id: str) -> Job:
    async with services.sessions() as session:
        job = await session.get(Job, job_id)
    assert job is not None
    return job


# --- delivered twice ---------------------------------------------------------------------------


async def test_report_job_run_twice_does_its_work_once(api: Api, services: Services) -> None:
    user_id, token = await api.signup("alice@example.com", "Alice")
    await added(api, token, [trade("BTC", "BUY", "100", "2")])
    job_id = await new_report_job(services, user_id)
    ctx = job_context(services, job_id=job_id)

    await build_trade_report(ctx, user_id=user_id)
    first = await job_record(services, job_id)
    await added(api, token, [trade("ETH")])  # would change the report, were it computed again
    await build_trade_report(ctx, user_id=user_id)
    second = await job_record(services, job_id)

    assert (second.status, second.tries) == ("complete", 1)
    assert second.result == first.result
    assert second.finished_at == first.finished_at
    assert first.result is not None
    assert [c["currency"] for c in first.result["currencies"]] == ["BTC"]


async def test_two_runs_at_once_write_the_first_result_only(
    api: Api, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stalled worker's job is run again elsewhere (its heartbeat went stale); when the stalled
    run wakes up and finishes, the result the other run wrote stands."""
    user_id, token = await api.signup("alice@example.com", "Alice")
    await added(api, token, [trade("BTC", "BUY", "100", "2")])
    job_id = await new_report_job(services, user_id)
    compute = workers.reports.compute_trade_report
    stalled, wake = asyncio.Event(), asyncio.Event()

    async def first_run_stalls(*args: Any) -> dict[str, Any]:
        report = await compute(*args)
        if not stalled.is_set():
            stalled.set()
            await wake.wait()
            report["currencies"] = []  # the stalled run's result: must not be the one kept
        return report

    monkeypatch.setattr(workers.reports, "compute_trade_report", first_run_stalls)
    first = asyncio.create_task(
        build_trade_report(job_context(services, job_id=job_id, job_try=1), user_id=user_id)
    )
    await stalled.wait()
    await build_trade_report(job_context(services, job_id=job_id, job_try=2), user_id=user_id)
    kept = await job_record(services, job_id)
    wake.set()
    await first

    record = await job_record(services, job_id)
    assert (record.status, record.tries, record.error) == ("complete", 2, None)
    assert record.result == kept.result
    assert record.finished_at == kept.finished_at
    assert record.result is not None
    assert [c["currency"] for c in record.result["currencies"]] == ["BTC"]


async def test_a_finished_job_is_not_finished_again(api: Api, services: Services) -> None:
    """The record keeps its first outcome: a later failure of another run does not replace it."""
    user_id, _ = await api.signup("alice@example.com", "Alice")
    job_id = await new_report_job(services, user_id)
    async with services.sessions.begin() as session:
        assert await jobs.finish_job(session, job_id, result={"n": 1}, error=None) is True
    async with services.sessions.begin() as session:
        assert await jobs.finish_job(session, job_id, result=None, error="report failed") is False
        assert await jobs.finish_job(session, job_id, result={"n": 2}, error=None) is False

    record = await job_record(services, job_id)
    assert (record.status, record.result, record.error) == ("complete", {"n": 1}, None)


async def test_welcome_job_run_twice_sends_one_welcome(services: Services) -> None:
    [user_id] = await insert_users(services, 1)  # not registered: no welcome queued yet
    sender = FlakySender()

    await send_welcome(job_context(services, sender=sender), user_id)
    await send_welcome(job_context(services, sender=sender), user_id)

    [welcome] = await all_rows(services, Notification)
    assert (welcome.user_id, welcome.kind) == (user_id, WELCOME)
    assert welcome.sent_at is not None
    assert [m.to for m in sender.sent] == ["bulk0@example.com"]


async def test_concurrent_welcomes_for_one_user_record_one(
    services: Services, settings: Settings
) -> None:
    """Deliveries at once: the unique index lets one insert, the others find its row."""
    [user_id] = await insert_users(services, 1)
    sender = FlakySender()
    queue = InProcessJobs(settings, services.sessions, sender=sender)
    # As a relay hands them on: three deliveries of one welcome job.
    for _ in range(3):
        await queue.dispatch("send_welcome", "welcome-job", {"user_id": user_id})
    await queue.close()

    [welcome] = await all_rows(services, Notification)
    assert welcome.sent_at is not None
    assert len(sender.sent) == 1


async def test_welcome_of_a_deleted_user_does_nothing(services: Services) -> None:
    await send_welcome(job_context(services), 424242)
    assert await all_rows(services, Notification) == []


# --- in-process mode -------------------------------------------------------------------------


async def test_registration_records_one_welcome_in_process(api: Api, services: Services) -> None:
    user_id = (await api.register("alice@example.com", "Alice"))["id"]
    await services.jobs.drain()
    [welcome] = await all_rows(services, Notification)
    assert (welcome.user_id, welcome.kind, welcome.subject) == (
        user_id,
        WELCOME,
        "Welcome to the Trading API",
    )
    assert welcome.sent_at is not None


async def test_in_process_retries_a_transient_failure(
    api: Api, services: Services, connection_lost_once: list[int]
) -> None:
    _, token = await api.signup("alice@example.com", "Alice")
    body = await api.gql(REQUEST_TRADE_REPORT, token=token)
    await services.jobs.drain()

    record = await job_record(services, body["data"]["requestTradeReport"]["id"])
    assert (record.status, record.tries, record.error) == ("complete", 2, None)
    assert len(connection_lost_once) == 2


async def test_in_process_gives_up_after_max_tries(
    api: Api, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def timed_out(*args: Any) -> dict[str, Any]:
        raise TimeoutError

    monkeypatch.setattr(workers.reports, "compute_trade_report", timed_out)
    _, token = await api.signup("alice@example.com", "Alice")
    body = await api.gql(REQUEST_TRADE_REPORT, token=token)
    await services.jobs.drain()

    record = await job_record(services, body["data"]["requestTradeReport"]["id"])
    assert (record.status, record.tries) == ("failed", reports.MAX_TRIES)
    assert record.error == "report failed: timed out"


async def test_in_process_retries_a_failing_sender(services: Services, settings: Settings) -> None:
    """The sender is pluggable; a mail server down for two tries is retried until it answers."""
    [user_id] = await insert_users(services, 1)
    sender = FlakySender(failures=2)
    queue = InProcessJobs(settings, services.sessions, sender=sender)
    await queue.dispatch("send_welcome", "welcome-job", {"user_id": user_id})
    await queue.close()

    [welcome] = await all_rows(services, Notification)
    assert welcome.sent_at is not None
    assert [m.to for m in sender.sent] == ["bulk0@example.com"]


# --- purge -----------------------------------------------------------------------------------


async def test_purge_deletes_expired_rows_and_keeps_recent_ones(
    api: Api, services: Services, settings: Settings
) -> None:
    user_id, _ = await api.signup("alice@example.com", "Alice")
    await services.jobs.drain()
    now = utcnow()
    old_key = now - timedelta(hours=settings.idempotency_ttl_hours, minutes=1)
    old_notification = now - timedelta(days=settings.notification_retention_days, minutes=1)
    old_job = now - timedelta(days=settings.job_retention_days, minutes=1)
    recent = now - timedelta(minutes=5)

    def job(job_id: str, status: str, finished_at: Any) -> dict[str, Any]:
        return {
            "id": job_id,
            "kind": "build_trade_report",
            "user_id": user_id,
            "arguments": {"user_id": user_id},
            "status": status,
            "enqueued_at": old_job - timedelta(minutes=1),
            "finished_at": finished_at,
        }

    async with services.sessions.begin() as session:
        await session.execute(
            insert(IdempotencyKey),
            [
                {
                    "user_id": user_id,
                    "key": k,
                    "request_hash": "h",
                    "trade_ids": [],
                    "created_at": t,
                }
                for k, t in (("old", old_key), ("recent", recent))
            ],
        )
        await session.execute(
            insert(Notification),
            [
                {
                    "user_id": user_id,
                    "kind": "notice",
                    "subject": subject,
                    "body": "",
                    "created_at": at,
                }
                for subject, at in (("old", old_notification), ("recent", recent))
            ],
        )
        await session.execute(
            insert(Job),
            [
                job("old-complete", "complete", old_job),
                job("old-failed", "failed", old_job),
                job("recent-complete", "complete", recent),
                job("old-but-queued", "queued", None),  # still awaited: kept however old
            ],
        )
        await session.execute(
            insert(RevokedToken),
            [
                {"jti": "expired", "user_id": user_id, "expires_at": now - timedelta(seconds=1)},
                {"jti": "live", "user_id": user_id, "expires_at": now + timedelta(hours=1)},
            ],
        )

    deleted = await purge_expired(job_context(services))

    assert deleted == {"idempotency_keys": 1, "notifications": 1, "jobs": 2, "revoked_tokens": 1}
    assert [r.jti for r in await all_rows(services, RevokedToken)] == ["live"]
    assert [k.key for k in await all_rows(services, IdempotencyKey)] == ["recent"]
    assert sorted(n.subject for n in await all_rows(services, Notification)) == [
        "Welcome to the Trading API",
        "recent",
    ]
    assert sorted(j.id for j in await all_rows(services, Job)) == [
        "old-but-queued",
        "recent-complete",
    ]
    assert await purge_expired(job_context(services)) == {
        "idempotency_keys": 0,
        "notifications": 0,
        "jobs": 0,
        "revoked_tokens": 0,
    }
