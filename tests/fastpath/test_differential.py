"""The compiled path and the general path answer every query with the same JSON.

Two apps on one database: one with compiled queries, one without (every request through
Strawberry's executor). Each query goes to both, as each viewer, and the parsed responses
must be equal: data and errors. The compiled app must also have answered the plain-data ones
itself, in one statement, or the comparison would prove nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select

from db.models import Degree, Trade, User
from services import Services
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, make_settings, serve
from tests.statements import recorded_statements

pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")

USERS = 8
TRADES_PER_USER = 7
BASE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class Pair:
    compiled: httpx.AsyncClient
    general: httpx.AsyncClient
    compiled_services: Services
    tokens: dict[str, str]  # viewer name -> bearer token
    cached: bool


async def _seed(services: Services) -> None:
    """Users with awkward names, trades in every currency and side, whole and fractional
    seconds (isoformat drops a zero fraction), prices at the scale's edges."""
    names = ["Zoë", 'Quote "q"', "Back\\slash", "Tab\there", "日本", "Plain", "x", "A B"]
    async with services.sessions.begin() as session:
        await session.execute(
            insert(User),
            [
                {
                    "email": f"trader{n}@example.com",
                    "name": names[n],
                    "password_hash": "x",
                    "registered_at": BASE + timedelta(days=n, microseconds=n * 1000 % 7),
                }
                for n in range(USERS)
            ],
        )
        ids = list(await session.scalars(select(User.id).where(User.email.like("trader%"))))
        await session.execute(
            insert(Degree),
            [
                {"user_id": u, "name": name, "created_at": BASE + timedelta(hours=i)}
                for i, u in enumerate(ids)
                for name in ("newbie", "expert")[: i % 3]
            ],
        )
        prices = [Decimal("0.00000001"), Decimal("1"), Decimal("99999999999.99999999")]
        await session.execute(
            insert(Trade),
            [
                {
                    "user_id": u,
                    "currency": ("BTC", "ETH", "SOL")[(i + n) % 3],
                    "side": ("buy", "sell")[n % 2],
                    "price": prices[n % 3] + n,
                    "amount": Decimal(n) / 7,
                    "created_at": BASE + timedelta(minutes=n, microseconds=(n % 2) * 123456),
                }
                for i, u in enumerate(ids)
                for n in range(TRADES_PER_USER)
            ],
        )


@pytest.fixture(params=["cache off", "cache on"])
async def pair(database_url: str, request: pytest.FixtureRequest) -> AsyncIterator[Pair]:
    """Cache on: every query is asked by each viewer in turn, so a response cached for one
    viewer and served to another (their email, their `me`) shows as a difference."""
    common = {"cache_ttl_seconds": 0 if request.param == "cache off" else 60}
    compiled_settings = make_settings(database_url, graphql_compiled_queries=True, **common)
    general_settings = make_settings(database_url, graphql_compiled_queries=False, **common)
    async with (
        serve(compiled_settings) as (compiled, compiled_app),
        serve(general_settings) as (general, _),
    ):
        services: Services = compiled_app.state.services
        await _seed(services)
        tokens = {}
        for viewer, email, password in (
            ("admin", ADMIN_EMAIL, ADMIN_PASSWORD),
            ("trader", "trader1@example.com", None),
        ):
            if password is None:
                await compiled.post(
                    "/auth/register",
                    json={"email": "me@example.com", "password": "trade-secret-1", "name": "Me"},
                )
                email, password = "me@example.com", "trade-secret-1"
            response = await compiled.post(
                "/auth/token", data={"username": email, "password": password}
            )
            tokens[viewer] = response.json()["access_token"]
        yield Pair(compiled, general, services, tokens, cached=request.param == "cache on")


