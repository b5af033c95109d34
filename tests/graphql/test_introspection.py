"""Introspection and `__typename` answer for every viewer, on both paths: GraphiQL sends the
session cookie with its schema query, so a signed-in user must get the schema too."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import get_introspection_query

from settings import Settings
from tests.utils.api import Api
from tests.utils.settings import make_settings

VIEWERS = ["anonymous", "cookie", "bearer"]
NAME = "Viewer"


@pytest.fixture
def settings(database_url: str, path: str) -> Settings:
    return make_settings(database_url, graphql_compiled_queries=path == "compiled")


@pytest.fixture(params=VIEWERS)
async def credentials(request: pytest.FixtureRequest, api: Api) -> dict[str, str]:
    """The headers a viewer's requests carry: none, the session cookie, or a bearer token."""
    if request.param == "anonymous":
        return {}
    await api.register("viewer@example.com", NAME)
    if request.param == "bearer":
        return {"Authorization": f"Bearer {await api.token('viewer@example.com')}"}
    login = await api.client.post(
        "/auth/login", data={"username": "viewer@example.com", "password": "trade-secret-1"}
    )
    assert login.status_code == 204, login.text
    cookie = login.cookies["access_token"]
    api.client.cookies.clear()  # sent by hand below, as a browser sends it
    return {"Cookie": f"access_token={cookie}"}


async def ask(api: Api, credentials: dict[str, str], query: str) -> dict[str, Any]:
    response = await api.client.post("/graphql", json={"query": query}, headers=credentials)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


# Introspection fields alone (the test then asks them beside `me`), and what they answer.
ANSWERS: list[tuple[str, dict[str, Any]]] = [
    ("{ __schema { queryType { name } } }", {"__schema": {"queryType": {"name": "Query"}}}),
    ("{ __typename }", {"__typename": "Query"}),
    (
        '{ __type(name: "Degree") { name fields { name } } }',
        {
            "__type": {
                "name": "Degree",
                "fields": [{"name": "id"}, {"name": "name"}, {"name": "createdAt"}],
            }
        },
    ),
]


async def test_introspection_answers_every_viewer(api: Api, credentials: dict[str, str]) -> None:
    graphiql = await ask(api, credentials, get_introspection_query())
    types = {t["name"]: t for t in graphiql["__schema"]["types"]}
    assert graphiql["__schema"]["queryType"]["name"] == "Query"
    assert {"users", "trades", "me"} <= {f["name"] for f in types["Query"]["fields"]}
    for query, expected in ANSWERS:
        assert await ask(api, credentials, query) == expected, query
    me = {"__typename": "User", "name": NAME} if credentials else None
    query = "{ me { __typename name } __typename __schema { queryType { name } } }"
    assert await ask(api, credentials, query) == {
        "me": me,
        "__typename": "Query",
        "__schema": {"queryType": {"name": "Query"}},
    }
