"""The Apollo Client examples the README shows (examples/apollo/), run unchanged against a live
server holding `make run`'s demo data, at the host the README names: `localhost`, while uvicorn
listens on 127.0.0.1 only. In Node with a bearer token and with the session cookie; in headless
Chromium from a page served on another port of localhost, and from the same page calling the API
on 127.0.0.1 (another site: the sign-in says why it cannot work)."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from manage import DEMO_EMAIL, DEMO_PASSWORD, load_demo_data
from tests.examples.apollo import EXAMPLES, NODE_TIMEOUT
from tests.utils.databases import ROOT, copy_sqlite
from tests.utils.node import install_node_tool
from tests.utils.ports import free_port
from tests.utils.servers import Server, uvicorn_servers
from tests.utils.settings import make_settings
from web.cross_site import COOKIE_ACROSS_SITES

DRIVER = ROOT / "tests" / "browser" / "apollo_page.mjs"
# Resolves `localhost` as a stock Debian /etc/hosts does, ::1 before 127.0.0.1.
IPV6_FIRST = Path(__file__).with_name("localhost_ipv6_first.cjs")
TRADE = "BUY 0.01000000 BTC"  # what every example adds, as the API prints it back


@dataclass
class DemoApi:
    server: Server
    pages: tuple[str, str]  # origins of the two example pages, both in CORS_ORIGINS

    @property
    def port(self) -> int:
        return int(self.server.base_url.rsplit(":", 1)[1])

    @property
    def readme_url(self) -> str:
        """The API where the README says it is."""
        return f"http://localhost:{self.port}"


@pytest.fixture(scope="module")
def demo_api(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoApi]:
    directory = tmp_path_factory.mktemp("apollo")
    database = copy_sqlite(sqlite_template, directory / "demo.db")
    asyncio.run(load_demo_data(make_settings(database)))
    pages = (f"http://localhost:{free_port()}", f"http://localhost:{free_port()}")
    with uvicorn_servers(database, directory / "uvicorn.log", cors_origins=",".join(pages)) as (
        server,
    ):
        _wait_for_the_feed(server.base_url)
        yield DemoApi(server, pages)


def _wait_for_the_feed(base_url: str) -> None:
    """The demo trades are placed in the live feed (given a `seq`) by the server once it runs;
    the examples subscribe after the newest one placed."""
    with httpx.Client(base_url=base_url, timeout=10) as http:
        form = {"username": DEMO_EMAIL, "password": DEMO_PASSWORD}
        token = http.post("/auth/token", data=form).json()["access_token"]
        for _ in range(100):
            body = http.post(
                "/graphql",
                json={"query": "{ trades(limit: 1) { seq } }"},
                headers={"Authorization": f"Bearer {token}"},
            ).json()
            if body["data"]["trades"][0]["seq"] is not None:
                return
            time.sleep(0.1)
    pytest.fail(f"the demo trades were not placed in the feed: {body}")


def run_example(
    node: str, api: DemoApi, script: str, *options: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - a fixed command line
        [node, *options, script],
        cwd=EXAMPLES,
        env={**os.environ, "API_URL": api.readme_url},
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT,
        check=False,
    )


def assert_the_tour_ran(run: subprocess.CompletedProcess[str], server: Server) -> None:
    """Signed in as the demo user, three recent trades, one added, and that one delivered live
    (after any others placed since the newest recent one)."""
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}\n--- server ---\n{server.output()}"
    lines = run.stdout.splitlines()
    assert lines[0] == "signed in as Demo Trader"
    assert len([line for line in lines if line.startswith("recent: ")]) == 3
    added = [line for line in lines if line.startswith("added trade ")]
    assert len(added) == 1, lines
    trade_id = added[0].removeprefix("added trade ")
    assert f"live: trade {trade_id}, {TRADE} by Demo Trader" in lines
    assert lines[-1] == f"live: trade {trade_id}, {TRADE} by Demo Trader"  # then it exits


@pytest.mark.parametrize("script", ["node-bearer.mjs", "node-cookie.mjs"])
def test_the_node_example_queries_adds_and_receives_its_trade_live(
    node: str, demo_api: DemoApi, script: str
) -> None:
    assert_the_tour_ran(run_example(node, demo_api, script), demo_api.server)


def test_node_reaches_localhost_when_it_resolves_to_ipv6_first(
    node: str, demo_api: DemoApi
) -> None:
    """uvicorn listens on 127.0.0.1 only; where `localhost` is ::1 first, Node 20 tries both
    (its default `autoSelectFamily`), fetch and the `ws` socket alike."""
    preload = ("--require", str(IPV6_FIRST))
    assert_the_tour_ran(run_example(node, demo_api, "node-bearer.mjs", *preload), demo_api.server)
    # Without trying both, the same resolver leads to ::1, where nothing listens.
    refused = run_example(
        node, demo_api, "node-bearer.mjs", *preload, "--no-network-family-autoselection"
    )
    assert refused.returncode != 0
    assert "code: 'ECONNREFUSED'" in refused.stderr
    assert "address: '::1'" in refused.stderr


# --- the browser page -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(chromium: str) -> str:
    """Chromium, with playwright-core installed beside the browser tests' driver."""
    install_node_tool(DRIVER.parent, "playwright-core", "the browser example")
    return chromium