async def _post(client: httpx.AsyncClient, body: dict[str, Any], token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post("/graphql", json=body, headers=headers)
    return response.status_code, response.json()


async def compare(
    pair: Pair, query: str, variables: dict[str, Any] | None = None, *, compiled: bool | None
) -> None:
    """Same status and JSON from both apps for every viewer; `compiled`: whether the compiled
    app must have answered it in one statement of its own (None: when it has no errors)."""
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    for viewer, token in pair.tokens.items():
        with recorded_statements(pair.compiled_services.reader) as statements:
            fast = await _post(pair.compiled, body, token)
        slow = await _post(pair.general, body, token)
        assert fast == slow, f"{viewer}: {query} {variables}"
        if compiled is None:
            compiled = "errors" not in slow[1]
        # Cached: the session check, then the statement when it is not cached yet.
        expected = ({1, 2} if pair.cached else {1}) if compiled else {0}
        assert len(statements) in expected, (viewer, query, statements)
        if compiled:
            assert "errors" not in fast[1], fast


CONTRACT_QUERIES = [
    "{ user(id: 7) { id name role } }",
    "{ trades(limit: 50, offset: 10) { id userId currency side price amount createdAt } }",
    """{ users(limit: 50, offset: 1) { id name degrees { name createdAt }
         trades(limit: 20) { id currency side price amount createdAt } } }""",
    "{ me { id name role registeredAt email degrees { id name createdAt } } }",
    "{ users(limit: 100) { id email registeredAt role } }",
    "{ user(id: 99999) { id } trade(id: 99999) { id } }",
    "{ trade(id: 3) { id side price user { id name email trades(limit: 2) { id } } } }",
    '{ trades(currency: "eth", side: SELL, limit: 5) { id currency side } }',
    "{ trades(userId: 3, offset: 2) { id userId } }",
    "{ trades(limit: 0) { id } users(limit: 0) { id } }",
    "{ __typename a: user(id: 2) { __typename id } b: user(id: 3) { ...U } }"
    " fragment U on User { name ... on User { role } }",
    "{ users { id name } users { id degrees { name } } }",
    "query Q { me { id } } query R { users(limit: 2) { id } }",
]
VARIABLE_QUERIES: list[tuple[str, dict[str, Any]]] = [
    (
        "query($l: Int! = 3, $o: Int!, $c: String, $e: Boolean!) { users(limit: $l, offset: $o)"
        " { id email @include(if: $e) trades(limit: $l) { id currency } } trades(currency: $c)"
        " { id } }",
        {"o": 1, "c": "BTC", "e": True},
    ),
    ("query($s: Side) { trades(side: $s) { side } }", {"s": "BUY"}),
    ("query($skip: Boolean!) { me { id name @skip(if: $skip) } }", {"skip": True}),
]
# Requests the general path must answer: errors, refusals, things the compiler leaves alone.
GENERAL_QUERIES: list[tuple[str, dict[str, Any] | None]] = [
    ("{ users(limit: 1000) { id } }", None),
    ("{ users(offset: -1) { id } }", None),
    ('{ trades(currency: "bitcoin!") { id } }', None),
    ("{ user(id: 1) { nope } }", None),
    ("{ user(id: 1) { id }", None),
    ("query($l: Int!) { users(limit: $l) { id } }", {"l": "ten"}),
    ("query($l: Int!) { users(limit: $l) { id } }", None),
    ("{ users(limit: 100) { trades(limit: 100) { user { trades(limit: 100) { id } } } } }", None),
    ("{ cacheStats { hits } }", None),
    ("{ liveStats { connections subscriptions } }", None),
    ('{ job(id: "no-such-job") { id status } }', None),
    ("{ jobs(limit: 5) { id kind status } }", None),
    ("{ me { id } jobs { id } }", None),
    ('mutation { changeUserName(userId: 99999, newName: "x") { id } }', None),
    ("query Q { me { id } } query R { me { name } }", None),
]


async def test_contract_queries_answer_the_same(pair: Pair) -> None:
    for query in CONTRACT_QUERIES[:-1]:
        await compare(pair, query, compiled=None)
    for query, variables in VARIABLE_QUERIES:
        await compare(pair, query, variables, compiled=True)
    operations = CONTRACT_QUERIES[-1]
    for name in ("Q", "R"):
        body = {"query": operations, "operationName": name}
        for token in pair.tokens.values():
            fast = await _post(pair.compiled, body, token)
            assert fast == await _post(pair.general, body, token)
            assert "errors" not in fast[1]


async def test_errors_and_refusals_answer_the_same(pair: Pair) -> None:
    for query, variables in GENERAL_QUERIES:
        await compare(pair, query, variables, compiled=False)
    # No token, a forged one: the general path says UNAUTHENTICATED, the same way.
    body = {"query": "{ users { id } }"}
    for token in (None, "not-a-token", pair.tokens["admin"][:-2] + "xx"):
        assert await _post(pair.compiled, body, token) == await _post(pair.general, body, token)


async def test_refused_tokens_answer_the_same(pair: Pair) -> None:
    """A forged, logged-out or cookie token on queries the compiled path would answer: the same
    UNAUTHENTICATED refusal, status, challenge and cookie deletion from both apps."""
    response = await pair.compiled.post(
        "/auth/token", data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    logged_out = response.json()["access_token"]
    await pair.compiled.post("/auth/logout", headers={"Authorization": f"Bearer {logged_out}"})
    credentials = [
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": f"Bearer {logged_out}"},
        {"Cookie": f"access_token={logged_out}"},
    ]
    for query in ("{ me { name } }", "{ users(limit: 2) { id } }", "{ trades { id } }"):
        for headers in credentials:
            for accept in ("application/json", "application/graphql-response+json"):
                sent = {**headers, "Accept": accept}
                with recorded_statements(pair.compiled_services.reader) as statements:
                    fast = await pair.compiled.post("/graphql", json={"query": query}, headers=sent)
                slow = await pair.general.post("/graphql", json={"query": query}, headers=sent)
                assert (fast.status_code, fast.json()) == (slow.status_code, slow.json())
                assert fast.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
                for name in ("content-type", "www-authenticate", "set-cookie"):
                    assert fast.headers.get(name) == slow.headers.get(name), name
                # The compiled path's session check found no session (one statement), or
                # the token's signature was refused before any.
                assert len(statements) <= 1


# Generated selections: any fields, aliases, nesting and arguments of the compiled types.

TRADE_SCALARS = ["id", "userId", "currency", "side", "price", "amount", "createdAt", "__typename"]
USER_SCALARS = ["id", "name", "role", "registeredAt", "email", "__typename"]
DEGREE_SCALARS = ["id", "name", "createdAt", "__typename"]
pages = st.fixed_dictionaries(
    {}, optional={"limit": st.integers(0, 12), "offset": st.integers(0, 9)}
).map(lambda args: ", ".join(f"{k}: {v}" for k, v in args.items()))


def _arguments(arguments: str) -> str:
    return f"({arguments})" if arguments else ""


def selection(
    scalars: list[str], nested: st.SearchStrategy[str] | None = None
) -> st.SearchStrategy[str]:
    field = (
        st.sampled_from(scalars) if nested is None else st.one_of(st.sampled_from(scalars), nested)
    )
    aliased = st.tuples(st.sampled_from(["", "x: ", "y: "]), field).map("".join)
    return st.lists(aliased, min_size=1, max_size=5).map(lambda f: "{ " + " ".join(f) + " }")


def degree_selection() -> st.SearchStrategy[str]:
    return selection(DEGREE_SCALARS)


def user_selection(depth: int) -> st.SearchStrategy[str]:
    nested: list[st.SearchStrategy[str]] = [degree_selection().map(lambda s: f"degrees {s}")]
    if depth > 0:
        nested.append(
            st.tuples(pages, trade_selection(depth - 1)).map(
                lambda p: f"trades{_arguments(p[0])} {p[1]}"
            )
        )
    return selection(USER_SCALARS, st.one_of(nested))


def trade_selection(depth: int) -> st.SearchStrategy[str]:
    if depth == 0:
        return selection(TRADE_SCALARS)
    return selection(TRADE_SCALARS, user_selection(depth - 1).map(lambda s: f"user {s}"))


trade_filters = st.fixed_dictionaries(
    {},
    optional={
        "currency": st.sampled_from(['"BTC"', '"eth"', '" sol "', "null"]),
        "side": st.sampled_from(["BUY", "SELL", "null"]),
        "userId": st.integers(0, 12),
    },
).map(lambda args: ", ".join(f"{k}: {v}" for k, v in args.items()))
root_fields = st.one_of(
    st.tuples(st.integers(0, 12), user_selection(2)).map(lambda a: f"user(id: {a[0]}) {a[1]}"),
    st.tuples(pages, user_selection(2)).map(lambda a: f"users{_arguments(a[0])} {a[1]}"),
    st.tuples(st.integers(0, 80), trade_selection(2)).map(lambda a: f"trade(id: {a[0]}) {a[1]}"),
    st.tuples(
        st.tuples(pages, trade_filters).map(lambda p: ", ".join(filter(None, p))),
        trade_selection(2),
    ).map(lambda a: f"trades{_arguments(a[0])} {a[1]}"),
    user_selection(1).map(lambda s: f"me {s}"),
)
queries = st.lists(
    st.tuples(st.sampled_from(["", "r1: ", "r2: "]), root_fields).map("".join),
    min_size=1,
    max_size=3,
).map(lambda fields: "{ " + " ".join(fields) + " }")


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(query=queries)
async def test_generated_queries_answer_the_same(pair: Pair, query: str) -> None:
    await compare(pair, query, compiled=None)


async def test_headers_answer_the_same(pair: Pair) -> None:
    """Media type by Accept (GraphQL over HTTP), CORS for an allowed origin, a request id."""
    body = {"query": "{ me { id } }"}
    for accept in ("application/graphql-response+json", "application/json", "*/*"):
        headers = {
            "Authorization": f"Bearer {pair.tokens['trader']}",
            "Accept": accept,
            "Origin": "http://app.example",
        }
        with recorded_statements(pair.compiled_services.reader) as statements:
            fast = await pair.compiled.post("/graphql", json=body, headers=headers)
        assert statements  # answered by the compiled path
        slow = await pair.general.post("/graphql", json=body, headers=headers)
        assert fast.status_code == slow.status_code == 200
        assert fast.json() == slow.json()
        for name in ("content-type", "access-control-allow-origin", "vary"):
            assert fast.headers.get(name) == slow.headers.get(name), name
        assert len(fast.headers["x-request-id"]) == 32
