"""A bad token is not "no token": an expired, forged or logged-out one is refused (GraphQL's
UNAUTHENTICATED, REST's 401 invalid_token), on the compiled path as on the general one, and a
refused cookie is deleted; only a request with no credentials at all is anonymous."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest

from auth.tokens import ALGORITHM, key_id
from tests.auth.cookies import parse_set_cookie
from tests.utils.api import Api
from tests.utils.app import serve
from tests.utils.settings import TEST_SECRET, make_settings

PASSWORD = "trade-secret-1"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
INVALID_TOKEN = 'Bearer error="invalid_token"'
ME = {"query": "{ me { name } }"}


def expired_token(user_id: int) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "iat": now - timedelta(hours=2),
        "exp": now - timedelta(seconds=5),
        "aud": "trading-api",
        "iss": "trading-api",
        "jti": "0" * 32,
        "ver": 0,
    }
    return jwt.encode(
        claims, TEST_SECRET, algorithm=ALGORITHM, headers={"kid": key_id(TEST_SECRET)}
    )


@pytest.fixture(params=[True, False], ids=["compiled", "general"])
async def client(
    database_url: str, request: pytest.FixtureRequest
) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(database_url, graphql_compiled_queries=request.param)
    async with serve(settings) as (client, _):
        yield client


async def bad_tokens(client: httpx.AsyncClient) -> dict[str, str]:
    """Each kind of refused token: forged, expired, logged out."""
    user_id, logged_out = await Api(client).signup("bea@example.com", "Bea")
    response = await client.post("/auth/logout", headers={"Authorization": f"Bearer {logged_out}"})
    assert response.status_code == 204
    return {"garbage": "not-a-token", "expired": expired_token(user_id), "logged out": logged_out}


def deletes_the_cookie(response: httpx.Response) -> bool:
    for header in response.headers.get_list("set-cookie"):
        name, value, attributes = parse_set_cookie(header)
        if name == "access_token":
            return value in ("", '""') and attributes.get("max-age") == "0"
    return False


async def test_a_bad_bearer_token_is_unauthenticated_on_graphql(
    client: httpx.AsyncClient,
) -> None:
    for kind, token in (await bad_tokens(client)).items():
        headers = {"Authorization": f"Bearer {token}"}
        legacy = await client.post("/graphql", json=ME, headers=headers)
        assert legacy.status_code == 200, kind
        assert legacy.headers["content-type"].startswith("application/json")
        body = legacy.json()
        assert body["data"] is None, kind
        assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"], kind
        assert "sign in again" in body["errors"][0]["message"]

        modern = await client.post(
            "/graphql", json=ME, headers={**headers, "Accept": GRAPHQL_RESPONSE_JSON}
        )
        assert modern.status_code == 401, kind
        assert modern.headers["www-authenticate"] == INVALID_TOKEN
        assert modern.headers["content-type"].startswith(GRAPHQL_RESPONSE_JSON)
        assert modern.json() == {"errors": body["errors"]}, kind


async def test_no_credentials_at_all_is_anonymous(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json=ME)
    assert (response.status_code, response.json()) == (200, {"data": {"me": None}})
    assert (
        await client.post("/graphql", json=ME, headers={"Authorization": "Bearer "})
    ).json() == {"data": {"me": None}}


async def test_a_valid_token_still_answers(client: httpx.AsyncClient) -> None:
    _, token = await Api(client).signup("valid@example.com", "Bea")
    response = await client.post("/graphql", json=ME, headers={"Authorization": f"Bearer {token}"})
    assert response.json() == {"data": {"me": {"name": "Bea"}}}


async def test_a_refused_cookie_is_unauthenticated_and_deleted(
    client: httpx.AsyncClient,
) -> None:
    for kind, token in (await bad_tokens(client)).items():
        cookie = {"Cookie": f"access_token={token}"}
        response = await client.post("/graphql", json=ME, headers=cookie)
        body = response.json()
        assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"], kind
        assert deletes_the_cookie(response), kind
        # The next request, without it, is anonymous.
        assert (await client.post("/graphql", json=ME)).json() == {"data": {"me": None}}


async def test_a_bad_bearer_does_not_delete_a_cookie(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", json=ME, headers={"Authorization": "Bearer not-a-token"}
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert not response.headers.get_list("set-cookie")


async def test_a_bad_token_is_a_401_invalid_token_on_rest(client: httpx.AsyncClient) -> None:
    for kind, token in (await bad_tokens(client)).items():
        for headers in ({"Authorization": f"Bearer {token}"}, {"Cookie": f"access_token={token}"}):
            response = await client.get("/users/me", headers=headers)
            assert response.status_code == 401, kind
            assert response.headers["www-authenticate"] == INVALID_TOKEN
            body = response.json()
            assert body["code"] == "UNAUTHENTICATED"
            assert body["errors"] == []
            assert "sign in again" in body["detail"]
            assert deletes_the_cookie(response) == ("Cookie" in headers), kind


async def test_no_token_on_rest_is_a_plain_challenge(client: httpx.AsyncClient) -> None:
    response = await client.get("/users/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {"detail": "Not signed in", "code": "UNAUTHENTICATED", "errors": []}


async def test_logout_with_a_refused_cookie_still_signs_out(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/logout", headers={"Cookie": "access_token=not-a-token"})
    assert response.status_code == 204
    assert deletes_the_cookie(response)


async def test_signing_in_with_a_stale_cookie_works(client: httpx.AsyncClient) -> None:
    """The live page signs in again while the browser still holds the refused cookie."""
    await Api(client).signup("stale@example.com", "Bea")
    response = await client.post(
        "/auth/login",
        data={"username": "stale@example.com", "password": PASSWORD},
        headers={"Cookie": "access_token=not-a-token"},
    )
    assert response.status_code == 204


async def test_graphiql_renders_with_a_stale_cookie(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/graphql", headers={"Cookie": "access_token=not-a-token", "Accept": "text/html"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def test_every_operation_is_refused_with_a_bad_token(client: httpx.AsyncClient) -> None:
    """Introspection, mutations and invalid documents alike: the token is what is wrong."""
    headers = {"Authorization": "Bearer not-a-token"}
    for query in (
        "{ __schema { queryType { name } } }",
        'mutation { changeUserName(userId: 1, newName: "x") { id } }',
        "{ nope }",
    ):
        response = await client.post("/graphql", json={"query": query}, headers=headers)
        assert codes(response.json()) == ["UNAUTHENTICATED"], query
