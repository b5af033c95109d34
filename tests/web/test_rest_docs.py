"""The REST API's OpenAPI document lists the auth routes; /docs and /redoc serve their pages."""

from __future__ import annotations

import httpx
import pytest


async def test_openapi_lists_the_auth_routes(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/auth/register", "/auth/login", "/auth/token", "/auth/logout", "/users/me"} <= set(
        paths
    )
    assert set(paths["/auth/register"]) == {"post"}
    assert set(paths["/users/me"]) == {"get"}
    login_body = paths["/auth/login"]["post"]["requestBody"]["content"]
    assert "application/x-www-form-urlencoded" in login_body


@pytest.mark.parametrize(("path", "marker"), [("/docs", "swagger-ui"), ("/redoc", "redoc")])
async def test_docs_pages_are_served(client: httpx.AsyncClient, path: str, marker: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert marker in response.text.lower()
    assert "/openapi.json" in response.text
