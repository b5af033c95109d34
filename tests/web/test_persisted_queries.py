"""Apollo's automatic persisted queries as its link speaks them, over POST and GET: a hash the
server does not know is PersistedQueryNotFound, the document then sent is checked against its
hash, stored and run, and the hash alone runs it from then on; on both paths, in-process and
in Redis, bounded; GET answers cacheable when they are everyone's."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest
from pydantic import ValidationError

import schema.documents as documents_module
from main import create_app
from settings import Settings
from startup import StartupProblem, exit_on_problem
from tests.utils.api import Api
from tests.utils.app import process_factory, serve
from tests.utils.settings import make_settings
from tests.utils.statements import answered_by

RECENT = "{ trades(limit: 3) { id price } }"
# What an anonymous request may read: the answer is everyone's.
PUBLIC = "{ me { name } }"
ADD = "mutation ($trades: [TradeInput!]!) { addTrades(trades: $trades) { id } }"
TRADE = {"currency": "BTC", "side": "BUY", "price": "64000", "amount": "0.01"}


def sha(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def persisted(document: str, *, with_query: bool = False, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha(document)}},
        **extra,
    }
    if with_query:
        body["query"] = document
    return body


def get_params(document: str, **extra: str) -> dict[str, str]:
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha(document)}}
    return {"extensions": json.dumps(extensions), **extra}


def code(response: httpx.Response) -> str:
    errors = response.json()["errors"]
    assert len(errors) == 1, errors
    result: str = errors[0]["extensions"]["code"]
    return result


@pytest.fixture
async def auth(api: Api) -> dict[str, str]:
    """A trader's Authorization header; the trader has added three trades."""
    _, token = await api.signup("pq-trader@example.com")
    await api.data(ADD, token, trades=[TRADE] * 3)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def client_with(database_url: str) -> AsyncIterator[Any]:
    """A client of an app with these settings (over the test's database)."""
    apps: list[Any] = []

    async def start(**overrides: Any) -> httpx.AsyncClient:
        context = serve(make_settings(database_url, **overrides))
        apps.append(context)
        client, _ = await context.__aenter__()
        return client

    yield start
    for context in reversed(apps):
        await context.__aexit__(None, None, None)


