"""The REST auth surface: register, log in (cookie or token), log out, /users/me, and what
surrounds them (the first admin, CORS, request ids, the OpenAPI docs)."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from db.models import ADMIN_ROLE_ID, USER_ROLE_ID, User
from main import create_app
from schema.models import MAX_PASSWORD_LENGTH
from services import Services
from settings import Settings
from tests.utils.api import Api
from tests.utils.app import serve
from tests.utils.databases import sqlite_url
from tests.utils.graphql import count_rows
from tests.utils.settings import ADMIN_EMAIL, ADMIN_PASSWORD, make_settings

PASSWORD = "trade-secret-1"
ALLOWED_ORIGIN = "http://app.example"  # the origin make_settings configures
ME_QUERY = "{ me { id email } }"


# --- helpers ---------------------------------------------------------------------------------


def parse_set_cookie(header: str) -> tuple[str, str, dict[str, str]]:
    """A Set-Cookie header as (name, value, {lower-cased attribute: value or ""})."""
    first, *attributes = (part.strip() for part in header.split(";"))
    name, _, value = first.partition("=")
    parsed = {}
    for attribute in attributes:
        key, _, attribute_value = attribute.partition("=")
        parsed[key.strip().lower()] = attribute_value.strip()
    return name, value, parsed


def access_cookie(response: httpx.Response) -> tuple[str, dict[str, str]]:
    """The value and attributes of the one `access_token` cookie a response sets."""
    found = [
        parse_set_cookie(header)
        for header in response.headers.get_list("set-cookie")
        if header.startswith("access_token=")
    ]
    assert len(found) == 1, response.headers.get_list("set-cookie")
    _, value, attributes = found[0]
    return value, attributes


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/auth/login", data={"username": email, "password": password})


async def gql(client: httpx.AsyncClient, query: str, **headers: str) -> dict[str, Any]:
    """A GraphQL request that sends whatever cookies the client's jar holds."""
    response = await client.post("/graphql", json={"query": query}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def users_with_email(services: Services, email: str) -> list[tuple[int, bool]]:
    """(role_id, is_active) of every row with this email, straight from the table."""
    async with services.sessions() as session:
        rows = await session.execute(
            select(User.role_id, User.is_active).where(User.email == email)
        )
    return [(role_id, is_active) for role_id, is_active in rows]


# --- POST /auth/register ---------------------------------------------------------------------


async def test_register_returns_the_new_user(client: httpx.AsyncClient) -> None:
    """Email is stored lower-cased and the name stripped; the password never comes back."""
    response = await client.post(
        "/auth/register",
        json={"email": "Alice.Smith@Example.COM", "password": PASSWORD, "name": "  Alice  "},
    )
    assert response.status_code == 201, response.text
    user = response.json()
    assert set(user) == {"id", "name", "role", "email", "registered_at"}
    assert isinstance(user["id"], int)
    assert user["email"] == "alice.smith@example.com"
    assert user["name"] == "Alice"
    assert user["role"] == "user"
    assert datetime.fromisoformat(user["registered_at"]).tzinfo is not None


async def test_registered_user_can_log_in_with_any_email_case(
    api: Api, client: httpx.AsyncClient
) -> None:
    await api.register("carol@example.com")
    response = await login(client, "CAROL@Example.com")
    assert response.status_code == 204, response.text


@pytest.mark.parametrize("second", ["dave@example.com", "DAVE@Example.Com"])
async def test_register_duplicate_email_is_409(
    api: Api, client: httpx.AsyncClient, services: Services, second: str
) -> None:
    """A second account for the same email (in any case) is refused and stores nothing."""
    await api.register("dave@example.com")
    before = await count_rows(services, User)

    response = await client.post(
        "/auth/register", json={"email": second, "password": "other-secret-2", "name": "Imposter"}
    )

    assert response.status_code == 409, response.text
    assert response.json() == {
        "detail": "That email is already registered",
        "code": "CONFLICT",
        "errors": [{"field": "email", "message": "That email is already registered"}],
    }
    assert await count_rows(services, User) == before
    # The first account keeps its password; the imposter's password does not work.
    assert (await login(client, "dave@example.com")).status_code == 204
    assert (await login(client, "dave@example.com", "other-secret-2")).status_code == 401


INVALID_REGISTRATIONS = {
    "common password": ({"password": "qwertyuiop"}, "password"),
    "common password, other case": ({"password": "LetMeIn123"}, "password"),
    "too few distinct characters": ({"password": "abababababab"}, "password"),
    "password too short": ({"password": "Xy7!abcde"}, "password"),
    "password too long": ({"password": "Xy7!" + "a" * 125}, "password"),
    "malformed email": ({"email": "not-an-email"}, "email"),
    "email without domain": ({"email": "someone@"}, "email"),
    "email without local part": ({"email": "@example.com"}, "email"),
    "empty name": ({"name": ""}, "name"),
    "blank name": ({"name": "   "}, "name"),
    "name too long": ({"name": "n" * 101}, "name"),
    "missing email": ({"email": None}, "email"),
    "missing password": ({"password": None}, "password"),
    "missing name": ({"name": None}, "name"),
}


@pytest.mark.parametrize(
    ("changes", "field"), INVALID_REGISTRATIONS.values(), ids=INVALID_REGISTRATIONS.keys()
)
async def test_register_invalid_input_is_422_and_stores_nothing(
    client: httpx.AsyncClient, services: Services, changes: dict[str, str | None], field: str
) -> None:
    payload: dict[str, str | None] = {
        "email": "erin@example.com",
        "password": PASSWORD,
        "name": "Erin",
    }
    payload.update(changes)
    body = {key: value for key, value in payload.items() if value is not None}
    before = await count_rows(services, User)

    response = await client.post("/auth/register", json=body)

    assert response.status_code == 422, response.text
    assert response.json()["code"] == "BAD_USER_INPUT"
    assert field in [error["field"] for error in response.json()["errors"]], response.text
    assert await count_rows(services, User) == before
    if "email" in body and "@" in body["email"] and "password" in body:
        # A password longer than any account can have is refused before it is verified.
        refused = 422 if len(body["password"]) > MAX_PASSWORD_LENGTH else 401
        assert (await login(client, body["email"], body["password"])).status_code == refused


# --- POST /auth/login, /auth/token, /users/me ------------------------------------------------


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


# --- POST /auth/logout -----------------------------------------------------------------------


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


# --- The first admin -------------------------------------------------------------------------


async def test_first_admin_is_created_at_start_up(api: Api) -> None:
    token = await api.admin_token()
    body = await api.gql("{ me { email role } }", token=token)
    assert body == {"data": {"me": {"email": ADMIN_EMAIL, "role": "admin"}}}


async def test_second_start_keeps_one_admin(
    api: Api, services: Services, settings: Settings
) -> None:
    """Start-up is idempotent: a second app on the same database neither fails nor duplicates."""
    assert await users_with_email(services, ADMIN_EMAIL) == [(ADMIN_ROLE_ID, True)]
    before = await count_rows(services, User)

    async with serve(settings) as (client, _):
        assert (await login(client, ADMIN_EMAIL, ADMIN_PASSWORD)).status_code == 204
        assert await gql(client, "{ me { role } }") == {"data": {"me": {"role": "admin"}}}

    assert await users_with_email(services, ADMIN_EMAIL) == [(ADMIN_ROLE_ID, True)]
    assert await count_rows(services, User) == before
    token = await api.admin_token()
    assert await api.gql("{ me { role } }", token=token) == {"data": {"me": {"role": "admin"}}}


async def test_start_up_restores_a_demoted_admin(
    api: Api, services: Services, settings: Settings
) -> None:
    """The configured admin is made active and admin again at every start."""
    async with services.sessions.begin() as session:
        await session.execute(
            update(User)
            .where(User.email == ADMIN_EMAIL)
            .values(role_id=USER_ROLE_ID, is_active=False)
        )

    async with serve(settings):
        pass

    assert await users_with_email(services, ADMIN_EMAIL) == [(ADMIN_ROLE_ID, True)]
    token = await api.admin_token()
    assert await api.gql("{ me { role } }", token=token) == {"data": {"me": {"role": "admin"}}}


async def test_start_up_does_not_hand_admin_to_whoever_registered_the_email(
    database_url: str,
) -> None:
    """FIRST_ADMIN_EMAIL configured after someone else registered that address: start-up must
    not make that person (who knows their own password, not FIRST_ADMIN_PASSWORD) an admin."""
    unconfigured = make_settings(database_url, first_admin_email=None, first_admin_password=None)
    async with serve(unconfigured) as (client, _):
        await Api(client).register(ADMIN_EMAIL, "Squatter", password="squatter-secret-9")

    async with serve(make_settings(database_url)) as (client, _):
        response = await client.post(
            "/auth/token", data={"username": ADMIN_EMAIL, "password": "squatter-secret-9"}
        )
        assert response.status_code == 200, response.text
        body = await Api(client).gql("{ me { role } }", token=response.json()["access_token"])
        assert body["data"]["me"]["role"] == "user", "the squatter became admin"


async def test_first_admin_email_is_stored_lower_cased(database_url: str) -> None:
    settings = make_settings(database_url, first_admin_email="Boss@Example.COM")
    async with serve(settings) as (client, app):
        assert await users_with_email(app.state.services, "boss@example.com") == [
            (ADMIN_ROLE_ID, True)
        ]
        assert (await login(client, "boss@example.com", ADMIN_PASSWORD)).status_code == 204
    # And a restart with the same mixed-case setting finds it instead of failing.
    async with serve(settings) as (_, app):
        assert await users_with_email(app.state.services, "boss@example.com") == [
            (ADMIN_ROLE_ID, True)
        ]


# --- CORS ------------------------------------------------------------------------------------


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
    response = await client.options(path, headers=preflight_headers(ALLOWED_ORIGIN))

    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
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
        "/graphql", json={"query": ME_QUERY}, headers={"Origin": ALLOWED_ORIGIN}
    )
    foreign = await client.post(
        "/graphql", json={"query": ME_QUERY}, headers={"Origin": "http://evil.example"}
    )

    assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
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
        await client.options("/graphql", headers=preflight_headers(ALLOWED_ORIGIN)),
        await client.get("/openapi.json"),
    ]
    ids = [response.headers.get("x-request-id") for response in responses]
    for request_id in ids:
        assert request_id is not None
        assert re.fullmatch(r"[0-9a-f]{32}", request_id), request_id
    assert len(set(ids)) == len(ids)


# --- OpenAPI docs ----------------------------------------------------------------------------


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
