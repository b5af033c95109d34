"""Signing in: POST /auth/login (the session cookie), POST /auth/token (a bearer token), GET
/users/me, and GraphQL with the cookie."""

from __future__ import annotations

import secrets

import httpx
import pytest
from sqlalchemy import update

from db.models import User
from services import Services
from tests.auth.cookies import ME_QUERY, PASSWORD, access_cookie, gql, login
from tests.utils.api import Api
from tests.utils.app import serve
from tests.utils.settings import make_settings


async def test_login_sets_a_session_cookie(api: Api, client: httpx.AsyncClient) -> None:
    """HttpOnly, SameSite=Lax, whole site, lifetime in Max-Age; not Secure in development."""
    await api.register("frank@example.com")

    response = await login(client, "frank@example.com")

    assert response.status_code == 204, response.text
    assert response.content == b""
    value, attributes = access_cookie(response)
    assert value.count(".") == 2  # a JWT
    assert "httponly" in attributes
    assert attributes["samesite"].lower() == "lax"
    assert attributes["path"] == "/"
    assert int(attributes["max-age"]) == 12 * 60 * 60
    assert "secure" not in attributes
    assert "domain" not in attributes


async def test_login_cookie_is_secure_in_production(database_url: str) -> None:
    settings = make_settings(
        database_url, environment="production", jwt_secret=secrets.token_urlsafe(36)
    )
    assert settings.is_production
    async with serve(settings) as (client, _):
        await Api(client).register("grace@example.com")

        response = await login(client, "grace@example.com")
        assert response.status_code == 204, response.text
        _, attributes = access_cookie(response)
        assert "secure" in attributes
        assert "httponly" in attributes
        assert attributes["samesite"].lower() == "lax"

        logout = await client.post("/auth/logout")
        assert logout.status_code == 204
        _, attributes = access_cookie(logout)
        assert "secure" in attributes


async def test_login_cookie_signs_in_users_me(api: Api, client: httpx.AsyncClient) -> None:
    """The cookie alone (sent by the client's cookie jar, no header) identifies the user."""
    user = await api.register("heidi@example.com")
    assert (await login(client, "heidi@example.com")).status_code == 204
    assert "access_token" in client.cookies

    response = await client.get("/users/me")

    assert response.status_code == 200, response.text
    assert response.json()["id"] == user["id"]
    assert response.json()["email"] == "heidi@example.com"


async def test_cookie_sent_as_a_plain_header_signs_in(api: Api, client: httpx.AsyncClient) -> None:
    await api.register("ivan@example.com")
    token, _ = access_cookie(await login(client, "ivan@example.com"))
    client.cookies.clear()

    response = await client.get("/users/me", headers={"Cookie": f"access_token={token}"})

    assert response.status_code == 200, response.text
    assert response.json()["email"] == "ivan@example.com"


async def test_wrong_password_and_unknown_email_look_the_same(
    api: Api, client: httpx.AsyncClient
) -> None:
    """Neither the status, the body nor the headers tell which accounts exist."""
    await api.register("judy@example.com")

    wrong_password = await login(client, "judy@example.com", "not-her-password")
    unknown_email = await login(client, "nobody@example.com", "not-her-password")

    assert wrong_password.status_code == unknown_email.status_code == 401
    assert (
        wrong_password.json()
        == unknown_email.json()
        == {"detail": "Incorrect email or password", "code": "UNAUTHENTICATED", "errors": []}
    )
    assert wrong_password.headers["www-authenticate"] == unknown_email.headers["www-authenticate"]
    assert not wrong_password.headers.get_list("set-cookie")
    assert not unknown_email.headers.get_list("set-cookie")
    token = await client.post(
        "/auth/token", data={"username": "judy@example.com", "password": "not-her-password"}
    )
    assert token.status_code == 401
    assert token.json() == wrong_password.json()


async def test_login_needs_form_fields(api: Api, client: httpx.AsyncClient) -> None:
    """OAuth2 password flow: JSON credentials are not accepted."""
    await api.register("kim@example.com")
    response = await client.post(
        "/auth/login", json={"username": "kim@example.com", "password": PASSWORD}
    )
    assert response.status_code == 422
    assert not response.headers.get_list("set-cookie")


async def test_deactivated_user_cannot_log_in(
    api: Api, client: httpx.AsyncClient, services: Services
) -> None:
    user = await api.register("leo@example.com")
    async with services.sessions.begin() as session:
        await session.execute(update(User).where(User.id == user["id"]).values(is_active=False))

    response = await login(client, "leo@example.com")

    assert response.status_code == 401
    assert response.json()["detail"] == "Incorrect email or password"


async def test_token_endpoint_returns_a_bearer_token(api: Api, client: httpx.AsyncClient) -> None:
    user = await api.register("mallory@example.com")

    response = await client.post(
        "/auth/token", data={"username": "mallory@example.com", "password": PASSWORD}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 12 * 60 * 60
    assert not response.headers.get_list("set-cookie")
    me = await client.get("/users/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200, me.text
    assert me.json() == user


async def test_users_me_without_credentials_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/users/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    "authorization", ["Bearer", "Bearer ", "Bearer not-a-jwt", "Basic dXNlcjpwYXNz", "Token abc"]
)
async def test_users_me_with_a_bad_authorization_header_is_401(
    client: httpx.AsyncClient, authorization: str
) -> None:
    response = await client.get("/users/me", headers={"Authorization": authorization})
    assert response.status_code == 401


# --- GraphQL with the cookie -----------------------------------------------------------------


async def test_graphql_me_with_the_cookie(api: Api, client: httpx.AsyncClient) -> None:
    user = await api.register("olivia@example.com")
    assert (await login(client, "olivia@example.com")).status_code == 204

    body = await gql(client, ME_QUERY)

    assert body == {"data": {"me": {"id": user["id"], "email": "olivia@example.com"}}}


async def test_graphql_me_is_null_when_not_signed_in(client: httpx.AsyncClient) -> None:
    assert await gql(client, ME_QUERY) == {"data": {"me": None}}


async def test_bearer_header_wins_over_the_cookie(api: Api, client: httpx.AsyncClient) -> None:
    """One request, two identities: the explicit Authorization header is the one used."""
    await api.register("peggy@example.com")
    assert (await login(client, "peggy@example.com")).status_code == 204
    await api.register("quentin@example.com")
    token = await api.token("quentin@example.com")

    body = await gql(client, "{ me { email } }", Authorization=f"Bearer {token}")

    assert body == {"data": {"me": {"email": "quentin@example.com"}}}
