"""The bad-input battery: hostile or broken requests, each sent over HTTP to the app. Every one
gets its documented error, never a 500, and the database holds exactly what it held before."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from sqlalchemy import select

from db.models import Base
from services import Services
from tests.utils.accounts import Account, sign_up
from tests.utils.api import Api
from tests.utils.settings import TEST_SECRET
from tests.utils.tokens import KID, claims_for, encode, hs512, unsigned

SQL = "'; DROP TABLE trades; --"
MEGABYTE = "x" * 1_000_000
ADD = (
    "mutation($t: [TradeInput!]!, $k: String) { addTrades(trades: $t, idempotencyKey: $k) { id } }"
)
RENAME = "mutation($id: Int!, $n: String!) { changeUserName(userId: $id, newName: $n) { id } }"
TRADES = (
    "query($c: String, $l: Int!, $o: Int!) { trades(currency: $c, limit: $l, offset: $o) { id } }"
)


@dataclass(frozen=True)
class Accounts:
    alice: Account  # the one sending, unless a case says otherwise
    bob: Account
    bobs_trade: int


Request = dict[str, Any]


def gql(query: str, token: str | None = None, **variables: Any) -> Request:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return {
        "method": "POST",
        "url": "/graphql",
        "json": {"query": query, "variables": variables},
        "headers": headers,
    }


def trade(**changes: Any) -> dict[str, Any]:
    return {"currency": "BTC", "side": "BUY", "price": "1", "amount": "1", **changes}


def add(a: Accounts, *trades: dict[str, Any], key: str | None = None) -> Request:
    return gql(ADD, a.alice.token, t=list(trades), k=key)


def page(a: Accounts, currency: str | None = None, limit: int = 10, offset: int = 0) -> Request:
    return gql(TRADES, a.alice.token, c=currency, l=limit, o=offset)


def expired_token(user_id: int) -> str:
    past = datetime.now(UTC) - timedelta(hours=1)
    return encode(claims_for(user_id, iat=past - timedelta(hours=1), exp=past))


# Each case: how to build the request from the accounts, and the answer it must get (a GraphQL
# extensions.code, an HTTP status for requests refused before GraphQL runs, or the whole body).
CASES: dict[str, tuple[Callable[[Accounts], Request], str | int | dict[str, Any]]] = {
    # --- the HTTP envelope
    "malformed JSON": (
        lambda a: {
            "method": "POST",
            "url": "/graphql",
            "content": '{"query": "{',
            "headers": {"content-type": "application/json"},
        },
        400,
    ),
    "wrong content type": (
        lambda a: {
            "method": "POST",
            "url": "/graphql",
            "content": "<q/>",
            "headers": {"content-type": "application/xml"},
        },
        400,
    ),
    "JSON that is not an object": (
        lambda a: {"method": "POST", "url": "/graphql", "json": 42},
        400,
    ),
    "1,000-operation batch": (
        lambda a: {
            "method": "POST",
            "url": "/graphql",
            "json": [{"query": "{ me { id } }"}] * 1000,
        },
        400,
    ),
    "oversized body": (lambda a: gql("{ me { id } }", a.alice.token, pad=MEGABYTE * 2), 413),
    # --- variables and schema
    "variables of the wrong type": (lambda a: gql(ADD, a.alice.token, t="BTC"), "BAD_USER_INPUT"),
    "unknown field": (
        lambda a: gql("{ trades { id secret } }", a.alice.token),
        "GRAPHQL_VALIDATION_FAILED",
    ),
    "unknown enum value": (lambda a: add(a, trade(side="HOLD")), "BAD_USER_INPUT"),
    "unknown input field": (lambda a: add(a, trade(fee="1")), "BAD_USER_INPUT"),
    "unknown enum literal": (
        lambda a: gql(
            'mutation { addTrades(trades: [{currency: "BTC", side: HOLD, price: "1", '
            'amount: "1"}]) { id } }',
            a.alice.token,
        ),
        "GRAPHQL_VALIDATION_FAILED",
    ),
    # --- money
    "negative price": (lambda a: add(a, trade(price="-1")), "BAD_USER_INPUT"),
    "negative amount": (lambda a: add(a, trade(amount="-0.5")), "BAD_USER_INPUT"),
    "huge price": (lambda a: add(a, trade(price="1" + "0" * 30)), "BAD_USER_INPUT"),
    "non-numeric price": (lambda a: add(a, trade(price="abc")), "BAD_USER_INPUT"),
    "NaN price": (lambda a: add(a, trade(price="NaN")), "BAD_USER_INPUT"),
    "Infinity amount": (lambda a: add(a, trade(amount="Infinity")), "BAD_USER_INPUT"),
    "20-decimal price": (lambda a: add(a, trade(price="0.12345678901234567890")), "BAD_USER_INPUT"),
    "price as a JSON float": (lambda a: add(a, trade(price=1e308)), "BAD_USER_INPUT"),
    "one bad trade in a batch": (
        lambda a: add(a, trade(), trade(), trade(price="-1")),
        "BAD_USER_INPUT",
    ),
    "1,001 trades": (lambda a: add(a, *[trade()] * 1001), "BAD_USER_INPUT"),
    # --- strings
    "empty currency": (lambda a: add(a, trade(currency="")), "BAD_USER_INPUT"),
    "1 MB currency": (lambda a: add(a, trade(currency=MEGABYTE)), "BAD_USER_INPUT"),
    "non-ASCII currency": (lambda a: add(a, trade(currency="₿TC")), "BAD_USER_INPUT"),
    "SQL in a currency": (lambda a: add(a, trade(currency=SQL)), "BAD_USER_INPUT"),
    "SQL in the currency filter": (lambda a: page(a, currency=SQL), "BAD_USER_INPUT"),
    "SQL in an idempotency key of a bad batch": (
        lambda a: add(a, trade(price="-1"), key=SQL),
        "BAD_USER_INPUT",
    ),
    "1 MB idempotency key": (lambda a: add(a, trade(), key=MEGABYTE), "BAD_USER_INPUT"),
    "empty name": (lambda a: gql(RENAME, a.alice.token, id=a.alice.id, n=""), "BAD_USER_INPUT"),
    "1 MB name": (
        lambda a: gql(RENAME, a.alice.token, id=a.alice.id, n=MEGABYTE),
        "BAD_USER_INPUT",
    ),
    "control characters in a name": (
        lambda a: gql(RENAME, a.alice.token, id=a.alice.id, n="A\x00B"),
        "BAD_USER_INPUT",
    ),
    "SQL in another user's name": (
        lambda a: gql(RENAME, a.alice.token, id=a.bob.id, n=SQL),
        "FORBIDDEN",
    ),
    "variables not an object": (
        lambda a: {
            "method": "POST",
            "url": "/graphql",
            "json": {"query": "{ me { id } }", "variables": 5},
        },
        400,
    ),
    "query not a string": (
        lambda a: {"method": "POST", "url": "/graphql", "json": {"query": 5}},
        400,
    ),
    "SQL in a job id": (
        lambda a: gql("query($id: String!) { job(id: $id) { status } }", a.alice.token, id=SQL),
        {"data": {"job": {"status": "NOT_FOUND"}}},  # what an unknown job id reads as
    ),
    "SQL in the login form": (
        lambda a: {
            "method": "POST",
            "url": "/auth/token",
            "data": {"username": SQL, "password": SQL},
        },
        401,
    ),
    "SQL in a registration": (
        lambda a: {
            "method": "POST",
            "url": "/auth/register",
            "json": {"email": SQL, "password": SQL, "name": SQL},
        },
        422,
    ),
    # --- pages
    "limit -1": (lambda a: page(a, limit=-1), "BAD_USER_INPUT"),
    "limit 10,000,000": (lambda a: page(a, limit=10_000_000), "BAD_USER_INPUT"),
    "offset -5": (lambda a: page(a, offset=-5), "BAD_USER_INPUT"),
    "limit beyond 32 bits": (lambda a: page(a, limit=2**40), "BAD_USER_INPUT"),
    # --- abusive documents
    "deep query": (
        lambda a: gql(
            "{ me { " + "trades { user { " * 6 + "id" + " } }" * 6 + " } }", a.alice.token
        ),
        "GRAPHQL_VALIDATION_FAILED",
    ),
    "aliased query": (
        lambda a: gql(
            "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(100)) + " }", a.alice.token
        ),
        "GRAPHQL_VALIDATION_FAILED",
    ),
    "fragment cycle": (
        lambda a: gql(
            "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }", a.alice.token
        ),
        "GRAPHQL_VALIDATION_FAILED",
    ),
    "oversized query": (
        lambda a: gql("{ " + "me { id } " * 3000 + "}", a.alice.token),
        "GRAPHQL_PARSE_FAILED",
    ),
    "too costly query": (
        lambda a: gql("{ users(limit: 100) { trades(limit: 100) { id } } }", a.alice.token),
        "QUERY_TOO_COMPLEX",
    ),
    # --- tokens
    "forged token": (
        lambda a: add(a, trade()) | {"headers": {"Authorization": "Bearer x.y.z"}},
        "UNAUTHENTICATED",
    ),
    "expired token": (
        lambda a: (
            add(a, trade()) | {"headers": {"Authorization": f"Bearer {expired_token(a.alice.id)}"}}
        ),
        "UNAUTHENTICATED",
    ),
    "alg none token": (
        lambda a: (
            add(a, trade())
            | {"headers": {"Authorization": f"Bearer {unsigned(claims_for(a.alice.id))}"}}
        ),
        "UNAUTHENTICATED",
    ),
    "HS512 token": (
        lambda a: (
            add(a, trade())
            | {"headers": {"Authorization": f"Bearer {hs512(claims_for(a.alice.id))}"}}
        ),
        "UNAUTHENTICATED",
    ),
    "forged token on REST": (
        lambda a: {
            "method": "GET",
            "url": "/users/me",
            "headers": {"Authorization": "Bearer x.y.z"},
        },
        401,
    ),
    # --- another user's ids in every mutation
    "trade for another user": (lambda a: add(a, trade(userId=a.bob.id)), "FORBIDDEN"),
    "rename another user": (
        lambda a: gql(RENAME, a.alice.token, id=a.bob.id, n="Mallory"),
        "FORBIDDEN",
    ),
    "degree for another user": (
        lambda a: gql(
            "mutation($id: Int!) { addDegree(userId: $id, name: EXPERT) { id } }",
            a.alice.token,
            id=a.bob.id,
        ),
        "FORBIDDEN",
    ),
    "deactivate another user": (
        lambda a: gql(
            "mutation($id: Int!) { deactivateUser(userId: $id) { id } }", a.alice.token, id=a.bob.id
        ),
        "FORBIDDEN",
    ),
    "trade for a user that does not exist": (lambda a: add(a, trade(userId=10**9)), "FORBIDDEN"),
}


async def snapshot(services: Services) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table."""
    async with services.sessions() as session:
        return {
            table.name: sorted(map(tuple, await session.execute(select(table))), key=repr)
            for table in Base.metadata.sorted_tables
        }


