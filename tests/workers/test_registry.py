"""One registry of jobs (workers/registry.py): the arq worker and the in-process runner both run
what it lists, with its limits, called with the keyword arguments they were enqueued with."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from arq import Retry, cron
from arq.connections import RedisSettings, create_pool
from arq.jobs import Job as ArqJob
from redis.asyncio import Redis

from db.models import Job, OutboxMessage
from services import Services, start_services
from settings import Settings, get_settings
from tests.utils.graphql import insert_users
from tests.utils.settings import make_settings
from tests.workers.jobs import all_rows
from workers import WorkerSettings, registry
from workers.registry import JOBS, Registered

Calls = list[tuple[dict[str, Any], dict[str, Any]]]


@pytest.fixture
def settings(database_url: str) -> Settings:
    """No REDIS_URL: the API process runs the jobs itself."""
    return make_settings(database_url)


@pytest.fixture
def note_call(monkeypatch: pytest.MonkeyPatch) -> Calls:
    """A job only the registry knows of, `note_call`: it notes its ctx and its arguments."""
    calls: Calls = []

    async def note_call(ctx: dict[str, Any], **arguments: Any) -> None:
        calls.append((ctx, arguments))

    monkeypatch.setitem(
        JOBS, "note_call", Registered(note_call, max_tries=2, time_limit=lambda settings: 5)
    )
    return calls


def test_the_arq_worker_runs_the_registry_jobs_and_cron_jobs() -> None:
    assert list(WorkerSettings.functions) == list(registry.functions(get_settings()))
    # arq notes a cron job's next run on it: what it was built as is the rest.
    assert [dataclasses.replace(job, next_run=None) for job in WorkerSettings.cron_jobs or ()] == [
        *registry.cron_jobs()
    ]
    assert [job.name for job in registry.cron_jobs()] == ["cron:purge_expired"]


def test_every_job_is_retried_and_time_limited(settings: Settings) -> None:
    functions = {function.name: function for function in registry.functions(settings)}
    assert sorted(functions) == ["build_trade_report", "send_welcome"]
    for function in functions.values():
        assert function.max_tries is not None and function.max_tries > 1, function
        assert function.timeout_s, function
    # arq's limit comes after the report's own, which the settings give.
    report = functions["build_trade_report"].timeout_s
    assert report == settings.job_timeout_seconds + registry.TIMEOUT_MARGIN_SECONDS


async def test_the_in_process_runner_runs_a_job_only_the_registry_lists(
    settings: Settings, note_call: Calls
) -> None:
    async with start_services(settings) as services:
        job_id = await services.jobs.enqueue("note_call", text="hello", amounts=[1, 2])
        await services.jobs.drain()

    [(ctx, arguments)] = note_call
    assert arguments == {"text": "hello", "amounts": [1, 2]}
    assert (ctx["job_id"], ctx["job_try"]) == (job_id, 1)


async def test_the_in_process_runner_keeps_to_the_registry_tries(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job that asks for another try every time is run max_tries times, as arq would."""
    tries: list[int] = []

    async def always_again(ctx: dict[str, Any]) -> None:
        tries.append(ctx["job_try"])
        raise Retry(defer=0)

    monkeypatch.setitem(
        JOBS, "always_again", Registered(always_again, max_tries=3, time_limit=lambda s: 5)
    )
    async with start_services(settings) as services:
        await services.jobs.enqueue("always_again")
        await services.jobs.drain()

    assert tries == [1, 2, 3]


async def test_the_in_process_runner_keeps_to_the_registry_time_limit(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome: list[str] = []

    async def hangs(ctx: dict[str, Any]) -> None:
        try:
            await asyncio.sleep(3600)
            outcome.append("finished")
        except asyncio.CancelledError:
            outcome.append("cancelled")
            raise

    monkeypatch.setattr(registry, "TIMEOUT_MARGIN_SECONDS", 0)
    monkeypatch.setitem(JOBS, "hangs", Registered(hangs, max_tries=1, time_limit=lambda s: 0.05))
    async with start_services(settings) as services:
        await services.jobs.enqueue("hangs")
        await services.jobs.drain()

    assert outcome == ["cancelled"]


async def test_the_in_process_runner_runs_the_registry_cron_jobs(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[dict[str, Any]] = []
    once = asyncio.Event()

    async def every_second(ctx: dict[str, Any]) -> None:
        ran.append(ctx)
        once.set()

    monkeypatch.setattr(registry, "cron_jobs", lambda: (cron(every_second, second=None),))
    async with start_services(settings) as services:
        await asyncio.wait_for(once.wait(), timeout=10)
        sessions = services.sessions

    assert ran[0]["sessions"] is sessions


async def test_enqueue_refuses_an_unknown_job_and_a_record_without_its_user(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValueError, match="unknown job 'build_trade_reprot'"):
        await services.jobs.enqueue("build_trade_reprot", user_id=1)
    with pytest.raises(ValueError, match="needs the user_id"):
        await services.jobs.enqueue("build_trade_report")

    assert await all_rows(services, Job) == []
    assert await all_rows(services, OutboxMessage) == []


async def test_recovery_hands_on_a_recorded_job_with_all_its_arguments(
    database_url: str, redis_url: str, note_call: Calls, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis lost a recorded job that takes more than its user: its record keeps the call."""
    monkeypatch.setitem(JOBS, "note_call", dataclasses.replace(JOBS["note_call"], recorded=True))
    settings = make_settings(database_url, redis_url=redis_url)
    async with start_services(settings) as services:
        [user_id] = await insert_users(services, 1)
        job_id = await services.jobs.enqueue("note_call", user_id=user_id, since="2026-11-01")
        await services.relay.deliver()
        async with Redis.from_url(redis_url) as redis:
            await redis.flushdb()
        async with services.sessions.begin() as session:
            record = await session.get(Job, job_id)
            assert record is not None
            assert (record.user_id, record.arguments) == (
                user_id,
                {"user_id": user_id, "since": "2026-11-01"},
            )
            record.enqueued_at -= timedelta(minutes=1)
        await services.jobs.recover()

        pool = await create_pool(RedisSettings.from_dsn(redis_url))
        try:
            info = await ArqJob(job_id, pool).info()
        finally:
            await pool.aclose()

    assert info is not None
    assert (info.function, info.args) == ("note_call", ())
    assert info.kwargs == {"user_id": user_id, "since": "2026-11-01"}
