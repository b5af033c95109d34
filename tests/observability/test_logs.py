"""One JSON log line per HTTP request, whichever path answers it (compiled, Strawberry, REST)."""

from __future__ import annotations

import json
import logging
import os
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from observability.logs import BatchedStderr, JsonFormatter
from tests.utils.api import Api
from tests.utils.app import serve
from tests.utils.settings import make_settings

ADD_TRADES = """mutation AddOne($t: [TradeInput!]!) { addTrades(trades: $t) { id } }"""
TRADE = {"currency": "BTC", "side": "BUY", "price": "100.5", "amount": "2"}


def request_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The request log lines as the JSON formatter writes them."""
    formatter = JsonFormatter()
    return [
        json.loads(formatter.format(record))
        for record in caplog.records
        if record.name == "trading_api.requests"
    ]


async def post(
    client: httpx.AsyncClient, token: str, query: str, variables: dict[str, Any] | None = None
) -> httpx.Response:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    return response


async def test_each_request_is_one_json_line(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="trading_api.requests")
    async with serve(make_settings(database_url, log_format="json")) as (client, _):
        api = Api(client)
        user_id, token = await api.signup("logs@example.com", "Logger")

        # A plain-data query: answered by the compiled path, in one statement.
        caplog.clear()
        response = await post(client, token, "query Mine { me { name } }")
        assert response.json() == {"data": {"me": {"name": "Logger"}}}
        (line,) = request_lines(caplog)
        assert line["request_id"] == response.headers["x-request-id"]
        assert line["operation_name"] == "Mine"
        assert line["operation_type"] == "query"
        assert line["compiled"] is True
        assert line["viewer_id"] == user_id
        assert line["status"] == 200
        assert line["sql_statements"] == 1
        assert line["route"] == "/graphql"
        assert isinstance(line["duration_ms"], float)
        assert line["level"] == "INFO"

        # A mutation: Strawberry's path.
        caplog.clear()
        response = await post(client, token, ADD_TRADES, {"t": [TRADE]})
        assert "errors" not in response.json()
        (line,) = request_lines(caplog)
        assert line["request_id"] == response.headers["x-request-id"]
        assert (line["operation_name"], line["operation_type"]) == ("AddOne", "mutation")
        assert line["compiled"] is False
        assert line["viewer_id"] == user_id
        assert line["sql_statements"] >= 2  # the session check, then the insert

        # A REST route: its template, no operation.
        caplog.clear()
        response = await client.post(
            "/auth/token", data={"username": "logs@example.com", "password": "nope-nope-1"}
        )
        assert response.status_code == 401
        (line,) = request_lines(caplog)
        assert line["route"] == "/auth/token"
        assert line["status"] == 401
        assert line["operation_name"] is None
        assert line["viewer_id"] is None
        assert line["sql_statements"] >= 1


async def test_anonymous_graphql_errors_are_logged_with_their_operation(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="trading_api.requests")
    async with serve(make_settings(database_url, log_format="json")) as (client, _):
        caplog.clear()
        response = await client.post(
            "/graphql", json={"query": "query Who { cacheStats { hits } }"}
        )
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        (line,) = request_lines(caplog)
        assert (line["operation_name"], line["operation_type"]) == ("Who", "query")
        assert line["viewer_id"] is None
        assert line["compiled"] is False


def test_json_formatter_keeps_the_traceback_in_the_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "failed", (), exc_info=__import__("sys").exc_info()
        )
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "failed"
    assert "ValueError: boom" in line["traceback"]


def test_lines_reach_stderr_in_batches_whole_and_in_order() -> None:
    """The handler on the root logger: INFO lines within a flush interval, all in one write;
    a warning at once, after the lines logged before it."""
    stream = WriteLog()
    handler = BatchedStderr(flush_seconds=1)  # the records below are logged well within it
    handler.setStream(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.batched")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        for n in range(3):
            logger.info("request %d", n, extra={"request_id": f"r{n}"})
        assert stream.writes == []  # not yet: it is not a request's job
        deadline = time.monotonic() + 5
        while not stream.writes:
            assert time.monotonic() < deadline, "INFO lines never written"
            time.sleep(0.01)
        (batch,) = stream.writes
        lines = [json.loads(line) for line in batch.splitlines()]
        assert [line["message"] for line in lines] == ["request 0", "request 1", "request 2"]
        assert [line["request_id"] for line in lines] == ["r0", "r1", "r2"]

        logger.info("before")
        logger.warning("trouble")  # no waiting for the next flush
        assert [json.loads(line)["message"] for line in stream.writes[1].splitlines()] == [
            "before",
            "trouble",
        ]
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
        handler.close()


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=0, max_value=4e9))
def test_json_time_is_datetimes_to_the_millisecond(created: float) -> None:
    expected = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
    assert JsonFormatter()._time(created) == expected


class WriteLog:
    """A stream that keeps each write."""

    def __init__(self) -> None:
        self.writes: list[str] = []

    def write(self, text: str) -> None:
        self.writes.append(text)

    def flush(self) -> None:
        pass


def test_a_forked_child_flushes_its_own_lines_and_not_its_parents(tmp_path: Path) -> None:
    path = tmp_path / "log"
    with path.open("w") as stream:
        handler = BatchedStderr(flush_seconds=0.2)
        handler.setStream(stream)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger = logging.getLogger("tests.forked")
        logger.propagate = False
        logger.addHandler(handler)
        try:
            logger.info("parent, pending")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads running
                child = os.fork()
            if child == 0:
                logger.info("child")
                time.sleep(1)  # the child's own thread writes it
                os._exit(0)  # no atexit, no logging.shutdown
            assert os.waitpid(child, 0)[1] == 0
            handler.flush()
        finally:
            logger.removeHandler(handler)
            logger.propagate = True
            handler.close()
    assert sorted(path.read_text().splitlines()) == ["child", "parent, pending"]
