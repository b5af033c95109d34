"""GET /metrics: counters move with client traffic, processes add up, outsiders are refused."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from observability import middleware, sql
from tests.utils.api import Api
from tests.utils.app import serve
from tests.utils.servers import uvicorn_servers
from tests.utils.settings import make_settings

ADD_TRADES = """mutation AddOne($t: [TradeInput!]!) { addTrades(trades: $t) { id } }"""
TRADE = {"currency": "BTC", "side": "BUY", "price": "100.5", "amount": "2"}
METRICS_TOKEN = "metrics-token-" + "m" * 24


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of an exposition, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(
    scraped: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    """The sum of the samples named `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, found), v in scraped.items() if n == name and wanted <= found)


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


async def test_counters_move_with_client_requests(database_url: str) -> None:
    async with serve(make_settings(database_url)) as (client, app):
        api = Api(client)
        _, token = await api.signup("metrics@example.com", "Metered")
        before = await scrape(client)

        for _ in range(3):  # compiled path
            body = await api.gql("query Mine { me { name } trades(limit: 5) { id } }", token=token)
            assert "errors" not in body
        body = await api.gql(ADD_TRADES, {"t": [TRADE]}, token=token)  # Strawberry's path
        assert "errors" not in body
        await app.state.services.relay.deliver()  # placed in the feed: published
        body = await api.gql("query Stats { cacheStats { hits } }", token=token)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"

        after = await scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    requests = "trading_api_http_requests_total"
    assert delta(requests, route="/graphql", operation="Mine", operation_type="query") == 3
    assert delta(requests, operation="AddOne", operation_type="mutation", status="200") == 1
    assert delta(requests, operation="Stats") == 1
    assert delta(requests, route="/auth/register", status="201") == 0  # before the first scrape
    latency = "trading_api_http_request_duration_seconds_count"
    assert delta(latency, operation="Mine") == 3
    assert delta("trading_api_graphql_errors_total", code="FORBIDDEN") == 1
    assert delta("trading_api_events_published_total") == 1
    # The result cache: the trades list is cached, so the three reads miss, then hit.
    assert delta("trading_api_cache_requests_total", result="miss") >= 1
    assert delta("trading_api_cache_requests_total", result="hit") >= 1
    assert ("trading_api_jobs", frozenset({("status", "queued")})) in after


async def test_connections_in_use_follow_the_pools(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sql, "SAMPLE_SECONDS", 0.05)
    in_use = "trading_api_db_connections_in_use"

    async def until(client: httpx.AsyncClient, wanted: Callable[[float], bool]) -> None:
        deadline = time.monotonic() + 5
        while not wanted(found := value(await scrape(client), in_use)):
            assert time.monotonic() < deadline, f"{in_use} stayed at {found}"
            await asyncio.sleep(0.05)

    async with serve(make_settings(database_url)) as (client, app):
        services = app.state.services
        # A scrape reads the jobs table, so a sample may catch its connection too.
        async with services.engine.connect(), services.reader.connect():
            await until(client, lambda found: found >= 2)
        await until(client, lambda found: found == 0)


async def test_rest_routes_are_counted_by_template(database_url: str) -> None:
    async with serve(make_settings(database_url)) as (client, _):
        before = await scrape(client)
        await Api(client).register("rest@example.com")
        response = await client.get("/nowhere")
        assert response.status_code == 404
        after = await scrape(client)
    requests = "trading_api_http_requests_total"
    register = {"route": "/auth/register", "status": "201"}
    assert value(after, requests, **register) - value(before, requests, **register) == 1
    unmatched = {"route": "unmatched", "status": "404"}
    assert value(after, requests, **unmatched) - value(before, requests, **unmatched) == 1


async def test_outsiders_are_refused(database_url: str) -> None:
    # Loopback is allowed by default; another network is not.
    async with serve(make_settings(database_url)) as (client, app):
        assert (await client.get("/metrics")).status_code == 200
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app, client=("203.0.113.5", 4000)),
            base_url="http://testserver",
        ) as outsider:
            response = await outsider.get("/metrics")
            assert response.status_code == 404
            assert "trading_api" not in response.text


async def test_the_token_admits_from_anywhere_and_nothing_else_does(database_url: str) -> None:
    settings = make_settings(
        database_url, metrics_token=METRICS_TOKEN, metrics_allowed_networks="10.0.0.0/8, fd00::/8"
    )
    assert [str(n) for n in settings.metrics_allowed_networks] == ["10.0.0.0/8", "fd00::/8"]
    async with serve(settings) as (client, _):
        assert (await client.get("/metrics")).status_code == 404  # loopback is not listed
        wrong = {"Authorization": "Bearer " + "x" * len(METRICS_TOKEN)}
        assert (await client.get("/metrics", headers=wrong)).status_code == 404
        right = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        response = await client.get("/metrics", headers=right)
        assert response.status_code == 200
        assert "trading_api_http_requests_total" in response.text


def test_processes_add_up_in_multiprocess_mode(database_url: str, tmp_path: Path) -> None:
    """Two uvicorn processes sharing PROMETHEUS_MULTIPROC_DIR: either one's scrape counts both."""
    directory = tmp_path / "prometheus"
    directory.mkdir()
    with uvicorn_servers(
        database_url,
        tmp_path / "one.log",
        tmp_path / "two.log",
        prometheus_multiproc_dir=str(directory),
    ) as (one, two):
        for server, times in ((one, 2), (two, 3)):
            for _ in range(times):
                response = httpx.post(
                    f"{server.base_url}/graphql", json={"query": "query Ping { __typename }"}
                )
                assert response.status_code == 200, response.text
        for server in (one, two):
            response = httpx.get(f"{server.base_url}/metrics")
            assert response.status_code == 200, server.output()
            scraped = samples(response.text)
            assert (
                value(scraped, "trading_api_http_requests_total", operation="Ping", status="200")
                == 5
            )
        assert len(list(directory.glob("*.db"))) >= 2  # one file per process and kind


def test_client_chosen_operation_names_cannot_grow_the_metrics(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(middleware, "_operations", set())
    monkeypatch.setattr(middleware, "MAX_OPERATIONS", 2)
    label = middleware._operation_label
    assert [label(n, "query") for n in ("A", "B", "C", "A")] == ["A", "B", "other", "A"]
    assert label("x" * 65, "query") == label("no spaces", "query") == "other"
    assert label(None, "query") == "anonymous"
    assert label(None, None) == ""
