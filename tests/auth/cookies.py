"""Signing in as a browser does: POST /auth/login for the session cookie, the cookies a response
sets, GraphQL sent with the cookie jar."""

from __future__ import annotations

from typing import Any

import httpx

PASSWORD = "trade-secret-1"
ME_QUERY = "{ me { id email } }"


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
