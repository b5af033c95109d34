"""GraphQL over HTTP: the graphql-http audit suite against a live server, and the status codes
of `application/graphql-response+json`."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.utils.api import Api
from tests.utils.databases import ROOT
from tests.utils.node import install_node_tool
from tests.utils.servers import Server, sqlite_server

AUDIT = ROOT / "tests" / "http_audit"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


@pytest.fixture(scope="session")
def node_audit() -> Path:
    """graphql-http from the npm registry, pinned by package-lock.json, installed on first use."""
    install_node_tool(AUDIT, "graphql-http", "the graphql-http audit")
    return AUDIT / "audit.mjs"


@pytest.fixture(scope="module")
def server(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with sqlite_server(sqlite_template, tmp_path_factory.mktemp("http")) as server:
        yield server


def test_graphql_http_audit_passes_every_must_and_should(node_audit: Path, server: Server) -> None:
    node = shutil.which("node")
    assert node is not None
    run = subprocess.run(  # noqa: S603 - a fixed command line
        [node, str(node_audit), f"{server.base_url}/graphql"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    results: list[dict[str, Any]] = json.loads(run.stdout)
    assert len(results) >= 50  # the suite ran whole
    failed = [f"{r['status']}: {r['name']} ({r['reason']})" for r in results if r["status"] != "ok"]
    assert failed == []


async def post(api: Api, body: dict[str, Any], accept: str) -> tuple[int, str, dict[str, Any]]:
    response = await api.client.post("/graphql", json=body, headers={"accept": accept})
    return response.status_code, response.headers["content-type"], response.json()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"query": "{ me { id "}, "GRAPHQL_PARSE_FAILED"),
        ({"query": "{ nope }"}, "GRAPHQL_VALIDATION_FAILED"),
        (
            {"query": "query($n: Int!) { users(limit: $n) { id } }", "variables": {"n": "x"}},
            "BAD_USER_INPUT",
        ),
    ],
    ids=["parse", "validation", "variables"],
)
async def test_request_errors_are_400_without_data(
    api: Api, body: dict[str, Any], code: str
) -> None:
    status, content_type, result = await post(api, body, GRAPHQL_RESPONSE_JSON)
    assert status == 400
    assert content_type.startswith(GRAPHQL_RESPONSE_JSON)
    assert "data" not in result
    assert result["errors"][0]["extensions"]["code"] == code
    # Clients that only know application/json keep 200 and a null data entry.
    status, content_type, result = await post(api, body, "application/json")
    assert (status, content_type.split(";")[0], result["data"]) == (200, "application/json", None)


async def test_field_errors_stay_200_with_partial_data(api: Api) -> None:
    status, content_type, result = await post(
        api, {"query": "{ me { id } trades { id } }"}, f"{GRAPHQL_RESPONSE_JSON}, application/json"
    )
    assert status == 200
    assert content_type.startswith(GRAPHQL_RESPONSE_JSON)
    assert result["data"] is None  # trades is non-null and failed: UNAUTHENTICATED
    assert result["errors"][0]["path"] == ["trades"]


async def test_a_refused_media_type_is_not_used(api: Api) -> None:
    _, content_type, _ = await post(
        api, {"query": "{ me { id } }"}, f"{GRAPHQL_RESPONSE_JSON};q=0, application/json"
    )
    assert content_type.startswith("application/json")


async def test_mutations_over_get_are_refused(api: Api) -> None:
    response = await api.client.get(
        "/graphql", params={"query": 'mutation { changeUserName(userId: 1, newName: "x") { id } }'}
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json() == {
        "detail": "Mutations are not allowed over GET: send them with POST",
        "code": "METHOD_NOT_ALLOWED",
        "errors": [],
    }
