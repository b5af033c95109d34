"""GraphiQL at /graphql and the REST docs at /docs and /redoc: served by the app with the
vendored libraries, so they render with every request to another host blocked; GraphiQL signs
in with the cookie session, loads the schema and runs a query typed into its editor."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from main import create_app
from tests.browser.drivers import ARTIFACTS, bearer_token, run_driver
from tests.browser.pages import assets_served
from tests.utils.app import serve
from tests.utils.databases import copy_sqlite, sqlite_url
from tests.utils.servers import Server
from tests.utils.settings import ADMIN_EMAIL, ADMIN_PASSWORD, make_settings
from web.vendored import ASSETS_DIRECTORY, VENDOR_DIRECTORY, folder_name, pinned_versions

USER = {"email": "grace@example.com", "password": "playground-secret-1", "name": "Grace Hopper"}
HTML = {"accept": "text/html"}  # as a browser asks: Strawberry answers it with the IDE
# ReDoc's sidebar always shows its maker's logo from a CDN, and hides it when it fails to load:
# the page's policy refuses it before a request leaves the browser (a console error).
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def _unexpected(problems: list[str]) -> list[str]:
    return [
        problem
        for problem in problems
        if not (
            REDOC_LOGO in problem
            and ("violates the following Content Security" in problem or problem.endswith(" csp"))
        )
    ]


def test_graphiql_signs_in_loads_the_schema_and_runs_a_query_and_the_docs_render_offline(
    chromium: str, driver: Path, server: Server
) -> None:
    with httpx.Client(base_url=server.base_url, timeout=10.0) as http:
        registered = http.post("/auth/register", json=USER)
        assert registered.status_code == 201, registered.text
        user_token = bearer_token(http, USER["email"], USER["password"])
        admin_token = bearer_token(http, ADMIN_EMAIL, ADMIN_PASSWORD)
    config = {
        "baseUrl": server.base_url,
        "chromium": chromium,
        "user": USER,
        "userToken": user_token,  # adds the trade the subscription receives
        "adminToken": admin_token,  # reads liveStats
        "query": "{ me { name email } }",
        "subscription": "subscription { tradeAdded { id price user { name } } }",
        "trade": {"currency": "ETH", "side": "BUY", "price": "3141.5", "amount": "2"},
        "artifacts": str(ARTIFACTS),
    }
    seen = run_driver(driver / "playground.mjs", config, server)

    assert seen["blocked"] == []  # nothing the pages needed came from another host
    # No other CSP violation, script error or failed request.
    assert _unexpected(seen["problems"]) == [], seen["problems"]
    assert seen["viewer"] == USER["name"]
    assert seen["introspection"] == 200  # with the session cookie
    assert "Query" in seen["docExplorer"]
    assert seen["editor"] == config["query"]
    assert seen["run"] == 200
    assert seen["response"] == {"data": {"me": {"name": USER["name"], "email": USER["email"]}}}
    assert seen["subscriptionEditor"] == config["subscription"]
    pushed = seen["pushed"]["data"]["tradeAdded"]
    assert pushed["id"] == seen["addedTradeId"]
    assert Decimal(pushed["price"]) == Decimal("3141.5")
    assert pushed["user"] == {"name": USER["name"]}
    host = server.base_url.removeprefix("http://")
    assert seen["sockets"] == [f"ws://{host}/graphql"]  # this origin's socket, one
    assert "/auth/login" in seen["swaggerPaths"]
    assert seen["redocTitle"].startswith("Trading API")
    # GraphiQL and Swagger UI need no inline style (ReDoc does), nor any inline script but
    # Swagger UI's own, by its hash.
    for policy in (seen["graphiqlPolicy"], seen["swaggerPolicy"]):
        assert "default-src 'none'" in policy
        assert "unsafe" not in policy
    assert (ARTIFACTS / "graphiql.png").read_bytes()[:4] == b"\x89PNG"


@pytest.fixture
async def anonymous(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The app started on SQLite (GraphiQL's route builds a request context), no one signed in."""
    database = copy_sqlite(sqlite_template, tmp_path / "test.db")
    async with serve(make_settings(database)) as (client, _app):
        yield client


@pytest.mark.parametrize("path", ["/graphql", "/docs", "/docs/oauth2-redirect", "/redoc"])
async def test_every_file_a_page_loads_is_served_by_the_app(
    anonymous: httpx.AsyncClient, path: str
) -> None:
    page = await anonymous.get(path, headers=HTML)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    await assets_served(anonymous, page.text)
    policy = page.headers["content-security-policy"]
    assert policy.startswith("default-src 'none'; script-src 'self'")
    script_sources = re.search(r"script-src ([^;]*)", policy)
    assert script_sources is not None
    # The only inline scripts allowed are the page's own, by their hashes.
    assert all(
        source == "'self'" or source.startswith("'sha256-") for source in script_sources[1].split()
    )
    assert page.headers["x-content-type-options"] == "nosniff"


async def test_graphiql_is_our_page_with_no_cookie_library(anonymous: httpx.AsyncClient) -> None:
    page = (await anonymous.get("/graphql", headers=HTML)).text
    assert "/playground/graphiql.js" in page
    assert "js.cookie" not in page  # Strawberry's page loaded it for Django's CSRF token
    script = (await anonymous.get("/playground/graphiql.js")).text
    assert "Cookies" not in script
    assert 'credentials: "same-origin"' in script
    assert "subscriptionUrl" in script


async def test_vendored_files_are_kept_for_a_year(anonymous: httpx.AsyncClient) -> None:
    graphiql = await anonymous.get(f"/vendor/{folder_name('graphiql')}/graphiql.min.js")
    assert graphiql.status_code == 200
    assert graphiql.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert graphiql.headers["content-type"].endswith("javascript; charset=utf-8")
    missing = await anonymous.get("/vendor/graphiql@0.0.1/graphiql.min.js")
    assert missing.status_code == 404
    assert "immutable" not in missing.headers.get("cache-control", "")


def test_the_vendored_files_are_the_ones_the_lock_file_and_the_note_name() -> None:
    """What `make vendor` copies: one folder per pinned package, each file at its checksum."""
    folders = {path.name for path in ASSETS_DIRECTORY.iterdir()}
    assert folders == {folder_name(package) for package in pinned_versions()}
    note = (VENDOR_DIRECTORY / "README.md").read_text()
    files = sorted(path for path in ASSETS_DIRECTORY.rglob("*") if path.is_file())
    for path in files:
        name = path.relative_to(ASSETS_DIRECTORY).as_posix()
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert f"| `{name}` |" in note and f"`{digest}` |" in note, name
    assert len(re.findall(r"^\| `", note, re.MULTILINE)) == len(files)
    lock = (VENDOR_DIRECTORY / "package-lock.json").read_text()
    for package, version in pinned_versions().items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{package} is not pinned exactly"
        assert f'"node_modules/{package}": {{\n      "version": "{version}"' in lock


async def test_no_page_and_no_vendored_file_in_production_unless_enabled(tmp_path: Path) -> None:
    production = {"environment": "production", "jwt_secret": secrets.token_urlsafe(48)}
    settings = make_settings(sqlite_url(tmp_path / "unused.db"), **production)
    app = create_app(settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://testserver"
    ) as client:
        for path in ("/docs", "/redoc", "/docs/oauth2-redirect", "/playground/graphiql.js"):
            assert (await client.get(path, headers=HTML)).status_code == 404, path
        vendored = f"/vendor/{folder_name('redoc')}/redoc.standalone.js"
        assert (await client.get(vendored)).status_code == 404
