"""Apollo Client's persisted query link (examples/apollo/node-persisted.mjs) against a live server
holding `make run`'s demo data: the README's queries, each first a miss then a hit, over POST
and over GET; then the same client against a server that runs only registered operations, with
a manifest of the documents the link sent."""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from manage import load_demo_data
from tests.examples.apollo import EXAMPLES, NODE_TIMEOUT
from tests.utils.databases import copy_sqlite
from tests.utils.servers import Server, uvicorn_servers
from tests.utils.settings import make_settings

SCRIPT = "node-persisted.mjs"
Start = Callable[..., AbstractContextManager[Server]]


@pytest.fixture
def demo_server(sqlite_template: Path, tmp_path: Path) -> Start:
    """Starts a server of its own (an empty persisted query store) on the demo data."""
    database = copy_sqlite(sqlite_template, tmp_path / "demo.db")
    asyncio.run(load_demo_data(make_settings(database)))

    @contextmanager
    def start(name: str = "uvicorn", **overrides: str) -> Iterator[Server]:
        with uvicorn_servers(database, tmp_path / f"{name}.log", **overrides) as (server,):
            yield server

    return start


def run(node: str, server: Server, *arguments: str) -> list[dict[str, Any]]:
    """What the link sent, and the answers' error codes, in order."""
    result = subprocess.run(  # noqa: S603 - a fixed command line
        [node, SCRIPT, *arguments],
        cwd=EXAMPLES,
        env={"PATH": str(Path(node).parent), "API_URL": server.base_url},
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}\n{server.output()}"
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Demo Trader: ")
    assert len([line for line in lines if line.startswith("Demo Trader: ")]) == 4
    sent: list[dict[str, Any]] = json.loads(lines[-1].removeprefix("sent: "))
    return sent


def shape(sent: list[dict[str, Any]]) -> list[tuple[str, bool, bool, str | None]]:
    return [
        (r["method"], r["hash"] is not None, r["document"] is not None, r["code"]) for r in sent
    ]


def logged(server: Server, expected: dict[str, int]) -> dict[str, int]:
    """The /graphql requests the server's log shows answered, by method, once they are all
    there (its lines are written by a thread of their own) or after a few seconds."""
    counts: dict[str, int] = {}
    for _ in range(50):
        lines = [line for line in server.output().splitlines() if "trading_api.requests" in line]
        counts = {m: sum(f"{m} /graphql 200" in line for line in lines) for m in expected}
        if counts == expected:
            break
        time.sleep(0.1)
    return counts


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_each_query_is_a_miss_then_a_hit(node: str, demo_server: Start, method: str) -> None:
    with demo_server() as server:
        sent = run(node, server, *(["--get"] if method == "GET" else []))
        # Per query: the hash alone (not found), the document with it (over POST, as the link
        # sends documents), then the hash alone again, answered.
        once = [
            (method, True, False, "PERSISTED_QUERY_NOT_FOUND"),
            ("POST", True, True, None),
            (method, True, False, None),
        ]
        assert shape(sent) == once * 2
        for request in sent:
            assert (
                request["hash"]
                == hashlib.sha256(
                    (request["document"] or _document(sent, request["hash"])).encode()
                ).hexdigest()
            )
        # The server saw the same: hashes by GET (or POST), documents by POST only.
        expected = {"GET": 4, "POST": 2} if method == "GET" else {"GET": 0, "POST": 6}
        assert logged(server, expected) == expected


def test_registered_operations_run_by_hash_and_others_are_refused(
    node: str, demo_server: Start, tmp_path: Path
) -> None:
    with demo_server("automatic") as server:
        documents = {r["hash"]: r["document"] for r in run(node, server) if r["document"]}
    manifest = tmp_path / "persisted-query-manifest.json"
    operations = [
        {"id": sha, "name": "", "type": "query", "body": body} for sha, body in documents.items()
    ]
    manifest.write_text(
        json.dumps(
            {"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations}
        )
    )
    registered = {"persisted_queries": "registered", "persisted_query_manifest": str(manifest)}
    with demo_server("registered", **registered) as server:
        # Every hash is known: no miss, no document sent.
        assert shape(run(node, server, "--get")) == [("GET", True, False, None)] * 4
        refused = httpx.post(f"{server.base_url}/graphql", json={"query": "{ __typename }"})
        assert refused.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"


def _document(sent: list[dict[str, Any]], sha: str) -> str:
    document: str = next(r["document"] for r in sent if r["hash"] == sha and r["document"])
    return document
