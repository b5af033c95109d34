"""Unexpected failures reach clients masked, with a request id, and are logged in full.

The failures are injected into the general path's queries, so these tests turn compiled
queries off; the last test injects one into the compiled path, which hands the request over.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from settings import Settings
from tests.utils.accounts import Account
from tests.utils.api import Api, error_codes
from tests.utils.app import serve
from tests.utils.settings import make_settings
from web.media_types import GRAPHQL_RESPONSE_JSON

SECRET = "secret SQL details"
ERROR_LOGGER = "trading_api.errors"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, graphql_compiled_queries=False)


def explode(*_args: Any, **_kwargs: Any) -> Any:
    raise RuntimeError(SECRET)


async def post(client: httpx.AsyncClient, query: str, token: str) -> httpx.Response:
    response = await client.post(
        "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    return response


def assert_masked(response: httpx.Response, path: list[Any]) -> str:
    """One masked error at `path`, nothing of the exception in the body; its request id."""
    assert SECRET not in response.text
    assert "secret" not in response.text.lower()
    assert "RuntimeError" not in response.text
    [error] = response.json()["errors"]
    assert error["message"] == "Internal server error"
    assert error["path"] == path
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    request_id = error["extensions"]["requestId"]
    assert isinstance(request_id, str)
    assert request_id
    assert response.headers["X-Request-ID"] == request_id
    return str(request_id)


def assert_logged(caplog: pytest.LogCaptureFixture, request_id: str) -> None:
    """Exactly one error record for the failure, with the request id and the traceback."""
    [record] = [r for r in caplog.records if r.name == ERROR_LOGGER]
    assert record.levelno == logging.ERROR
    assert request_id in record.getMessage()
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)
    assert str(record.exc_info[1]) == SECRET
    assert record.exc_text is None or SECRET in record.exc_text
    assert "Traceback" in caplog.text
    assert SECRET in caplog.text


async def test_unexpected_error_is_masked_and_logged(
    api: Api,
    client: httpx.AsyncClient,
    alice: Account,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The query function behind the `trades` resolver fails.
    monkeypatch.setattr("db.trades.trade_page", explode)
    caplog.set_level(logging.ERROR, logger=ERROR_LOGGER)
    response = await post(client, "{ trades { id } }", alice.token)
    assert response.json()["data"] is None
    request_id = assert_masked(response, ["trades"])
    assert_logged(caplog, request_id)


async def test_unexpected_error_in_a_nested_field_is_masked(
    api: Api,
    client: httpx.AsyncClient,
    alice: Account,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A failing DataLoader: the rest of the response survives, the failure is masked."""
    monkeypatch.setattr("db.trades.trade_pages_for_users", explode)
    caplog.set_level(logging.ERROR, logger=ERROR_LOGGER)
    response = await post(client, "{ me { id trades { id } } }", alice.token)
    assert response.json()["data"] == {"me": None}
    request_id = assert_masked(response, ["me", "trades"])
    assert_logged(caplog, request_id)


async def test_expected_errors_are_not_logged_as_incidents(
    api: Api, alice: Account, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=ERROR_LOGGER)
    body = await api.gql("{ users(limit: -1) { id } }", token=alice.token)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert [r for r in caplog.records if r.name == ERROR_LOGGER] == []


def refused(*_args: Any, **_kwargs: Any) -> Any:
    raise ConnectionRefusedError(111, "Connect call failed ('10.0.0.5', 5432)")


@pytest.mark.parametrize("accept", ["application/json", GRAPHQL_RESPONSE_JSON])
async def test_database_outage_inside_a_resolver_is_a_503(
    client: httpx.AsyncClient, alice: Account, monkeypatch: pytest.MonkeyPatch, accept: str
) -> None:
    """Retried by clients and proxies as any 503 is, whichever media type they accept."""
    monkeypatch.setattr("db.trades.trade_page", refused)
    response = await client.post(
        "/graphql",
        json={"query": "{ trades { id } }"},
        headers={"Authorization": f"Bearer {alice.token}", "Accept": accept},
    )
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"
    assert response.json()["data"] is None
    [error] = response.json()["errors"]
    assert error["message"] == "The database is unavailable; try again shortly"
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert "10.0.0.5" not in response.text


async def test_partial_data_stays_a_200_for_graphql_response_json(
    client: httpx.AsyncClient, alice: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GraphQL over HTTP: a response with data must be a 2xx; the error's code says retry."""
    monkeypatch.setattr("db.trades.trades_by_ids", refused)
    query = "{ me { name } trade(id: 1) { id } }"
    headers = {"Authorization": f"Bearer {alice.token}"}
    response = await client.post(
        "/graphql", json={"query": query}, headers={**headers, "Accept": GRAPHQL_RESPONSE_JSON}
    )
    assert response.status_code == 200, response.text
    assert "retry-after" not in response.headers
    assert response.json()["data"] == {"me": {"name": "Alice"}, "trade": None}
    assert error_codes(response.json()) == ["SERVICE_UNAVAILABLE"]
    legacy = await client.post("/graphql", json={"query": query}, headers=headers)
    assert legacy.status_code == 503, legacy.text
    assert legacy.headers["retry-after"] == "5"
    assert legacy.json()["data"] == {"me": {"name": "Alice"}, "trade": None}


async def test_a_failing_compiled_query_is_answered_the_general_way(
    database_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The compiled statement fails: the general path answers, nothing of it reaches the client."""
    async with serve(make_settings(database_url)) as (client, _):
        api = Api(client)
        _, token = await api.signup("alice@example.com", "Alice")

        async def fail(*_args: Any, **_kwargs: Any) -> Any:
            raise RuntimeError(SECRET)

        monkeypatch.setattr("fastpath.middleware.CompiledQueries._fetch", fail)
        caplog.set_level(logging.WARNING, logger="fastpath.middleware")
        response = await post(client, "{ me { name } trades { id } }", token)
        assert response.json() == {"data": {"me": {"name": "Alice"}, "trades": []}}
        assert SECRET not in response.text
        [record] = [r for r in caplog.records if r.name == "fastpath.middleware"]
        assert record.exc_info is not None and str(record.exc_info[1]) == SECRET
