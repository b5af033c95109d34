"""JSON nested deeper than the decoder can follow is malformed input on every entry point: a
400, a GraphQL request error or a WebSocket closed with 4400, never a 500 or a dropped
connection; deeply nested GraphQL values are request errors too. Against a live server."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.security.live import cost_of
from tests.utils.live import Account, Live, start_live

DEEP = 5_000
# Around the interpreter's recursion limit (1,000), where the decoder starts to give up: depths
# that decode must still be answered, not fail further on.
NEAR_THE_LIMIT = range(900, 1_001, 10)
NESTED_TOO_DEEPLY = {"detail": "The JSON is nested too deeply", "code": "BAD_REQUEST", "errors": []}
MAX_CPU_SECONDS = 0.1  # per refused request
ADD_TRADES = "mutation($t: [TradeInput!]!) { addTrades(trades: $t) { id } }"


def arrays(depth: int) -> str:
    return "[" * depth + "]" * depth


def objects(depth: int, leaf: str = '"x"') -> str:
    return '{"a":' * depth + leaf + "}" * depth


@pytest.fixture(scope="module")
def live(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    yield from start_live(sqlite_template, tmp_path_factory.mktemp("deep-json"))


@pytest.fixture(scope="module")
def trader(live: Live) -> Account:
    return live.sign_up("deep@example.com")


def post(live: Live, body: str, token: str | None = None, path: str = "/graphql") -> httpx.Response:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    # A client of its own per request: a server that drops the connection must show as such.
    with live.http() as http:
        return http.post(path, content=body, headers=headers)


@pytest.fixture(autouse=True)
def no_tracebacks(live: Live) -> Iterator[None]:
    """Refused input is not an unexpected failure: the server logs no traceback for it."""
    logged = len(live.server.output())
    yield
    assert "Traceback" not in live.server.output()[logged:]


@pytest.mark.parametrize("signed_in", [True, False], ids=["signed-in", "anonymous"])
@pytest.mark.parametrize("member", ["variables", "extensions"])
def test_deep_graphql_body_is_a_400(
    live: Live, trader: Account, signed_in: bool, member: str
) -> None:
    body = f'{{"query": "{{ me {{ id }} }}", "{member}": {arrays(DEEP)}}}'
    with cost_of(live) as cost:
        for _ in range(10):
            response = post(live, body, trader.token if signed_in else None)
            assert response.status_code == 400, response.text
            assert response.json() == NESTED_TOO_DEEPLY
    assert cost.per(10) < MAX_CPU_SECONDS


@pytest.mark.parametrize("member", ["variables", "extensions"])
def test_deep_graphql_query_parameter_is_a_400(live: Live, trader: Account, member: str) -> None:
    with live.http() as http:
        response = http.get(
            "/graphql",
            # Deep enough, and short enough for a URL.
            params={"query": "{ __typename }", member: arrays(2_000)},
            headers={"authorization": f"Bearer {trader.token}"},
        )
    assert response.status_code == 400, response.text
    assert response.json() == NESTED_TOO_DEEPLY


def test_variables_near_the_recursion_limit_are_answered(live: Live, trader: Account) -> None:
    """The compiled path and the general one both see these (a signed-in query)."""
    for depth in NEAR_THE_LIMIT:
        for value in (arrays(depth), objects(depth)):
            body = (
                '{"query": "query($c: String) { trades(currency: $c) { id } }", '
                f'"variables": {{"c": {value}}}}}'
            )
            response = post(live, body, trader.token)
            if response.status_code == 400:
                assert response.json() == NESTED_TOO_DEEPLY
                continue
            assert response.status_code == 200, (depth, response.text)
            error = response.json()["errors"][0]
            assert error["extensions"]["code"] == "BAD_USER_INPUT", (depth, error)


def test_deep_input_objects_in_variables_are_bad_user_input(live: Live, trader: Account) -> None:
    for depth in (10, 150, 500):
        trade = f'{{"currency": {objects(depth)}, "side": "BUY", "price": "1", "amount": "1"}}'
        body = f'{{"query": "{ADD_TRADES}", "variables": {{"t": [{trade}]}}}}'
        response = post(live, body, trader.token)
        assert response.status_code == 200, response.text
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
        assert len(response.content) < 4_096  # the value is not echoed whole


@pytest.mark.parametrize(
    "literal",
    [lambda d: "[" * d + '"BTC"' + "]" * d, lambda d: "{a: " * d + '"BTC"' + "}" * d],
    ids=["lists", "input-objects"],
)
def test_deep_literals_in_the_document_are_request_errors(
    live: Live, trader: Account, literal: Callable[[int], str]
) -> None:
    for depth in (150, 1_000, 2_400):  # 2,400 levels stay within the 5,000-token limit
        query = f"{{ trades(currency: {literal(depth)}) {{ id }} }}"
        response = post(live, json.dumps({"query": query}), trader.token)
        assert response.status_code == 200, response.text
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] in {
            "GRAPHQL_PARSE_FAILED",
            "GRAPHQL_VALIDATION_FAILED",
        }, error


@pytest.mark.parametrize("value", [arrays(DEEP), objects(DEEP), objects(950)])
def test_deep_rest_body_is_a_400(live: Live, value: str) -> None:
    body = f'{{"email": {value}, "password": "trade-secret-1", "name": "x"}}'
    response = post(live, body, path="/auth/register")
    assert response.status_code in {400, 422}, response.text


def test_deep_websocket_message_closes_4400(live: Live, trader: Account) -> None:
    with live.socket() as ws:
        ws.init({"authToken": trader.token})
        ws.connection.send(f'{{"id": "1", "type": "subscribe", "payload": {objects(DEEP)}}}')
        assert ws.close_code() == 4400
    with live.socket() as ws:
        ws.connection.send(arrays(DEEP))  # before connection_init
        assert ws.close_code() == 4400
