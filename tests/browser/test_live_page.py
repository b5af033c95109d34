"""The live trades page at `/`: served under a strict CSP, off in production unless enabled, and
driven in headless Chromium: a trade added in one browser context reaches another's tape, and its
chart of the server's candles."""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from main import create_app
from settings import Settings
from tests.browser.drivers import ARTIFACTS, bearer_token, run_driver
from tests.browser.pages import assets_served
from tests.utils.databases import ROOT, copy_sqlite, sqlite_url
from tests.utils.servers import Server, graphql_data, start_uvicorn, stop, wait_until_serving
from tests.utils.settings import ADMIN_EMAIL, ADMIN_PASSWORD, make_settings

PAGE = ROOT / "web" / "live"
PASSWORD = "trade-secret-1"
TRADER = {"email": "alice@example.com", "password": PASSWORD, "name": "Alice Trader"}
WATCHER = {"email": "bob@example.com", "password": PASSWORD, "name": "Bob Watcher"}
# History for the charts, then the trade A adds in the browser.
HISTORY = {
    "BTC": ["63850", "63990.5", "63920", "64110", "64075.25", "64230", "64180", "64310.5"],
    "ETH": ["3105.2", "3098.75", "3121", "3117.4", "3134.9", "3128"],
    "SOL": ["142.1", "143.35", "141.8", "144.05", "145.6"],
}
TRADE = {"currency": "BTC", "side": "SELL", "price": "64250.75", "amount": "0.4"}
SELL_RED = "rgb(255, 92, 92)"  # --sell in web/live/style.css


def _history_amounts(currency: str) -> list[str]:
    """The amounts _prepare gives the currency's history trades."""
    flat = [c for c, prices in HISTORY.items() for _ in prices]
    return [f"0.{n % 7 + 1}" for n, c in enumerate(flat) if c == currency]


def _prepare(server: Server) -> str:
    """Register the two traders, give the charts some history; the admin's token."""
    with httpx.Client(base_url=server.base_url, timeout=10.0) as http:
        for account in (TRADER, WATCHER):
            registered = http.post("/auth/register", json=account)
            assert registered.status_code == 201, registered.text
        tokens = [bearer_token(http, account["email"], PASSWORD) for account in (TRADER, WATCHER)]
        for n, (currency, price) in enumerate(
            (currency, price) for currency, prices in HISTORY.items() for price in prices
        ):
            trade = {"currency": currency, "side": "SELL" if n % 3 == 2 else "BUY"}
            added = http.post(
                "/graphql",
                json={
                    "query": "mutation($t: [TradeInput!]!) { addTrades(trades: $t) { id } }",
                    "variables": {"t": [{**trade, "price": price, "amount": f"0.{n % 7 + 1}"}]},
                },
                headers={"Authorization": f"Bearer {tokens[n % 2]}"},
            )
            assert "errors" not in added.json(), added.text
        return bearer_token(http, ADMIN_EMAIL, ADMIN_PASSWORD)


def test_a_trade_added_in_one_browser_reaches_the_tape_of_another(
    chromium: str, driver: Path, server: Server
) -> None:
    screenshot = ARTIFACTS / "live-page.png"
    config = {
        "baseUrl": server.base_url,
        "chromium": chromium,
        "adminToken": _prepare(server),
        "trader": TRADER,
        "watcher": WATCHER,
        "trade": TRADE,
        "screenshot": str(screenshot),
    }
    seen = run_driver(driver / "live_page.mjs", config, server)

    top = seen["top"]
    assert top["id"] == seen["tradeId"]
    assert top["source"] == "live"  # pushed over the socket, not loaded by a query
    assert (top["currency"], top["side"], top["price"], top["amount"]) == (
        TRADE["currency"],
        TRADE["side"],
        TRADE["price"],
        TRADE["amount"],
    )
    assert top["trader"] == TRADER["name"]
    assert "sell" in top["className"].split()
    assert top["sideColor"] == SELL_RED
    assert seen["rows"] == seen["rowsBefore"] + 1
    assert seen["rowsBefore"] == sum(len(prices) for prices in HISTORY.values())
    assert seen["traderRows"] == seen["rows"]  # A's own page got it too
    # B's BTC chart: the server's one-minute candles of the history and A's trade, the last
    # pushed by candleUpdated.
    chart = seen["chart"]
    assert chart["last"] == TRADE["price"]
    candles = chart["candles"]
    btc_prices = [*HISTORY["BTC"], TRADE["price"]]
    btc_amounts = [*_history_amounts("BTC"), TRADE["amount"]]
    assert sum(int(c["trades"]) for c in candles) == len(btc_prices)
    assert [c["start"] for c in candles] == sorted({c["start"] for c in candles})
    assert Decimal(candles[0]["open"]) == Decimal(btc_prices[0])
    assert Decimal(candles[-1]["close"]) == Decimal(TRADE["price"])
    assert candles[-1]["source"] == "live"
    assert max(Decimal(c["high"]) for c in candles) == max(map(Decimal, btc_prices))
    assert min(Decimal(c["low"]) for c in candles) == min(map(Decimal, btc_prices))
    assert sum(Decimal(c["volume"]) for c in candles) == sum(map(Decimal, btc_amounts))
    # No CSP violation, script error or failed request on either page.
    assert seen["problems"] == []
    assert seen["blocked"] == []  # the page asked no other host for anything
    assert seen["csp"].startswith("default-src 'none'")
    assert {"name": "access_token", "httpOnly": True, "sameSite": "Lax"} in seen["cookies"]
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert seen["afterSignOut"] == {
        "trader": "offline",
        "tapeHidden": True,
        "cookies": [],
        "watcher": "live",
    }
    assert seen["staleCookie"] == {
        "message": "Your session has ended: sign in again.",
        "tapeHidden": True,
        "cookies": [],
    }


