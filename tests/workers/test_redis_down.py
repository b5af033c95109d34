"""REDIS_URL points where nothing listens: registration and trades still succeed, and the jobs
they commit wait in the outbox until Redis takes them."""

from __future__ import annotations

from pathlib import Path

import pytest
from arq.connections import RedisSettings, create_pool
from arq.jobs import Job as ArqJob
from arq.jobs import JobStatus as ArqStatus

from db.models import Job, Notification, OutboxMessage
from services import Services
from settings import Settings
from tests.utils.api import Api
from tests.utils.graphql import REQUEST_TRADE_REPORT, added, trade
from tests.utils.redis_server import RedisServer
from tests.utils.settings import make_settings
from tests.workers.jobs import all_rows


@pytest.fixture
def settings(database_url: str, closed_port: int) -> Settings:
    return make_settings(database_url, redis_url=f"redis://127.0.0.1:{closed_port}/0")


async def test_registration_succeeds_and_its_welcome_waits(api: Api, services: Services) -> None:
    user = await api.register("alice@example.com", "Alice")
    token = await api.token("alice@example.com")
    me = await api.gql("{ me { id name } }", token=token)
    assert me == {"data": {"me": {"id": user["id"], "name": "Alice"}}}
    await services.relay.deliver()
    assert await all_rows(services, Notification) == []
    [waiting] = await all_rows(services, OutboxMessage)
    assert waiting.payload["kind"] == "send_welcome"


async def test_a_report_requested_while_redis_is_down_is_queued_and_runs_once_it_is_back(
    api: Api, services: Services, settings: Settings, closed_port: int, tmp_path: Path
) -> None:
    _, token = await api.signup("alice@example.com", "Alice")
    body = await api.gql(REQUEST_TRADE_REPORT, token=token)
    assert body["data"]["requestTradeReport"]["status"] == "QUEUED", body
    job_id = body["data"]["requestTradeReport"]["id"]
    await services.relay.deliver()
    [record] = await all_rows(services, Job)
    assert (record.id, record.status, record.error) == (job_id, "queued", None)
    assert len(await all_rows(services, OutboxMessage)) == 2  # the welcome and the report

    with RedisServer(tmp_path / "redis", port=closed_port) as redis:  # where REDIS_URL points
        assert settings.redis_url == redis.url
        await services.relay.deliver()
        assert await all_rows(services, OutboxMessage) == []
        pool = await create_pool(RedisSettings.from_dsn(redis.url))
        try:
            assert await ArqJob(job_id, pool).status() is ArqStatus.queued
        finally:
            await pool.aclose()


async def test_trades_commit_and_are_placed_though_redis_is_down(
    api: Api, services: Services
) -> None:
    """The feed lives in the database: Redis only carries it between processes."""
    _, token = await api.signup("alice@example.com", "Alice")
    async with services.broadcaster.subscribe() as subscriber:
        [new] = await added(api, token, [trade("BTC")])
        await services.relay.deliver()
        events = subscriber.events()
        event = await anext(events)
        assert (event.trade.id, event.trade.seq) == (new["id"], 1)
    listed = await api.gql("{ trades { id seq } }", token=token)
    assert listed == {"data": {"trades": [{"id": new["id"], "seq": "1"}]}}
