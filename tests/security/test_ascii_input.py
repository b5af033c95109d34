"""Currency codes and decimals are ASCII only, against a live server: `"BTC\u0131".upper()` is
"BTCI", and Decimal() reads "1_000" as 1000 and Arabic-Indic "\u0663" as 3; all are refused with
BAD_USER_INPUT (as variables) or a validation error (as literals), and nothing is stored."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.utils.live import ADD_TRADES, Account, Live, start_live

TRADES = "{ me { trades { id currency price } } }"
FILTERED = "query($c: String) { trades(currency: $c) { id } }"


@pytest.fixture(scope="module")
def live(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    # An account per test, all from this one address.
    yield from start_live(
        sqlite_template, tmp_path_factory.mktemp("ascii"), register_max_per_address="100"
    )


@pytest.fixture
def trader(live: Live) -> Account:
    """An account of its own per test: what one test stored must not show in another."""
    return live.sign_up(f"{uuid.uuid4().hex}@example.com")


def trade(**changes: str) -> dict[str, Any]:
    return {"currency": "BTC", "side": "BUY", "price": "1", "amount": "1", **changes}


def refused(body: dict[str, Any], code: str = "BAD_USER_INPUT") -> None:
    assert body.get("data") in (None, {"addTrades": None}), body
    assert body["errors"][0]["extensions"]["code"] == code, body


@pytest.mark.parametrize(
    "changes",
    [
        {"currency": "BTC\u0131"},  # dotless i: "BTCI" once upper-cased
        {"currency": "\uff22\uff34\uff23"},  # fullwidth BTC
        {"currency": "\u212aRW"},  # the Kelvin sign, K once lower- or upper-cased
        {"price": "1_000"},
        {"price": "\u0663"},  # Arabic-Indic three
        {"amount": "\u0661\u0660"},
        {"price": "\u00a01"},  # a non-breaking space
        {"price": "Infinity"},
    ],
    ids=[
        "dotless-i",
        "fullwidth",
        "kelvin",
        "underscore",
        "arabic-indic",
        "arabic-indic-10",
        "nbsp",
        "infinity",
    ],
)
def test_non_ascii_trades_are_refused(live: Live, trader: Account, changes: dict[str, str]) -> None:
    refused(live.gql(trader.token, ADD_TRADES, t=[trade(**changes)]))
    assert live.gql(trader.token, TRADES) == {"data": {"me": {"trades": []}}}


def test_literals_are_refused_too(live: Live, trader: Account) -> None:
    body = live.gql(
        trader.token,
        'mutation { addTrades(trades: [{currency: "BTC", side: BUY, price: "1_000", '
        'amount: "1"}]) { id } }',
    )
    refused(body, "GRAPHQL_VALIDATION_FAILED")


def test_the_currency_filter_is_ascii_only(live: Live, trader: Account) -> None:
    refused(live.gql(trader.token, FILTERED, c="btc\u0131"))


def test_plain_ascii_input_is_still_accepted(live: Live, trader: Account) -> None:
    for changes in (
        {"currency": " eth "},
        {"price": "1E-8"},
        {"price": " 101.5 "},
        {"price": ".5"},
    ):
        body = live.gql(trader.token, ADD_TRADES, t=[trade(**changes)])
        assert "errors" not in body, (changes, body)
    trades = live.gql(trader.token, TRADES)["data"]["me"]["trades"]
    currencies = {t["currency"] for t in trades}
    assert currencies == {"ETH", "BTC"}
