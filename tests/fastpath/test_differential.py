"""The compiled path and the general path answer every query with the same JSON.

Two apps on one database: one with compiled queries, one without (every request through
Strawberry's executor). Each query goes to both, as each viewer (anonymous, signed in by
bearer token or by the session cookie), and the parsed responses must be equal: data and
errors. The compiled app must also have answered the plain-data ones itself, in one statement,
or the comparison would prove nothing.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
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
from tests.utils.app import serve
from tests.utils.settings import ADMIN_EMAIL, ADMIN_PASSWORD, make_settings
from tests.utils.statements import answered_by, recorded_statements

pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")

USERS = 8
TRADES_PER_USER = 7
BASE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class Pair:
    compiled: httpx.AsyncClient
    general: httpx.AsyncClient
    compiled_services: Services
    viewers: dict[str, dict[str, str]]  # viewer name -> the headers that sign them in
    cached: bool
    database: str  # "sqlite" or "postgresql"

    def _repr_pretty_(self, printer: Any, _cycle: bool) -> None:
        """Hypothesis's report of a failing example: the query, not the clients and tokens."""
        printer.text(f"Pair(cached={self.cached})")


async def _seed(services: Services) -> None:
    """Users with awkward names, trades in every currency and side, whole and fractional
    seconds (isoformat drops a zero fraction), prices at the scale's edges, feed positions
    beyond GraphQL's Int (every trade has one: the feed's relay places trades without)."""
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
                    "seq": 2**33 + i * TRADES_PER_USER + n,
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
        await compiled.post(
            "/auth/register",
            json={"email": "me@example.com", "password": "trade-secret-1", "name": "Me"},
        )
        viewers: dict[str, dict[str, str]] = {"anonymous": {}}
        for viewer, email, password in (
            ("admin", ADMIN_EMAIL, ADMIN_PASSWORD),
            ("trader", "me@example.com", "trade-secret-1"),
        ):
            response = await compiled.post(
                "/auth/token", data={"username": email, "password": password}
            )
            viewers[viewer] = {"Authorization": f"Bearer {response.json()['access_token']}"}
        # A browser's session: its own sign-in, the cookie sent by hand (the jar is shared).
        login = await compiled.post(
            "/auth/login", data={"username": "me@example.com", "password": "trade-secret-1"}
        )
        compiled.cookies.clear()
        viewers["trader by cookie"] = {"Cookie": f"access_token={login.cookies['access_token']}"}
        yield Pair(
            compiled,
            general,
            services,
            viewers,
            cached=request.param == "cache on",
            database=database_url.partition(":")[0].partition("+")[0],
        )


async def _post(client: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str]) -> Any:
    response = await client.post("/graphql", json=body, headers=headers)
    return response.status_code, response.json()


