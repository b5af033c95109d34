"""Overload against a live server: past MAX_CONCURRENT_REQUESTS requests are shed at once with
503 and Retry-After, a pool that runs dry says "busy" (never "the database is unavailable"),
the compiled path never retries on the general path, and /healthz keeps answering."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvloop
from starlette.testclient import TestClient, WebSocketDenialResponse

from bench.crowd import PROBE_TIMEOUT, Step, load, percentile
from main import create_app
from tests.utils.app import serve
from tests.utils.live import PROTOCOL, Live, start_live
from tests.utils.settings import make_settings
from web.load_shedding import ConcurrencyLimit

CLIENTS = 300
SECONDS = 3.0
BUSY = {
    "errors": [
        {"message": "The server is busy; try again shortly", "extensions": {"code": "SERVER_BUSY"}}
    ]
}


def overload(live: Live, token: str) -> Step:
    """A crowd of clients that honour Retry-After, as HTTP clients and load balancers do. (Clients
    that retry at once are an attack, for rate limits per client: each refusal still costs the
    process a little, and enough of them leave no time for the admitted requests.)"""
    port = int(live.server.base_url.rsplit(":", 1)[1])
    return uvloop.run(load("127.0.0.1", port, token, CLIENTS, SECONDS, True, True))


def assert_only_busy_refusals(step: Step) -> None:
    for status, body, retry_after in step.refusals:
        assert status == 503, (status, body)
        assert json.loads(body) == BUSY
        assert retry_after == 1
        assert b"unavailable" not in body


def assert_health_answered(step: Step) -> None:
    assert step.probes, "no /healthz probe ran"
    assert max(step.probes) < PROBE_TIMEOUT, step.probes


def assert_quiet_log(live: Live) -> None:
    log = live.server.output()
    assert "answering it the general way" not in log
    assert "Traceback" not in log
    assert "database unavailable" not in log


@pytest.fixture(scope="module")
def limited(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    yield from start_live(
        sqlite_template, tmp_path_factory.mktemp("limited"), max_concurrent_requests="4"
    )


@pytest.fixture(scope="module")
def unlimited(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """No request limit and a pool wait of 10 ms: the pool runs dry under the same load."""
    yield from start_live(
        sqlite_template,
        tmp_path_factory.mktemp("unlimited"),
        max_concurrent_requests="0",
        db_pool_timeout_seconds="0.01",
    )


def test_requests_past_the_limit_are_shed_at_once(limited: Live) -> None:
    token = limited.sign_up("crowd@example.com").token
    step = overload(limited, token)
    assert step.ok > 0
    assert len(step.shed_latencies) > CLIENTS // 2
    assert_only_busy_refusals(step)
    # Refused at once, not after a wait in a queue (the pool's would be DB_POOL_TIMEOUT_SECONDS).
    assert percentile(step.shed_latencies, 0.5) < 0.1
    assert_health_answered(step)
    assert_quiet_log(limited)


def test_a_dry_pool_is_busy_and_never_retried(unlimited: Live) -> None:
    token = unlimited.sign_up("crowd@example.com").token
    step = overload(unlimited, token)
    assert step.ok > 0
    assert step.shed_latencies, "the pool never ran dry: nothing was tested"
    assert_only_busy_refusals(step)
    assert_health_answered(step)
    assert_quiet_log(unlimited)


def test_health_and_metrics_are_never_limited(limited: Live) -> None:
    with limited.http() as http:
        for path in ("/healthz", "/readyz", "/metrics"):
            assert http.get(path).status_code == 200, path


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/graphql", BUSY),
        (
            "/users/me",
            {
                "detail": "The server is busy; try again shortly",
                "code": "SERVER_BUSY",
                "errors": [],
            },
        ),
    ],
)
async def test_a_refusal_is_a_503_with_retry_after(
    database_url: str, path: str, body: dict[str, Any]
) -> None:
    async with serve(make_settings(database_url)) as (client, app):
        await client.get("/healthz")  # builds the middleware stack
        limit = limiter(app)
        limit.in_flight = limit.limit  # as if that many requests were under way
        refused = await client.post(path, json={"query": "{ me { id } }"})
        healthy = await client.get("/healthz")
    assert refused.status_code == 503
    assert refused.json() == body
    assert refused.headers["retry-after"] == "1"
    assert healthy.status_code == 200


def limiter(app: Any) -> ConcurrencyLimit:
    node = app.middleware_stack
    while not isinstance(node, ConcurrencyLimit):
        node = node.app
    return node


def test_an_open_websocket_holds_no_slot(database_url: str) -> None:
    """MAX_CONCURRENT_REQUESTS=1: with a socket open, HTTP requests still get in."""
    with TestClient(create_app(make_settings(database_url, max_concurrent_requests=1))) as client:
        client.get("/healthz")
        with client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
            ws.send_json({"type": "connection_init", "payload": {}})
            assert limiter(client.app).in_flight == 0
            assert client.post("/graphql", json={"query": "{ __typename }"}).status_code == 200
        assert limiter(client.app).in_flight == 0


def test_a_websocket_handshake_past_the_limit_is_refused(database_url: str) -> None:
    with TestClient(create_app(make_settings(database_url, max_concurrent_requests=1))) as client:
        client.get("/healthz")
        limiter(client.app).in_flight = 1  # as if a request were under way
        with (
            pytest.raises(WebSocketDenialResponse) as refused,
            client.websocket_connect("/graphql", subprotocols=[PROTOCOL]),
        ):
            pass
    assert refused.value.status_code == 503
    assert refused.value.headers["retry-after"] == "1"
    assert refused.value.json() == BUSY
