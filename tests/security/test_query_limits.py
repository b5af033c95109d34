"""Depth, aliases, tokens and the cost budget refuse abusive operations with a clear error."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.utils.api import Api
from tests.utils.app import serve
from tests.utils.settings import make_settings

INTROSPECTION = "{ __schema { queryType { name } } }"
NESTED_ANCHOR = (
    "{ users(limit: 50, offset: 200) { id name degrees { name createdAt } "
    "trades(limit: 20) { id currency side price amount createdAt } } }"
)


def code(body: dict[str, Any]) -> str:
    assert body.get("data") is None, body
    result: str = body["errors"][0]["extensions"]["code"]
    return result


@pytest.fixture
async def token(api: Api) -> str:
    return (await api.signup("limits@example.com"))[1]


async def test_depth_beyond_the_limit_is_refused(api: Api, token: str) -> None:
    deep = "{ me { trades { user { trades { user { trades { user { trades { user { trades { user { name } } } } } } } } } } } }"  # noqa: E501
    body = await api.gql(deep, token=token)
    assert code(body) == "GRAPHQL_VALIDATION_FAILED"
    assert "exceeds maximum operation depth of 10" in body["errors"][0]["message"]


def nested(levels: int) -> str:
    """`{ me { trades(limit: 1) { user { ... } } } }`: `levels` levels of fields, `id` last."""
    names = ["me"] + ["trades(limit: 1)", "user"] * levels
    return "{ " + " { ".join(names[: levels - 1]) + " { id" + " }" * levels


async def test_the_depth_limit_counts_levels_of_fields(api: Api, token: str) -> None:
    """GRAPHQL_MAX_DEPTH (10) levels pass; the eleventh is refused (11 passed before)."""
    assert nested(2) == "{ me { id } }"
    body = await api.gql(nested(10), token=token)
    assert "errors" not in body, body
    body = await api.gql(nested(11), token=token)
    assert code(body) == "GRAPHQL_VALIDATION_FAILED"
    assert "exceeds maximum operation depth of 10" in body["errors"][0]["message"]


async def test_too_many_aliases_are_refused(api: Api, token: str) -> None:
    aliased = "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(31)) + " }"
    body = await api.gql(aliased, token=token)
    assert code(body) == "GRAPHQL_VALIDATION_FAILED"
    assert "aliases" in body["errors"][0]["message"]


async def test_too_many_tokens_stop_parsing(api: Api, token: str) -> None:
    huge = "{ " + "me { id } " * 1_500 + "}"
    body = await api.gql(huge, token=token)
    assert code(body) == "GRAPHQL_PARSE_FAILED"
    assert "more than 5000 tokens" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    ("query", "variables", "cost"),
    [
        ("{ users(limit: 100) { trades(limit: 100) { id } } }", {}, 10_101),
        (
            "query($n: Int!) { users(limit: $n) { trades(limit: $n) { id } } }",
            {"n": 100},
            10_101,
        ),
        # A declared default prices the variable when the request does not send it.
        ("query($n: Int = 100) { users(limit: $n) { trades(limit: $n) { id } } }", {}, 10_101),
        # Fragments count like the fields they stand for.
        (
            "{ users(limit: 100) { ...T } } fragment T on User { trades(limit: 100) { id } }",
            {},
            10_101,
        ),
        # `before` narrows a page, like the filters: the limit still prices it.
        ("{ users(limit: 100) { trades(limit: 100, before: 5) { id } } }", {}, 10_101),
        (
            "query($n: Int!, $b: Int) { trades(limit: $n, before: $b) { user {"
            " trades(limit: $n, before: $b) { id } } } }",
            {"n": 100, "b": 7},
            10_201,
        ),
    ],
    ids=["literal", "variables", "declared-default", "fragment", "before", "before-variables"],
)
async def test_cost_beyond_the_budget_is_refused(
    api: Api, token: str, query: str, variables: dict[str, Any], cost: int
) -> None:
    body = await api.gql(query, variables, token=token)
    assert code(body) == "QUERY_TOO_COMPLEX"
    assert body["errors"][0]["extensions"]["cost"] == cost
    assert body["errors"][0]["extensions"]["budget"] == 10_000


async def test_the_contract_workloads_fit_the_budget(api: Api, token: str) -> None:
    body = await api.gql(NESTED_ANCHOR, token=token)
    assert "errors" not in body, body
    body = await api.gql(
        "{ users(limit: 50) { trades(limit: 20) { user { name } } } }", token=token
    )
    assert "errors" not in body, body


async def test_fragment_cycles_are_refused_without_recursing(api: Api, token: str) -> None:
    cyclic = "{ ...A } fragment A on Query { me { id } ...B } fragment B on Query { ...A }"
    body = await api.gql(cyclic, token=token)
    assert code(body) == "GRAPHQL_VALIDATION_FAILED"
    assert any("Cannot spread fragment" in e["message"] for e in body["errors"])


async def test_batched_requests_are_refused(api: Api) -> None:
    response = await api.client.post("/graphql", json=[{"query": "{ me { id } }"}] * 1_000)
    assert response.status_code == 400
    assert "Batching is not enabled" in response.text


async def test_a_body_beyond_the_limit_is_refused_with_413(api: Api) -> None:
    big = {"query": "{ me { id } }", "variables": {"pad": "x" * 1_100_000}}
    response = await api.client.post("/graphql", json=big)
    assert response.status_code == 413
    assert response.json()["code"] == "CONTENT_TOO_LARGE"


async def test_a_chunked_body_beyond_the_limit_is_refused_with_413(api: Api) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"query": "{ me { id } }", "variables": {"pad": "'
        for _ in range(20):
            yield b"x" * 100_000
        yield b'"}}'

    response = await api.client.post(
        "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "CONTENT_TOO_LARGE"


@pytest.fixture
async def production(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(
        database_url, environment="production", jwt_secret="k3y-" + "abcdefghijklmnopqrstuvwxyz0123"
    )
    async with serve(settings, "https://testserver") as (client, _):
        yield client


async def test_production_turns_off_introspection_ide_and_suggestions(
    production: httpx.AsyncClient,
) -> None:
    introspection = await production.post(
        "/graphql", json={"query": "{ __schema { types { name } } }"}
    )
    assert "introspection" in introspection.json()["errors"][0]["message"].lower()
    ide = await production.get("/graphql", headers={"accept": "text/html"})
    assert ide.status_code == 404
    typo = await production.post("/graphql", json={"query": "{ usr { id } }"})
    message = typo.json()["errors"][0]["message"]
    assert message == "Cannot query field 'usr' on type 'Query'."
    enum = await production.post("/graphql", json={"query": "{ trades(side: BYU) { id } }"})
    assert "Did you mean" not in enum.text


async def test_development_keeps_them(api: Api) -> None:
    typo = await api.client.post("/graphql", json={"query": "{ usr { id } }"})
    assert "Did you mean 'user'" in typo.json()["errors"][0]["message"]
    introspection = await api.client.post(
        "/graphql", json={"query": "{ __schema { queryType { name } } }"}
    )
    assert introspection.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