class _Page(SimpleHTTPRequestHandler):
    """Static files (Python's types name .mjs text/javascript, as module scripts need), quietly."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def serve_page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Serves examples/apollo/browser on a page origin, with main.mjs bundled by esbuild (as a
    dev server would) for an API at `api_url`; stops every server at the end."""
    servers: list[ThreadingHTTPServer] = []

    def serve(origin: str, api_url: str) -> None:
        directory = tmp_path_factory.mktemp("page")
        shutil.copy(EXAMPLES / "browser" / "index.html", directory)
        env = json.dumps({"VITE_API_URL": api_url})
        subprocess.run(  # noqa: S603 - a fixed command line
            [
                str(EXAMPLES / "node_modules" / ".bin" / "esbuild"),
                "browser/main.mjs",
                "--bundle",
                "--format=esm",
                f"--define:import.meta.env={env}",
                f"--outfile={directory / 'main.mjs'}",
                "--log-level=warning",
            ],
            cwd=EXAMPLES,
            check=True,
        )
        handler = functools.partial(_Page, directory=str(directory))
        server = ThreadingHTTPServer(("127.0.0.1", int(origin.rsplit(":", 1)[1])), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def drive(chromium: str, node: str, page: str) -> dict[str, Any]:
    config = {"pageUrl": page + "/", "chromium": chromium}
    run = subprocess.run(  # noqa: S603 - a fixed command line
        [node, str(DRIVER), json.dumps(config)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    seen: dict[str, Any] = json.loads(run.stdout)
    return seen


def test_the_browser_page_on_localhost_signs_in_with_the_cookie_and_gets_its_trade_live(
    browser: str, node: str, demo_api: DemoApi, serve_page: Any
) -> None:
    page = demo_api.pages[0]
    serve_page(page, demo_api.readme_url)
    seen = drive(browser, node, page)
    assert seen["status"] == "Signed in as Demo Trader", seen
    assert len(seen["recent"]) == 3
    trade_id = re.fullmatch(r"Added trade (\d+)", seen["added"])
    assert trade_id is not None, seen
    assert seen["live"] == f"trade {trade_id[1]}: {TRADE} at 64000.00000000 by Demo Trader"
    assert seen["cookies"] == [{"name": "access_token", "domain": "localhost"}]
    assert seen["problems"] == []


def test_a_page_on_localhost_calling_127_0_0_1_is_told_why_it_cannot_sign_in(
    browser: str, node: str, demo_api: DemoApi, serve_page: Any
) -> None:
    """Another host is another site: the browser would drop the SameSite=Lax cookie, so the
    sign-in says so instead of a 204 followed by UNAUTHENTICATED and a 4403 socket."""
    page = demo_api.pages[1]
    api = demo_api.server.base_url  # http://127.0.0.1:<port>
    serve_page(page, api)
    seen = drive(browser, node, page)
    assert seen["status"] == (
        f"Sign-in failed: {COOKIE_ACROSS_SITES} (page: {page}, API: {api})"
    ), seen
    assert seen["cookies"] == []
    # The 403 itself, as Chromium logs every failed response; nothing else went wrong.
    assert seen["problems"] == [
        "console: Failed to load resource: the server responded with a status of 403 (Forbidden)"
    ]


def test_a_page_whose_origin_is_not_in_cors_origins_is_told_where_to_look(
    browser: str, node: str, demo_api: DemoApi, serve_page: Any
) -> None:
    page = f"http://localhost:{free_port()}"
    serve_page(page, demo_api.readme_url)
    seen = drive(browser, node, page)
    assert seen["status"] == (
        f"Sign-in failed: is the API running at {demo_api.readme_url}, "
        f"with {page} in its CORS_ORIGINS?"
    ), seen
    assert any("blocked by CORS policy" in problem for problem in seen["problems"]), seen