def test_the_tape_resumes_over_a_restart_without_missing_a_trade(
    chromium: str, driver: Path, sqlite_template: Path, tmp_path: Path
) -> None:
    """The page's graphql-ws client retries and resubscribes after the last seq it saw: trades
    committed while its server was down (through another process on the same database) reach
    the tape as live trades, once each, with no refetch."""
    node = shutil.which("node")
    assert node is not None
    database = copy_sqlite(sqlite_template, tmp_path / "server.db")
    first = start_uvicorn(database, tmp_path / "first.log")
    wait_until_serving(first)
    port = int(first.base_url.rsplit(":", 1)[1])
    token = _prepare(first)
    config = {
        "baseUrl": first.base_url,
        "chromium": chromium,
        "watcher": {"email": WATCHER["email"], "password": PASSWORD},
    }
    page = subprocess.Popen(  # noqa: S603 - a fixed command line
        [node, str(driver / "resume.mjs"), json.dumps(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    other: Server | None = None
    try:
        assert page.stdin is not None and page.stdout is not None
        assert json.loads(page.stdout.readline()) == {"ready": True}

        def seen(*ids: int) -> dict[str, Any]:
            page.stdin.write(json.dumps({"wait": list(ids)}) + "\n")  # type: ignore[union-attr]
            page.stdin.flush()  # type: ignore[union-attr]
            answer: dict[str, Any] = json.loads(page.stdout.readline())  # type: ignore[union-attr]
            return answer

        before = _add_trade(first.base_url, token, "1")
        assert seen(before)["seen"] == [{"id": before, "source": "live"}]

        first.process.kill()  # kill -9: no close frame, the page finds out by itself
        first.process.wait()
        other = start_uvicorn(database, tmp_path / "other.log")
        wait_until_serving(other)
        missed = [_add_trade(other.base_url, token, price) for price in ("2", "3")]
        first = start_uvicorn(database, tmp_path / "restarted.log", port=port)
        wait_until_serving(first)
        after = seen(*missed)
        assert after["seen"] == [{"id": i, "source": "live"} for i in missed], after
        assert after["connection"] == "live"
        assert after["problems"] == []
    finally:
        page.kill()
        page.communicate()  # reaps it and closes its pipes
        for server in (first, other):
            if server is not None:
                stop(server.process)


def _add_trade(base_url: str, token: str, price: str) -> int:
    data = graphql_data(
        base_url,
        token,
        "mutation($t: [TradeInput!]!) { addTrades(trades: $t) { id } }",
        t=[{"currency": "BTC", "side": "BUY", "price": price, "amount": "1"}],
    )
    return int(data["addTrades"][0]["id"])


def _client(settings: Settings) -> httpx.AsyncClient:
    """The app without its lifespan: the page and its files need no database."""
    app = create_app(settings)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://testserver")


@pytest.fixture
async def anonymous(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(make_settings(sqlite_url(tmp_path / "unused.db"))) as client:
        yield client


async def test_the_page_and_its_files_are_served_under_a_strict_policy(
    anonymous: httpx.AsyncClient,
) -> None:
    page = await anonymous.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self';" in policy  # no inline scripts, no other hosts
    assert "connect-src 'self' ws://testserver wss://testserver;" in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    # Every file the page loads is on this origin, and served; its own under the same policy.
    for path in await assets_served(anonymous, page.text):
        if path.startswith("/live/"):
            asset = await anonymous.get(path)
            assert asset.headers["content-security-policy"] == policy
    assert (await anonymous.get("/live/nope.js")).status_code == 404


async def test_a_host_header_cannot_widen_the_policy(anonymous: httpx.AsyncClient) -> None:
    page = await anonymous.get("/", headers={"host": "evil; script-src *"})
    policy = page.headers["content-security-policy"]
    assert "connect-src 'self';" in policy
    assert "*" not in policy


async def test_the_page_is_off_in_production_unless_enabled(tmp_path: Path) -> None:
    production = {"environment": "production", "jwt_secret": secrets.token_urlsafe(48)}
    database = sqlite_url(tmp_path / "unused.db")
    for overrides, status in [({}, 404), ({"live_page": True}, 200)]:
        async with _client(make_settings(database, **production, **overrides)) as client:
            assert (await client.get("/")).status_code == status
            assert (await client.get("/live/app.js")).status_code == status
