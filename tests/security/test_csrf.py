"""Cookie-authenticated requests a browser could send cross-site without a preflight are refused
unless they carry Apollo's preflight headers; JSON and bearer-token requests are unaffected."""

from __future__ import annotations

import json

import pytest

from tests.utils.api import Api

ME = "{ me { email } }"
EMAIL = "csrf@example.com"


@pytest.fixture
async def cookie(api: Api) -> str:
    await api.register(EMAIL)
    response = await api.client.post(
        "/auth/login", data={"username": EMAIL, "password": "trade-secret-1"}
    )
    assert response.status_code == 204
    value = api.client.cookies["access_token"]
    api.client.cookies.clear()
    return value


def signed_in(cookie: str, **headers: str) -> dict[str, str]:
    return {"cookie": f"access_token={cookie}", **headers}


def is_csrf_refusal(status: int, text: str) -> bool:
    return status == 400 and "Cross-Site Request Forgery" in text


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", json.dumps({"query": ME})),
        ("application/x-www-form-urlencoded", "query=" + ME),
        (
            "multipart/form-data; boundary=x",
            f'--x\r\nContent-Disposition: form-data; name="query"\r\n\r\n{ME}\r\n--x--\r\n',
        ),
        (None, json.dumps({"query": ME})),
    ],
    ids=["text-plain", "form", "multipart", "no-content-type"],
)
async def test_simple_posts_with_a_cookie_are_refused(
    api: Api, cookie: str, content_type: str | None, body: str
) -> None:
    headers = signed_in(cookie)
    if content_type:
        headers["content-type"] = content_type
    response = await api.client.post("/graphql", content=body, headers=headers)
    assert is_csrf_refusal(response.status_code, response.text), response.text


async def test_get_with_a_cookie_is_refused(api: Api, cookie: str) -> None:
    response = await api.client.get("/graphql", params={"query": ME}, headers=signed_in(cookie))
    assert is_csrf_refusal(response.status_code, response.text), response.text


@pytest.mark.parametrize("header", ["apollo-require-preflight", "x-apollo-operation-name"])
async def test_preflight_headers_let_them_through(api: Api, cookie: str, header: str) -> None:
    response = await api.client.get(
        "/graphql", params={"query": ME}, headers=signed_in(cookie, **{header: "Me"})
    )
    assert response.json() == {"data": {"me": {"email": EMAIL}}}


async def test_an_empty_preflight_header_does_not_count(api: Api, cookie: str) -> None:
    response = await api.client.get(
        "/graphql",
        params={"query": ME},
        headers=signed_in(cookie, **{"apollo-require-preflight": " "}),
    )
    assert is_csrf_refusal(response.status_code, response.text)


async def test_json_posts_with_a_cookie_are_unaffected(api: Api, cookie: str) -> None:
    response = await api.client.post("/graphql", json={"query": ME}, headers=signed_in(cookie))
    assert response.json() == {"data": {"me": {"email": EMAIL}}}


async def test_bearer_tokens_are_unaffected(api: Api) -> None:
    await api.register("bearer@example.com")
    token = await api.token("bearer@example.com")
    response = await api.client.get(
        "/graphql", params={"query": ME}, headers={"authorization": f"Bearer {token}"}
    )
    assert response.json() == {"data": {"me": {"email": "bearer@example.com"}}}


async def test_requests_without_a_cookie_are_unaffected(api: Api) -> None:
    response = await api.client.get("/graphql", params={"query": ME})
    assert response.json() == {"data": {"me": None}}


async def test_graphiql_page_still_loads_with_a_cookie(api: Api, cookie: str) -> None:
    response = await api.client.get("/graphql", headers=signed_in(cookie, accept="text/html"))
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()
