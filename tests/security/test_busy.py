"""A pool wait that times out is "busy" (503, SERVER_BUSY, Retry-After 1), not an outage; the
compiled path answers a busy or unreachable database itself instead of retrying it on the
general path; and such failures log one warning line, no traceback."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import exc

from db.engine import is_busy, is_unavailable
from tests.utils.api import Api
from tests.utils.app import serve
from tests.utils.settings import make_settings

BUSY = "The server is busy; try again shortly"
UNAVAILABLE = "The database is unavailable; try again shortly"
GRAPHQL_BUSY = {"errors": [{"message": BUSY, "extensions": {"code": "SERVER_BUSY"}}]}
GRAPHQL_UNAVAILABLE = {
    "errors": [{"message": UNAVAILABLE, "extensions": {"code": "SERVICE_UNAVAILABLE"}}]
}


def pool_timeout(*_args: Any, **_kwargs: Any) -> Any:
    raise exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached, connection timed out")


async def refused(*_args: Any, **_kwargs: Any) -> Any:
    raise ConnectionRefusedError(111, "Connect call failed ('10.0.0.5', 5432)")


async def async_pool_timeout(*args: Any, **kwargs: Any) -> Any:
    pool_timeout(*args, **kwargs)


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info is not None]


async def test_a_busy_pool_inside_a_resolver_is_server_busy(
    database_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async with serve(make_settings(database_url, graphql_compiled_queries=False)) as (client, _):
        _, token = await Api(client).signup("busy@example.com")
        monkeypatch.setattr("db.trades.trade_page", pool_timeout)
        caplog.set_level(logging.WARNING)
        response = await client.post(
            "/graphql",
            json={"query": "{ trades { id } }"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "1"
    body = response.json()
    [error] = body["errors"]
    assert error["message"] == BUSY
    assert error["extensions"]["code"] == "SERVER_BUSY"
    assert "QueuePool" not in str(body)
    assert tracebacks(caplog) == []
    assert [r.levelno for r in caplog.records if "busy" in r.getMessage()] == [logging.WARNING]


async def test_a_busy_pool_before_execution_is_a_503_with_retry_after(
    database_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async with serve(make_settings(database_url)) as (client, _):
        _, token = await Api(client).signup("busy@example.com")
        monkeypatch.setattr("db.sessions.session_user", async_pool_timeout)
        caplog.set_level(logging.WARNING)
        headers = {"Authorization": f"Bearer {token}"}
        rest = await client.get("/users/me", headers=headers)
    assert rest.status_code == 503, rest.text
    assert rest.json() == {"detail": BUSY, "code": "SERVER_BUSY", "errors": []}
    assert rest.headers["retry-after"] == "1"
    assert tracebacks(caplog) == []


@pytest.mark.parametrize(
    ("failure", "status", "body", "retry_after"),
    [
        (async_pool_timeout, 503, GRAPHQL_BUSY, "1"),
        (refused, 503, GRAPHQL_UNAVAILABLE, "5"),
    ],
    ids=["busy", "unavailable"],
)
async def test_the_compiled_path_answers_database_failures_without_retrying(
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    failure: Any,
    status: int,
    body: dict[str, Any],
    retry_after: str,
) -> None:
    async with serve(make_settings(database_url)) as (client, app):
        _, token = await Api(client).signup("busy@example.com")
        monkeypatch.setattr("fastpath.middleware.CompiledQueries._fetch", failure)
        general: list[str] = []

        async def count_general_path(scope: Any, receive: Any, send: Any) -> None:
            general.append(scope["path"])
            raise AssertionError("the general path must not run")

        compiled = app.middleware_stack
        while type(compiled).__name__ != "CompiledQueries":
            compiled = compiled.app  # type: ignore[union-attr]
        compiled.app = count_general_path  # type: ignore[union-attr]
        caplog.set_level(logging.WARNING)
        response = await client.post(
            "/graphql",
            json={"query": "{ me { id name } }"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == status, response.text
    assert response.json() == body
    assert response.headers["retry-after"] == retry_after
    assert "10.0.0.5" not in response.text
    assert general == []
    assert tracebacks(caplog) == []
    warnings = [r for r in caplog.records if r.name == "web.errors"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING


async def test_the_general_path_gives_the_same_answer_for_a_busy_pool(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the compiled path answers above is what the general path answers."""
    settings = make_settings(database_url, graphql_compiled_queries=False)
    async with serve(settings) as (client, _):
        _, token = await Api(client).signup("busy@example.com")
        monkeypatch.setattr("db.sessions.session_user", async_pool_timeout)
        response = await client.post(
            "/graphql",
            json={"query": "{ me { id name } }"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 503, response.text
    assert response.json() == GRAPHQL_BUSY
    assert response.headers["retry-after"] == "1"


def test_busy_is_not_an_outage() -> None:
    timeout = exc.TimeoutError("QueuePool limit reached")
    assert is_busy(timeout) and not is_unavailable(timeout)
    assert is_unavailable(ConnectionRefusedError()) and not is_busy(ConnectionRefusedError())


async def test_a_connection_lost_with_a_restart_is_retried_once_on_the_general_path(
    database_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The reader's idle connections are not checked before use: the one that died with the
    database costs one retry, not an error for the client."""
    async with serve(make_settings(database_url)) as (client, _):
        _, token = await Api(client).signup("restart@example.com", "Restart")

        async def lost(*_args: Any, **_kwargs: Any) -> Any:
            raise exc.DBAPIError(
                "SELECT", None, ConnectionResetError(), connection_invalidated=True
            )

        monkeypatch.setattr("fastpath.middleware.CompiledQueries._fetch", lost)
        caplog.set_level(logging.WARNING)
        body = await Api(client).gql("{ me { name } }", token=token)
    assert body == {"data": {"me": {"name": "Restart"}}}
    assert tracebacks(caplog) == []