async def test_a_hash_is_missed_then_registered_with_its_document_then_run_alone(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    missed = await client.post("/graphql", json=persisted(RECENT), headers=auth)
    # As Apollo Server: 200, so that the link reads the code and sends the document.
    assert missed.status_code == 200
    assert missed.json() == {
        "errors": [
            {
                "message": "PersistedQueryNotFound",
                "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
            }
        ]
    }
    assert missed.headers["cache-control"] == "no-store"
    registered = await client.post(
        "/graphql", json=persisted(RECENT, with_query=True), headers=auth
    )
    assert registered.status_code == 200
    expected = (await client.post("/graphql", json={"query": RECENT}, headers=auth)).json()
    assert registered.json() == expected
    assert "errors" not in expected and len(expected["data"]["trades"]) == 3
    hit = await client.post("/graphql", json=persisted(RECENT), headers=auth)
    assert hit.json() == expected


async def test_variables_and_operation_name_travel_with_the_hash(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    document = "query Two($n: Int!) { trades(limit: $n) { id } } query One { me { name } }"
    extra: dict[str, Any] = {"variables": {"n": 2}, "operationName": "Two"}
    await client.post("/graphql", json=persisted(document, with_query=True, **extra), headers=auth)
    hit = await client.post("/graphql", json=persisted(document, **extra), headers=auth)
    assert len(hit.json()["data"]["trades"]) == 2


async def test_a_document_that_is_not_its_hash_is_refused_and_not_stored(
    client: httpx.AsyncClient,
) -> None:
    body = persisted(RECENT)
    body["query"] = PUBLIC
    refused = await client.post("/graphql", json=body)
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["message"] == "provided sha does not match query"
    assert code(refused) == "PERSISTED_QUERY_HASH_MISMATCH"
    assert code(await client.post("/graphql", json=persisted(RECENT))) == (
        "PERSISTED_QUERY_NOT_FOUND"
    )


@pytest.mark.parametrize(
    "persisted_query",
    [{"version": 2, "sha256Hash": sha(RECENT)}, {"sha256Hash": sha(RECENT)}, "v1", {"version": 1}],
)
async def test_a_malformed_persisted_query_is_a_bad_request(
    client: httpx.AsyncClient, persisted_query: object
) -> None:
    body = {"extensions": {"persistedQuery": persisted_query}}
    refused = await client.post("/graphql", json=body)
    assert refused.status_code == 400
    assert code(refused) == "BAD_REQUEST"


async def test_documents_beyond_the_limits_or_invalid_are_refused_and_not_stored(
    client_with: Any,
) -> None:
    """The store holds only what could run: it is no way around the document limits."""
    client = await client_with(graphql_max_document_bytes=200)
    large = PUBLIC + " " * 200
    invalid = "{ me { nonsense } }"
    for document, expected in [
        (large, "GRAPHQL_PARSE_FAILED"),
        (invalid, "GRAPHQL_VALIDATION_FAILED"),
    ]:
        answer = await client.post("/graphql", json=persisted(document, with_query=True))
        assert code(answer) == expected
        missed = await client.post("/graphql", json=persisted(document))
        assert code(missed) == "PERSISTED_QUERY_NOT_FOUND"


async def test_turned_off_a_hash_is_persisted_query_not_supported(client_with: Any) -> None:
    client = await client_with(persisted_queries="off")
    for body in (persisted(PUBLIC), persisted(PUBLIC, with_query=True)):
        answer = await client.post("/graphql", json=body)
        assert answer.status_code == 200
        assert answer.json()["errors"][0]["message"] == "PersistedQueryNotSupported"
        assert code(answer) == "PERSISTED_QUERY_NOT_SUPPORTED"
    answer = await client.post("/graphql", json={"query": PUBLIC})
    assert answer.json() == {"data": {"me": None}}


async def test_a_persisted_hit_takes_the_compiled_path_as_its_document_does(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    with answered_by() as paths:
        full = await client.post("/graphql", json={"query": RECENT}, headers=auth)
        await client.post("/graphql", json=persisted(RECENT, with_query=True), headers=auth)
        hit = await client.post("/graphql", json=persisted(RECENT), headers=auth)
        by_get = await client.get("/graphql", params=get_params(RECENT), headers=auth)
    assert paths == [True, True, True, True]
    assert hit.json() == by_get.json() == full.json()
    assert by_get.headers["cache-control"] == "private, no-store"


# --- GET --------------------------------------------------------------------------------------


async def test_get_misses_then_hits_with_cache_headers_for_a_cdn(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    missed = await client.get("/graphql", params=get_params(PUBLIC))
    assert missed.status_code == 200
    assert code(missed) == "PERSISTED_QUERY_NOT_FOUND"
    assert missed.headers["cache-control"] == "no-store"
    await client.post("/graphql", json=persisted(PUBLIC, with_query=True))
    hit = await client.get("/graphql", params=get_params(PUBLIC))
    assert hit.status_code == 200
    assert hit.json() == {"data": {"me": None}}
    max_age = settings.persisted_queries_max_age_seconds
    assert hit.headers["cache-control"] == f"public, max-age={max_age}"
    # A cache must not give this anonymous answer to a request with credentials.
    vary = {name.strip() for name in hit.headers["vary"].split(",")}
    assert {"Accept", "Authorization", "Cookie"} <= vary


async def test_get_answers_for_a_viewer_are_private_and_errors_never_cached(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    await client.post("/graphql", json=persisted(RECENT, with_query=True), headers=auth)
    bearer = await client.get("/graphql", params=get_params(RECENT), headers=auth)
    assert len(bearer.json()["data"]["trades"]) == 3
    assert bearer.headers["cache-control"] == "private, no-store"
    assert "Authorization" in bearer.headers["vary"]
    token = auth["Authorization"].removeprefix("Bearer ")
    cookie = await client.get(
        "/graphql",
        params=get_params(RECENT),
        headers={"Cookie": f"access_token={token}", "apollo-require-preflight": "true"},
    )
    assert cookie.json() == bearer.json()
    assert cookie.headers["cache-control"] == "private, no-store"
    # Anonymous, and refused: an error is nobody's to cache.
    anonymous = await client.get("/graphql", params=get_params(RECENT))
    assert code(anonymous) == "UNAUTHENTICATED"
    assert anonymous.headers["cache-control"] == "no-store"


async def test_a_persisted_mutation_is_never_run_over_get(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    variables = {"trades": [TRADE]}
    added = await client.post(
        "/graphql", json=persisted(ADD, with_query=True, variables=variables), headers=auth
    )
    assert "errors" not in added.json(), added.json()
    params = get_params(ADD, variables=json.dumps(variables))
    refused = await client.get("/graphql", params=params, headers=auth)
    assert refused.status_code == 405
    assert refused.headers["cache-control"] == "no-store"
    mine = "{ me { trades(limit: 10) { id } } }"
    trades = (await client.post("/graphql", json={"query": mine}, headers=auth)).json()
    assert len(trades["data"]["me"]["trades"]) == 4  # the fixture's three, and the POST's


async def test_a_cross_site_get_with_the_cookie_and_only_a_hash_is_refused(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    """A page on another site can make the browser send a GET with the cookie: resolved to its
    document before the view and the compiled path, the hash is held to the CSRF rule
    (web/csrf.py) as a GET with `query` is."""
    await client.post("/graphql", json=persisted(RECENT, with_query=True), headers=auth)
    token = auth["Authorization"].removeprefix("Bearer ")
    cookie = {"Cookie": f"access_token={token}"}
    refused = await client.get("/graphql", params=get_params(RECENT), headers=cookie)
    assert refused.status_code == 400
    assert "Cross-Site Request Forgery" in refused.text


# --- storage ----------------------------------------------------------------------------------


async def test_one_process_registers_and_another_hits_through_redis(
    database_url: str, redis_url: str
) -> None:
    process = process_factory(make_settings(database_url, redis_url=redis_url))
    async with process() as (one, _), process() as (two, _):
        await one.client.post("/graphql", json=persisted(PUBLIC, with_query=True))
        hit = await two.client.post("/graphql", json=persisted(PUBLIC))
        assert hit.json() == {"data": {"me": None}}


async def test_the_store_is_bounded_by_bytes_the_oldest_forgotten_first(
    client_with: Any,
) -> None:
    await _check_the_bound(await client_with(persisted_queries_max_bytes=1_000))


async def test_the_redis_store_is_bounded_by_bytes_the_oldest_forgotten_first(
    client_with: Any, redis_url: str
) -> None:
    await _check_the_bound(
        await client_with(persisted_queries_max_bytes=1_000, redis_url=redis_url)
    )


async def _check_the_bound(client: httpx.AsyncClient) -> None:
    documents = [f"query Q{n} {{ me {{ name }} }}{' ' * 300}" for n in range(4)]
    for document in documents:
        answer = await client.post("/graphql", json=persisted(document, with_query=True))
        assert answer.json() == {"data": {"me": None}}
    found = [
        "errors" not in (await client.post("/graphql", json=persisted(document))).json()
        for document in documents
    ]
    # Each weighs ~400 bytes (key and document, and 100 more in-process): two fit.
    assert found == [False, False, True, True]


# --- registered operations only ---------------------------------------------------------------

REGISTERED = {
    "RecentTrades": "query RecentTrades { trades(limit: 3) { id price } }",
    "Me": "query Me { me { name } }",
}


def write_manifest(path: Path, operations: dict[str, str]) -> Path:
    path.write_text(
        json.dumps(
            {
                "format": "apollo-persisted-query-manifest",
                "version": 1,
                "operations": [
                    {"id": sha(body), "name": name, "type": "query", "body": body}
                    for name, body in operations.items()
                ],
            }
        )
    )
    return path


@pytest.fixture
async def registered_client(client_with: Any, tmp_path: Path) -> httpx.AsyncClient:
    manifest = write_manifest(tmp_path / "manifest.json", REGISTERED)
    client: httpx.AsyncClient = await client_with(
        persisted_queries="registered", persisted_query_manifest=manifest
    )
    return client


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The documents parsed while the test runs (graphql-core's parse, as the app calls it)."""
    parsed: list[str] = []

    def counting_parse(source: str, **options: Any) -> Any:
        parsed.append(source)
        return graphql.parse(source, **options)

    monkeypatch.setattr(documents_module, "parse", counting_parse)
    return parsed


async def test_registered_operations_run_by_id_or_by_their_body(
    registered_client: httpx.AsyncClient,
) -> None:
    client = registered_client
    me = REGISTERED["Me"]
    expected = {"data": {"me": None}}
    assert (await client.post("/graphql", json=persisted(me))).json() == expected
    assert (await client.get("/graphql", params=get_params(me))).json() == expected
    assert (await client.post("/graphql", json={"query": me})).json() == expected
    assert (await client.get("/graphql", params={"query": me})).json() == expected


async def test_anything_unregistered_is_refused_unparsed(
    registered_client: httpx.AsyncClient, parses: list[str]
) -> None:
    client = registered_client
    # Within every limit, but a parse of it would cost: tens of thousands of tokens.
    huge = "{ " + "me { name } " * 5_000 + "}"
    unknown_id = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha(huge)}}}
    # httpx refuses URLs over 64 kB: a smaller one over GET.
    large = "{ " + "me { name } " * 1_000 + "}"
    requests: list[Callable[[], Awaitable[httpx.Response]]] = [
        lambda: client.post("/graphql", json={"query": "{ me { name } }"}),
        lambda: client.post("/graphql", json={"query": huge}),
        lambda: client.post("/graphql", json=unknown_id),
        lambda: client.post("/graphql", json={**unknown_id, "query": huge}),
        lambda: client.get("/graphql", params={"query": large}),
        lambda: client.get("/graphql", params=get_params(large)),
        # Whichever of a repeated parameter the view would read.
        lambda: client.get("/graphql", params=[("query", large), ("query", REGISTERED["Me"])]),
    ]
    for request in requests:
        refused = await request()
        assert refused.status_code == 400
        assert code(refused) == "PERSISTED_QUERY_NOT_IN_LIST"
        assert refused.headers["cache-control"] == "no-store"
    assert parses == []
    # A registered id with another document than its own is no way in either.
    body = persisted(REGISTERED["Me"])
    body["query"] = huge
    assert code(await client.post("/graphql", json=body)) == "PERSISTED_QUERY_HASH_MISMATCH"
    assert parses == []
    # What is registered is parsed, once, when it first runs.
    await client.post("/graphql", json=persisted(REGISTERED["RecentTrades"]))
    assert parses == [REGISTERED["RecentTrades"]]


async def test_registered_mode_stores_nothing_clients_send(
    registered_client: httpx.AsyncClient,
) -> None:
    document = "{ me { name } }"
    refused = await registered_client.post("/graphql", json=persisted(document, with_query=True))
    assert code(refused) == "PERSISTED_QUERY_NOT_IN_LIST"
    again = await registered_client.post("/graphql", json=persisted(document))
    assert code(again) == "PERSISTED_QUERY_NOT_IN_LIST"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "cannot read it"),
        ("{", "not JSON"),
        ('{"format": "something else"}', "not a persisted query manifest"),
        ('{"format": "apollo-persisted-query-manifest", "version": 2}', "version 2"),
        (
            '{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{}]}',
            "operation 0 must have",
        ),
    ],
)
def test_a_bad_manifest_stops_start_up_in_one_line(
    tmp_path: Path, content: str | None, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "manifest.json"
    if content is not None:
        path.write_text(content)
    settings = make_settings(
        "sqlite+aiosqlite:///unused.db",
        persisted_queries="registered",
        persisted_query_manifest=path,
    )
    with pytest.raises(SystemExit) as exited:
        exit_on_problem(lambda: create_app(settings))
    line = str(exited.value.code)
    assert line.startswith(f"error: PERSISTED_QUERY_MANIFEST={path}: ")
    assert says in line
    assert "generate-persisted-query-manifest" in line


def test_a_registered_body_beyond_the_document_limit_stops_start_up(tmp_path: Path) -> None:
    path = write_manifest(tmp_path / "manifest.json", {"Big": "{ me { name } }" + " " * 100})
    settings = make_settings(
        "sqlite+aiosqlite:///unused.db",
        persisted_queries="registered",
        persisted_query_manifest=path,
        graphql_max_document_bytes=50,
    )
    with pytest.raises(StartupProblem, match="larger than GRAPHQL_MAX_DOCUMENT_BYTES"):
        create_app(settings)


def test_registered_mode_needs_a_manifest() -> None:
    with pytest.raises(ValidationError, match="PERSISTED_QUERY_MANIFEST"):
        make_settings("sqlite+aiosqlite:///unused.db", persisted_queries="registered")
