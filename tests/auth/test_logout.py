"""POST /auth/logout deletes the session cookie, and is harmless without a session."""

from __future__ import annotations

import httpx

from tests.auth.cookies import ME_QUERY, access_cookie, gql, login
from tests.utils.api import Api


async def test_logout_deletes_the_cookie(api: Api, client: httpx.AsyncClient) -> None:
    await api.register("niaj@example.com")
    assert (await login(client, "niaj@example.com")).status_code == 204
    assert (await client.get("/users/me")).status_code == 200

    response = await client.post("/auth/logout")

    assert response.status_code == 204
    value, attributes = access_cookie(response)
    assert value in {"", '""'}
    assert attributes["max-age"] == "0"
    assert attributes["path"] == "/"
    assert "httponly" in attributes
    assert "access_token" not in client.cookies
    assert (await client.get("/users/me")).status_code == 401
    assert (await gql(client, ME_QUERY)) == {"data": {"me": None}}


async def test_logout_without_a_session_is_harmless(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/logout")
    assert response.status_code == 204
    access_cookie(response)  # still tells the browser to drop any stale cookie
