"""Bad input is rejected with a precise BAD_USER_INPUT error, and nothing is written."""

from __future__ import annotations

from typing import Any

import pytest

from db.models import Trade
from services import Services
from tests.utils.accounts import Account
from tests.utils.api import Api
from tests.utils.graphql import (
    CHANGE_USER_NAME,
    add_trades,
    count_rows,
    error_code,
    only_error,
    trade,
    user_name,
)

VARIABLE_ERROR_CODES = {"BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"}

# A list field with limit/offset arguments, as a document taking $limit and $offset.
PAGED_FIELDS = {
    "users": "query($limit: Int!, $offset: Int!) { users(limit: $limit, offset: $offset) { id } }",
    "trades": (
        "query($limit: Int!, $offset: Int!) { trades(limit: $limit, offset: $offset) { id } }"
    ),
    "User.trades": (
        "query($limit: Int!, $offset: Int!) "
        "{ me { id trades(limit: $limit, offset: $offset) { id } } }"
    ),
}


# --- limit and offset ------------------------------------------------------------------------


@pytest.mark.parametrize("field", list(PAGED_FIELDS))
@pytest.mark.parametrize(
    ("argument", "limit", "offset"),
    [("limit", -1, 0), ("limit", 101, 0), ("offset", 10, -1)],
)
async def test_page_arguments_out_of_range(
    api: Api, alice: Account, field: str, argument: str, limit: int, offset: int
) -> None:
    body = await api.gql(PAGED_FIELDS[field], {"limit": limit, "offset": offset}, alice.token)
    error = only_error(body)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["argument"] == argument
    assert argument in error["message"]


@pytest.mark.parametrize("field", list(PAGED_FIELDS))
@pytest.mark.parametrize("limit", [0, 100])
async def test_page_limits_at_the_bounds_are_accepted(
    api: Api, alice: Account, field: str, limit: int
) -> None:
    body = await api.gql(PAGED_FIELDS[field], {"limit": limit, "offset": 0}, alice.token)
    assert "errors" not in body, body
    if field == "users":
        assert len(body["data"]["users"]) == (0 if limit == 0 else 2)  # the admin and alice
    elif field == "trades":
        assert body["data"]["trades"] == []
    else:
        assert body["data"]["me"] == {"id": alice.id, "trades": []}


# --- addTrades -------------------------------------------------------------------------------


def batch_with(bad: dict[str, Any], index: int = 2, size: int = 4) -> list[dict[str, Any]]:
    """`size` valid trades, with trade `index` changed by `bad`."""
    trades = [trade("ETH", "SELL", "10", "1") for _ in range(size)]
    trades[index] = {**trades[index], **bad}
    return trades


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("price", "-1"),
        ("price", "-0.00000001"),
        ("amount", "-5"),
        ("currency", "B"),
        ("currency", "toolongcurrency1"),
        ("currency", "B-C"),
        ("price", "0.123456789"),
        ("amount", "0.123456789"),
        ("price", "1234567890123.12345678"),  # 21 digits: beyond NUMERIC(20, 8)
    ],
)
async def test_invalid_trade_rejects_the_whole_batch(
    api: Api, services: Services, alice: Account, field: str, value: str
) -> None:
    body = await add_trades(api, alice.token, batch_with({field: value}))
    assert body["data"] is None
    error = only_error(body)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["argument"] == "trades"
    assert f"trades[2].{field}" in error["message"]
    problems = error["extensions"]["errors"]
    assert [(p["index"], p["field"]) for p in problems] == [(2, field)]
    assert problems[0]["message"]
    assert await count_rows(services, Trade) == 0


async def test_every_invalid_trade_of_a_batch_is_reported(
    api: Api, services: Services, alice: Account
) -> None:
    trades = batch_with({"price": "-1"}, index=1)
    trades[3] = {**trades[3], "currency": "x"}
    error = only_error(await add_trades(api, alice.token, trades))
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    problems = error["extensions"]["errors"]
    assert [(p["index"], p["field"]) for p in problems] == [(1, "price"), (3, "currency")]
    assert await count_rows(services, Trade) == 0


@pytest.mark.parametrize("value", ["abc", "", "1.2.3", "12,5", "0x10"])
async def test_non_numeric_decimal_is_rejected(
    api: Api, services: Services, alice: Account, value: str
) -> None:
    body = await add_trades(api, alice.token, batch_with({"price": value}))
    assert body.get("data") is None
    assert error_code(body) in VARIABLE_ERROR_CODES
    assert await count_rows(services, Trade) == 0


