"""CORS on the REST and GraphQL routes (the configured origins, Vite's dev server in development),
and the request id every response carries, a preflight's included."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import httpx
import pytest

from main import create_app
from settings import Settings
from tests.auth.cookies import ME_QUERY
from tests.utils.databases import sqlite_url
from tests.utils.settings import APP_ORIGIN


def preflight_headers(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }


@pytest.mark.parametrize("path", ["/graphql", "/auth/login"])
async def test_cors_preflight_from_the_configured_origin(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.options(path, headers=preflight_headers(APP_ORIGIN))

    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == APP_ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "content-type" in response.headers["access-control-allow-headers"].lower()


async def test_cors_preflight_from_a_foreign_origin(client: httpx.AsyncClient) -> None:
    response = await client.options("/graphql", headers=preflight_headers("http://evil.example"))
    assert "access-control-allow-origin" not in response.headers
    assert response.status_code == 400


async def test_cors_simple_request_echoes_only_the_allowed_origin(
    client: httpx.AsyncClient,
) -> None:
    allowed = await client.post(
        "/graphql", json={"query": ME_QUERY}, headers={"Origin": APP_ORIGIN}
    )
    foreign = await client.post(
        "/graphql", json={"query": ME_QUERY}, headers={"Origin": "http://evil.example"}
    )

    assert allowed.headers["access-control-allow-origin"] == APP_ORIGIN
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "access-control-allow-origin" not in foreign.headers


@pytest.mark.parametrize(("environment", "allowed"), [("development", True), ("production", False)])
async def test_vites_dev_server_may_call_a_development_api_unless_cors_origins_says_otherwise(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, environment: str, allowed: bool
) -> None:
    """CORS_ORIGINS unset: a page on Vite's default address (either name of this machine) may
    call a development API with credentials; a production API allows no other origin."""
    monkeypatch.delenv("CORS_ORIGINS", raising=False)
    settings = Settings(
        _env_file=None,
        database_url=sqlite_url(tmp_path / "unused.db"),  # preflights need no database
        environment=environment,
        jwt_secret=secrets.token_urlsafe(48),
    )
    app = create_app(settings)  # no lifespan: preflights need no database either
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://testserver"
    ) as client:
        for origin in ("http://localhost:5173", "http://127.0.0.1:5173"):
            response = await client.options("/graphql", headers=preflight_headers(origin))
            assert (response.status_code == 200) is allowed, response.text
            assert response.headers.get("access-control-allow-origin") == (
                origin if allowed else None
            )
        other = await client.options("/graphql", headers=preflight_headers("http://localhost:3000"))
        assert other.status_code == 400


# --- Request ids -----------------------------------------------------------------------------


async def test_every_response_has_a_request_id(client: httpx.AsyncClient) -> None:
    responses = [
        await client.get("/users/me"),  # a 401
        await client.post("/graphql", json={"query": ME_QUERY}),
        await client.post("/auth/register", json={}),  # a 422
        await client.options("/graphql", headers=preflight_headers(APP_ORIGIN)),
        await client.get("/openapi.json"),
    ]
    ids = [response.headers.get("x-request-id") for response in responses]
    for request_id in ids:
        assert request_id is not None
        assert re.fullmatch(r"[0-9a-f]{32}", request_id), request_id
    assert len(set(ids)) == len(ids)