@pytest.fixture
async def accounts(api: Api, services: Services) -> Accounts:
    alice = await sign_up(api, "alice@example.com", "Alice")
    bob = await sign_up(api, "bob@example.com", "Bob")
    body = await api.gql(ADD, {"t": [trade(currency="ETH")]}, token=bob.token)
    # Settled before the snapshot: the trade placed in the feed, the welcomes sent.
    await services.jobs.drain()
    return Accounts(alice, bob, body["data"]["addTrades"][0]["id"])


@pytest.mark.parametrize(("build", "expected"), CASES.values(), ids=CASES.keys())
async def test_bad_input_is_refused_and_changes_nothing(
    api: Api,
    services: Services,
    accounts: Accounts,
    build: Callable[[Accounts], Request],
    expected: str | int | dict[str, Any],
) -> None:
    before = await snapshot(services)
    request = build(accounts)
    response = await api.client.request(**request)
    assert response.status_code < 500, response.text
    if isinstance(expected, int):
        assert response.status_code == expected, response.text[:500]
    elif isinstance(expected, dict):
        assert response.json() == expected
    else:
        assert response.status_code == 200, response.text[:500]
        body = response.json()
        assert body.get("data") is None or not any(body["data"].values()), body
        codes = [e["extensions"]["code"] for e in body["errors"]]
        assert codes[0] == expected, json.dumps(body)[:500]
    assert await snapshot(services) == before


def test_the_forged_tokens_are_otherwise_well_formed() -> None:
    """The token cases above fail on what they forge, not on being garbage."""
    token = encode(claims_for(1))
    assert (
        jwt.decode(
            token, TEST_SECRET, algorithms=["HS256"], audience="trading-api", issuer="trading-api"
        )["sub"]
        == "1"
    )
    assert jwt.get_unverified_header(unsigned(claims_for(1)))["kid"] == KID