async def test_non_numeric_decimal_literal_is_rejected(
    api: Api, services: Services, alice: Account
) -> None:
    query = """
    mutation {
      addTrades(trades: [{currency: "BTC", side: BUY, price: "abc", amount: "1"}]) { id }
    }
    """
    body = await api.gql(query, token=alice.token)
    assert body.get("data") is None
    assert error_code(body) in VARIABLE_ERROR_CODES
    assert await count_rows(services, Trade) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("price", "NaN"),
        ("amount", "NaN"),
        ("price", "Infinity"),
        ("amount", "-Infinity"),
        ("price", "inf"),
        ("amount", "sNaN"),
    ],
)
async def test_nan_and_infinity_are_rejected(
    api: Api, services: Services, alice: Account, field: str, value: str
) -> None:
    body = await add_trades(api, alice.token, batch_with({field: value}))
    assert body.get("data") is None
    assert error_code(body) in VARIABLE_ERROR_CODES
    assert await count_rows(services, Trade) == 0


@pytest.mark.parametrize("side", ["HOLD", "buy", ""])
async def test_unknown_side_is_rejected(
    api: Api, services: Services, alice: Account, side: str
) -> None:
    body = await add_trades(api, alice.token, batch_with({"side": side}))
    assert body.get("data") is None
    assert error_code(body) in VARIABLE_ERROR_CODES
    assert await count_rows(services, Trade) == 0


async def test_unknown_side_literal_is_a_validation_error(
    api: Api, services: Services, alice: Account
) -> None:
    query = """
    mutation {
      addTrades(trades: [{currency: "BTC", side: HOLD, price: "1", amount: "1"}]) { id }
    }
    """
    body = await api.gql(query, token=alice.token)
    assert error_code(body) == "GRAPHQL_VALIDATION_FAILED"
    assert await count_rows(services, Trade) == 0


async def test_trade_for_unknown_user_is_rejected(
    api: Api, services: Services, admin: Account
) -> None:
    """An admin may add trades for others, but only for users that exist."""
    trades = [trade(user_id=admin.id), trade(user_id=999999)]
    error = only_error(await add_trades(api, admin.token, trades))
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "trades[1].userId" in error["message"]
    assert await count_rows(services, Trade) == 0


@pytest.mark.parametrize("key", ["", "k" * 256])
async def test_invalid_idempotency_key_is_rejected(
    api: Api, services: Services, alice: Account, key: str
) -> None:
    error = only_error(await add_trades(api, alice.token, [trade()], key=key))
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["argument"] == "idempotencyKey"
    assert await count_rows(services, Trade) == 0


async def test_longest_idempotency_key_is_accepted(
    api: Api, services: Services, alice: Account
) -> None:
    body = await add_trades(api, alice.token, [trade()], key="k" * 255)
    assert "errors" not in body, body
    assert await count_rows(services, Trade) == 1


async def test_too_many_trades_in_one_batch(api: Api, services: Services, alice: Account) -> None:
    error = only_error(await add_trades(api, alice.token, [trade()] * 1001))
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["argument"] == "trades"
    assert await count_rows(services, Trade) == 0


# --- changeUserName --------------------------------------------------------------------------


@pytest.mark.parametrize("new_name", ["", "   ", "x" * 101])
async def test_invalid_new_name_is_rejected(api: Api, alice: Account, new_name: str) -> None:
    body = await api.gql(
        CHANGE_USER_NAME, {"userId": alice.id, "newName": new_name}, token=alice.token
    )
    error = only_error(body)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["argument"] == "newName"
    assert "newName" in error["message"]
    assert await user_name(api, alice.token, alice.id) == "Alice"


# --- documents that are not valid GraphQL ----------------------------------------------------


async def test_syntax_error_is_a_parse_failure(api: Api, alice: Account) -> None:
    body = await api.gql("{ me { id }", token=alice.token)
    assert body.get("data") is None
    assert error_code(body) == "GRAPHQL_PARSE_FAILED"


async def test_unknown_field_is_a_validation_failure(api: Api, alice: Account) -> None:
    body = await api.gql("{ me { id password } }", token=alice.token)
    assert body.get("data") is None
    assert error_code(body) == "GRAPHQL_VALIDATION_FAILED"


async def test_missing_required_argument_is_a_validation_failure(api: Api, alice: Account) -> None:
    body = await api.gql("{ user { id } }", token=alice.token)
    assert error_code(body) == "GRAPHQL_VALIDATION_FAILED"
