"""REDIS_URL points where nothing listens: registration and trades still succeed; a report fails
visibly."""

from __future__ import annotations

import pytest

from db.models import Job, Notification
from services import Services
from settings import Settings
from tests.conftest import Api, make_settings
from tests.graphql.helpers import REQUEST_TRADE_REPORT, added, error_code, trade
from tests.workers.conftest import all_rows


@pytest.fixture
def settings(database_url: str, closed_port: int) -> Settings:
    return make_settings(database_url, redis_url=f"redis://127.0.0.1:{closed_port}/0")


async def test_registration_succeeds_without_its_welcome(
    api: Api, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    user = await api.register("alice@example.com", "Alice")
    token = await api.token("alice@example.com")
    me = await api.gql("{ me { id name } }", token=token)
    assert me == {"data": {"me": {"id": user["id"], "name": "Alice"}}}
    assert "could not queue the welcome notification" in caplog.text
    assert await all_rows(services, Notification) == []


async def test_report_that_cannot_be_queued_is_recorded_as_failed(
    api: Api, services: Services
) -> None:
    _, token = await api.signup("alice@example.com", "Alice")
    body = await api.gql(REQUEST_TRADE_REPORT, token=token)
    assert error_code(body) == "INTERNAL_SERVER_ERROR"
    [record] = await all_rows(services, Job)
    assert (record.status, record.error) == ("failed", "could not be queued")


async def test_trades_commit_though_live_trades_cannot_be_published(
    api: Api, services: Services
) -> None:
    """Pub/sub is at most once: the events are dropped (and logged), the batch is kept."""
    _, token = await api.signup("alice@example.com", "Alice")
    [new] = await added(api, token, [trade("BTC")])
    listed = await api.gql("{ trades { id } }", token=token)
    assert listed == {"data": {"trades": [{"id": new["id"]}]}}