async def compare(
    pair: Pair, query: str, variables: dict[str, Any] | None = None, *, compiled: bool | None
) -> None:
    """Same status and JSON from both apps for every viewer; `compiled`: whether the compiled
    app must have answered a signed-in viewer itself, in one statement (None: when it has no
    errors). Anonymous requests are always the general path's."""
    body: dict[str, Any] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    for viewer, headers in pair.viewers.items():
        with (
            recorded_statements(pair.compiled_services.reader) as statements,
            answered_by() as paths,
        ):
            fast = await _post(pair.compiled, body, headers)
        slow = await _post(pair.general, body, headers)
        assert fast == slow, f"{viewer}: {query} {variables}"
        if not headers:
            assert not statements, (viewer, query, statements)
            assert paths == [False], (viewer, query)
            continue
        if compiled is None:
            compiled = "errors" not in slow[1]
        assert paths == [compiled], (viewer, query)
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
    (
        "query($b: Int, $l: Int!) { trades(limit: $l, before: $b) { id }"
        " me { trades(before: $b) { id } } }",
        {"b": 30, "l": 4},
    ),
    ("query($skip: Boolean!) { me { id name @skip(if: $skip) } }", {"skip": True}),
]
# Requests the general path must answer: errors, refusals, things the compiler leaves alone.
GENERAL_QUERIES: list[tuple[str, dict[str, Any] | None]] = [
    ("{ users(limit: 1000) { id } }", None),
    ("{ users(offset: -1) { id } }", None),
    ('{ trades(currency: "bitcoin!") { id } }', None),
    ("{ trades(before: 0) { id } }", None),
    ("query($b: Int) { me { trades(before: $b) { id } } }", {"b": -1}),
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


# One of each shape the compiled path answers, every field of every compiled type among them:
# filters alone and combined, nesting both ways, fragments and aliases, rows that do not exist.
PLAIN_SHAPES: list[tuple[str, dict[str, Any] | None]] = [
    (
        "{ me { id name role registeredAt email degrees { id name createdAt }"
        " trades(limit: 3) { id seq } } }",
        None,
    ),
    (
        "{ user(id: 3) { id name role registeredAt email"
        " degrees { __typename id name createdAt } } }",
        None,
    ),
    (
        "{ trade(id: 5) { id userId currency side price amount createdAt seq"
        " user { id name email role } } }",
        None,
    ),
    (
        '{ trades(currency: "btc", side: BUY, userId: 3, limit: 4) { id currency side userId } }',
        None,
    ),
    (
        '{ trades(currency: "ETH", userId: 4) { id } t2: trades(side: SELL, userId: 5, offset: 1)'
        ' { id side } t3: trades(currency: "sol", side: BUY) { id } }',
        None,
    ),
    (
        "query($c: String, $s: Side, $u: Int, $l: Int!) {"
        " trades(currency: $c, side: $s, userId: $u, limit: $l) { id price amount } }",
        {"c": "sol", "s": "SELL", "u": 6, "l": 3},
    ),
    (
        "{ users(limit: 3, offset: 2) { id trades(limit: 2) { id user { id email"
        " trades(limit: 2) { id seq } } } } }",
        None,
    ),
    (
        "{ a: users(limit: 2) { ...U } b: user(id: 2) { ...U } me { ... on User { ...U } } }"
        " fragment U on User { __typename id name degrees { ...D } }"
        " fragment D on Degree { name createdAt }",
        None,
    ),
    ("query Named { __typename t: trades(limit: 2) { __typename id } }", None),
    # Keyset pages: alone, with every filter and an offset, nested under users and a user.
    (
        '{ a: trades(before: 40) { id } b: trades(before: 50, currency: "eth", side: BUY,'
        " userId: 4, limit: 2, offset: 1) { id side } c: trades(before: 1) { id } }",
        None,
    ),
    (
        "query($b: Int) { users(limit: 4, offset: 1) { id trades(limit: 2, offset: 1, before: $b)"
        " { id } } user(id: 5) { trades(before: $b) { id user { trades(before: $b) { id } } } }"
        " me { trades(before: null) { id } } }",
        {"b": 33},
    ),
    (
        "{ users(limit: 0) { id } trades(userId: 99999) { id } user(id: 99999) { id }"
        " trade(id: 99999) { id } }",
        None,
    ),
]


async def test_plain_data_shapes_are_compiled(pair: Pair) -> None:
    """Each shape is answered by the compiled path itself, not declined to Strawberry, for every
    viewer (a trader, an admin), the same as Strawberry answers it."""
    for query, variables in PLAIN_SHAPES:
        await compare(pair, query, variables, compiled=True)


async def test_deeper_than_sqlite_parses_answers_the_same(pair: Pair) -> None:
    """Six JSON objects deep, most of them lists: PostgreSQL's statement; on SQLite, whose
    parser overflows, the general path."""
    query = (
        "{ users(limit: 3, offset: 2) { id trades(limit: 2) { id user { id"
        " trades(limit: 2) { id user { name email } } } } } }"
    )
    await compare(pair, query, compiled=pair.database == "postgresql")


async def test_compiled_answers_are_compact_json(pair: Pair) -> None:
    """Byte for byte what a compact encoder writes for the same value: no spaces after `:` or
    `,` (PostgreSQL's json_build_object and json_agg would add them)."""
    for query, variables in PLAIN_SHAPES:
        with answered_by() as paths:
            response = await pair.compiled.post(
                "/graphql",
                json={"query": query, "variables": variables},
                headers=pair.viewers["admin"],
            )
        assert paths == [True], query
        compact = json.dumps(response.json(), separators=(",", ":"), ensure_ascii=False)
        assert response.content == compact.encode(), query


async def test_contract_queries_answer_the_same(pair: Pair) -> None:
    for query in CONTRACT_QUERIES[:-1]:
        await compare(pair, query, compiled=None)
    for query, variables in VARIABLE_QUERIES:
        await compare(pair, query, variables, compiled=True)
    operations = CONTRACT_QUERIES[-1]
    for name in ("Q", "R"):
        body = {"query": operations, "operationName": name}
        for headers in pair.viewers.values():
            fast = await _post(pair.compiled, body, headers)
            assert fast == await _post(pair.general, body, headers)
            assert "errors" not in fast[1] or not headers  # anonymous: UNAUTHENTICATED


async def test_errors_and_refusals_answer_the_same(pair: Pair) -> None:
    for query, variables in GENERAL_QUERIES:
        await compare(pair, query, variables, compiled=False)
    # No token, a forged one: the general path says UNAUTHENTICATED, the same way.
    body = {"query": "{ users { id } }"}
    admin = pair.viewers["admin"]["Authorization"]
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": admin[:-2]}):
        assert await _post(pair.compiled, body, headers) == await _post(pair.general, body, headers)


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


# Generated operations: any fields, aliases, nesting and arguments of the compiled types, beside
# `__typename`, `__schema` and `__type`; every argument spelled as a literal or as a variable.

TRADE_SCALARS = [
    "id",
    "userId",
    "currency",
    "side",
    "price",
    "amount",
    "createdAt",
    "seq",
    "__typename",
]
USER_SCALARS = ["id", "name", "role", "registeredAt", "email", "__typename"]
DEGREE_SCALARS = ["id", "name", "createdAt", "__typename"]
LIMITS = st.integers(0, 12)
OFFSETS = st.integers(0, 9)
IDS = st.integers(0, 12)
TRADE_IDS = st.integers(0, 80)
BEFORES = st.integers(0, 60)  # 0 names no trade: an error, which the general path answers
CURRENCIES = st.sampled_from(["BTC", "eth", " sol "])
SIDES = st.sampled_from(["BUY", "SELL"])
CONDITIONS = st.booleans()
TYPE_NAMES = st.sampled_from(["Trade", "User", "Degree", "Query", "Nope"])
ROOT_FIELDS = ["user", "users", "trade", "trades", "me"] * 2 + ["__typename", "__schema", "__type"]
SCHEMA_SELECTIONS = st.sampled_from(
    [
        "{ queryType { name } }",
        "{ __typename mutationType { name fields { name } } }",
        "{ types { name kind } }",
    ]
)


@dataclass(frozen=True)
class Spelling:
    """How an argument gets its value: a literal (the value or null), or a variable of a
    nullable or non-null type, with a default or not, that the request sends, sends as null
    or leaves out (GraphQL's CoerceVariableValues and CoerceArgumentValues, which the two
    paths must apply alike)."""

    sent: str  # "value", "null" or "left out"
    variable: bool = True
    non_null: bool = False
    default: bool = False


SPELLINGS = st.sampled_from(
    [Spelling("value", variable=False)] * 8
    + [Spelling("null", variable=False)]
    + [
        Spelling(sent, non_null=non_null, default=default)
        for non_null in (False, True)
        for default in (False, True)
        for sent in ("value", "null", "left out")
    ]
)


def _literal(type_name: str, value: Any) -> str:
    if value is None:
        return "null"
    if type_name == "Side":
        return str(value)
    return json.dumps(value)  # Int, String, Boolean


class Operation:
    """One generated operation: its fields, the variables it declares and those it sends;
    `depth` levels of lists and objects below each root field's own."""

    def __init__(self, draw: st.DrawFn, depth: int) -> None:
        self.draw = draw
        self.depth = depth
        self.definitions: list[str] = []
        self.variables: dict[str, Any] = {}

    def document(self, fields: list[str]) -> str:
        signature = f"query({', '.join(self.definitions)}) " if self.definitions else ""
        return signature + "{ " + " ".join(fields) + " }"

    def value(self, type_name: str, values: st.SearchStrategy[Any]) -> str:
        spelling = self.draw(SPELLINGS)
        value = self.draw(values) if spelling.sent == "value" else None
        if not spelling.variable:
            return _literal(type_name, value)
        name = f"v{len(self.definitions)}"
        definition = f"${name}: {type_name}{'!' if spelling.non_null else ''}"
        if spelling.default:
            definition += f" = {_literal(type_name, self.draw(values))}"
        self.definitions.append(definition)
        if spelling.sent != "left out":
            self.variables[name] = value
        return f"${name}"

    def arguments(self, optional: dict[str, tuple[str, st.SearchStrategy[Any]]]) -> str:
        given = [name for name in optional if self.draw(st.booleans())]
        spelled = [f"{name}: {self.value(*optional[name])}" for name in given]
        return f"({', '.join(spelled)})" if spelled else ""

    def selection(
        self, scalars: list[str], nested: dict[str, Callable[[], tuple[str, str]]]
    ) -> str:
        """Fields of an object: scalars, and nested fields as (name and arguments, selection)."""
        names = [*scalars, *nested]
        fields = []
        for _ in range(self.draw(st.integers(1, 5))):
            name = self.draw(st.sampled_from(names))
            alias = self.draw(st.sampled_from(["", "", "x: ", "y: "]))
            head, selection = nested[name]() if name in nested else (name, "")
            directive = ""
            if self.draw(st.integers(0, 5)) == 0:
                skip_or_include = self.draw(st.sampled_from(["skip", "include"]))
                directive = f" @{skip_or_include}(if: {self.value('Boolean', CONDITIONS)})"
            fields.append(f"{alias}{head}{directive} {selection}".rstrip())
        return "{ " + " ".join(fields) + " }"

    def page(self) -> dict[str, tuple[str, st.SearchStrategy[Any]]]:
        return {"limit": ("Int", LIMITS), "offset": ("Int", OFFSETS)}

    def trade_page(self) -> dict[str, tuple[str, st.SearchStrategy[Any]]]:
        return {**self.page(), "before": ("Int", BEFORES)}

    def degrees(self) -> tuple[str, str]:
        return "degrees", self.selection(DEGREE_SCALARS, {})

    def user(self, depth: int) -> str:
        nested = {"degrees": self.degrees}
        if depth > 0:
            nested["trades"] = lambda: (
                f"trades{self.arguments(self.trade_page())}",
                self.trade(depth - 1),
            )
        return self.selection(USER_SCALARS, nested)

    def trade(self, depth: int) -> str:
        if depth == 0:
            return self.selection(TRADE_SCALARS, {})
        return self.selection(TRADE_SCALARS, {"user": lambda: ("user", self.user(depth - 1))})

    def root_field(self) -> str:
        name = self.draw(st.sampled_from(ROOT_FIELDS))
        filters = {"currency": ("String", CURRENCIES), "side": ("Side", SIDES)}
        depth = self.depth
        match name:
            case "user":
                return f"user(id: {self.value('Int', IDS)}) {self.user(depth)}"
            case "users":
                return f"users{self.arguments(self.page())} {self.user(depth)}"
            case "trade":
                return f"trade(id: {self.value('Int', TRADE_IDS)}) {self.trade(depth)}"
            case "trades":
                arguments = {**self.trade_page(), **filters, "userId": ("Int", IDS)}
                return f"trades{self.arguments(arguments)} {self.trade(depth)}"
            case "me":
                return f"me {self.user(max(depth - 1, 1))}"
            case "__schema":
                return f"__schema {self.draw(SCHEMA_SELECTIONS)}"
            case "__type":
                name = self.value("String", TYPE_NAMES)
                return f"__type(name: {name}) {{ __typename name kind fields {{ name }} }}"
        return name


def operations(depth: int, root_fields: int) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    """Queries and the variables their requests send."""

    @st.composite
    def operation(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
        built = Operation(draw, depth)
        fields = [
            draw(st.sampled_from(["", "r1: ", "r2: "])) + built.root_field()
            for _ in range(draw(st.integers(1, root_fields)))
        ]
        return built.document(fields), built.variables

    return operation()


async def compare_generated(pair: Pair, operation: tuple[str, dict[str, Any]]) -> None:
    query, variables = operation
    # Introspection is always Strawberry's to answer.
    introspects = "__schema" in query or "__type(" in query
    await compare(pair, query, variables, compiled=False if introspects else None)


GENERATED = settings(
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@settings(GENERATED, max_examples=60)
@given(operation=operations(depth=2, root_fields=3))
async def test_generated_queries_answer_the_same(
    pair: Pair, operation: tuple[str, dict[str, Any]]
) -> None:
    await compare_generated(pair, operation)


@settings(GENERATED, max_examples=40)
@given(operation=operations(depth=0, root_fields=2))
async def test_generated_arguments_answer_the_same(
    pair: Pair, operation: tuple[str, dict[str, Any]]
) -> None:
    """Small selections, so that most examples are about how arguments get their values."""
    await compare_generated(pair, operation)


async def test_headers_answer_the_same(pair: Pair) -> None:
    """Media type by Accept (GraphQL over HTTP), CORS for an allowed origin, a request id."""
    body = {"query": "{ me { id } }"}
    for accept in ("application/graphql-response+json", "application/json", "*/*"):
        headers = {
            **pair.viewers["trader"],
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
