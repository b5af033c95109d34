"""Argument values as GraphQL coerces them, the same on both paths.

A variable's default applies only when the request does not send the variable, and an
argument's default only when it gets no value at all. An explicit null is passed on as null: a
filter given null filters nothing, and `limit: Int! = 10` given null is a BAD_USER_INPUT error,
never the default.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import insert

from db.models import Trade
from services import Services
from settings import Settings
from tests.utils.accounts import Account
from tests.utils.api import Api
from tests.utils.graphql import insert_users, only_error
from tests.utils.settings import make_settings

# Besides the admin and Alice.
USERS = 12


@pytest.fixture
def settings(database_url: str, path: str) -> Settings:
    return make_settings(database_url, graphql_compiled_queries=path == "compiled")


# (document, variables, how many users it answers): defaults apply when nothing is sent.
DEFAULTS: list[tuple[str, dict[str, Any], int]] = [
    ("query($l: Int) { users(limit: $l) { id } }", {}, 10),  # the argument's default
    ("query($l: Int = 5) { users(limit: $l) { id } }", {}, 5),
    ("query($l: Int! = 5) { users(limit: $l) { id } }", {}, 5),
    ("query($l: Int = 5) { users(limit: $l) { id } }", {"l": 2}, 2),
    ("query($o: Int) { users(limit: 100, offset: $o) { id } }", {}, USERS + 2),
    ("query($o: Int = 3) { users(limit: 100, offset: $o) { id } }", {}, USERS - 1),
]
# (document sent with {"v": null}, the argument, the data, the error's path).
NULLS: list[tuple[str, str, Any, list[str]]] = [
    ("query($v: Int) { users(limit: $v) { id } }", "limit", None, ["users"]),
    ("query($v: Int = 5) { users(limit: $v) { id } }", "limit", None, ["users"]),
    ("query($v: Int) { users(offset: $v) { id } }", "offset", None, ["users"]),
    (
        "query($v: Int = 5) { me { id trades(offset: $v) { id } } }",
        "offset",
        {"me": None},
        ["me", "trades"],
    ),
]


async def test_defaults_apply_when_nothing_is_sent(
    api: Api, services: Services, alice: Account
) -> None:
    await insert_users(services, USERS)
    for query, variables, count in DEFAULTS:
        body = await api.gql(query, variables, token=alice.token)
        assert "errors" not in body, body
        assert len(body["data"]["users"]) == count, (query, variables)


async def test_an_explicit_null_page_argument_is_bad_input(api: Api, alice: Account) -> None:
    for query, argument, data, at in NULLS:
        body = await api.gql(query, {"v": None}, token=alice.token)
        assert body["data"] == data, query
        error = only_error(body)
        assert error["extensions"]["code"] == "BAD_USER_INPUT", query
        assert error["path"] == at
        assert f"Argument '{argument}'" in error["message"]
        assert "not to be None" in error["message"]


async def test_an_explicit_null_filter_filters_nothing(
    api: Api, services: Services, alice: Account
) -> None:
    async with services.sessions.begin() as session:
        await session.execute(
            insert(Trade),
            [
                {"user_id": alice.id, "currency": c, "side": "buy", "price": 1, "amount": 1}
                for c in ("BTC", "ETH", "ETH")
            ],
        )
    query = 'query($c: String = "ETH") { trades(currency: $c) { currency } }'
    omitted = await api.gql(query, {}, token=alice.token)
    assert [t["currency"] for t in omitted["data"]["trades"]] == ["ETH", "ETH"]
    null = await api.gql(query, {"c": None}, token=alice.token)
    assert sorted(t["currency"] for t in null["data"]["trades"]) == ["BTC", "ETH", "ETH"]
