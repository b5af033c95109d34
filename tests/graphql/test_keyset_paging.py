"""Keyset paging: `trades(before:)` and `User.trades(before:)` continue newest first from an id,
so trades added between two pages neither repeat a row nor hide one.

Every test runs on SQLite and PostgreSQL, answered by the compiled path and by the general one
(the `path` fixture), with the query cache on (the settings' default), so a cache key that left
out `before` would show as a wrong page.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from db.models import Trade
from services import Services
from settings import Settings
from tests.utils.accounts import Account
from tests.utils.api import Api
from tests.utils.graphql import added, only_error, trade
from tests.utils.settings import make_settings
from tests.utils.statements import answered_by

PAGE = 4
SEEDED = 30
CURRENCIES = ("BTC", "ETH", "SOL")
SIDES = ("BUY", "SELL")

TRADES_PAGE = """
query Page($limit: Int!, $before: Int, $currency: String, $side: Side, $userId: Int) {
  trades(limit: $limit, before: $before, currency: $currency, side: $side, userId: $userId) {
    id userId currency side
  }
}
"""
USER_TRADES_PAGE = """
query Page($limit: Int!, $before: Int, $id: Int!) {
  user(id: $id) { id trades(limit: $limit, before: $before) { id userId currency side } }
}
"""


@pytest.fixture
def settings(database_url: str, path: str) -> Settings:
    return make_settings(database_url, graphql_compiled_queries=path == "compiled")


def _batch(n: int, size: int = 3) -> list[dict[str, Any]]:
    """`size` trades cycling through currencies and sides, so every filter matches some."""
    return [
        trade(CURRENCIES[(n + i) % 3], SIDES[(n + i) // 3 % 2], "100", "1") for i in range(size)
    ]


async def _seed(api: Api, alice: Account, bob: Account) -> None:
    for n in range(SEEDED // 3):
        await added(api, (alice, bob)[n % 2].token, _batch(n))


@dataclass
class Writer:
    """Adds trades through `addTrades`, one call after another (so ids follow commit order),
    alternating between accounts, until stopped; pages wait on `arrived` for fresh trades."""

    api: Api
    accounts: tuple[Account, ...]
    committed: int = 0
    stopped: bool = False

    def __post_init__(self) -> None:
        self.progress = asyncio.Condition()

    async def run(self) -> None:
        for n, account in zip(itertools.count(), itertools.cycle(self.accounts), strict=False):
            if self.stopped:
                return
            await added(self.api, account.token, _batch(n))
            async with self.progress:
                self.committed += 1
                self.progress.notify_all()
            await asyncio.sleep(0)

    async def arrived(self) -> None:
        """Returns once a batch more than now has committed."""
        async with self.progress:
            seen = self.committed
            await self.progress.wait_for(lambda: self.committed > seen)


async def _walk(
    read: Callable[[int | None], Awaitable[list[dict[str, Any]]]], writer: Writer
) -> list[list[dict[str, Any]]]:
    """Pages read with `before` = the last id of the page before, until an empty one, while
    the writer runs, with at least one of its calls committed between every two pages."""
    adding = asyncio.create_task(writer.run())
    try:
        pages = [await read(None)]
        while pages[-1]:
            await writer.arrived()
            pages.append(await read(pages[-1][-1]["id"]))
    finally:
        writer.stopped = True
        await adding
    return pages


async def _all_trades(services: Services) -> list[dict[str, Any]]:
    """Every trade in the database, as the API names its fields."""
    async with services.sessions() as session:
        rows = await session.execute(
            select(Trade.id, Trade.user_id, Trade.currency, Trade.side).order_by(Trade.id)
        )
    return [
        {"id": r.id, "userId": r.user_id, "currency": r.currency, "side": r.side.upper()}
        for r in rows
    ]


def _matches(row: Mapping[str, Any], filters: Mapping[str, Any]) -> bool:
    wanted = {key: value.upper() if key == "currency" else value for key, value in filters.items()}
    return all(row[key] == value for key, value in wanted.items())


def _check_walk(
    pages: list[list[dict[str, Any]]], everything: list[dict[str, Any]], filters: Mapping[str, Any]
) -> None:
    """No duplicates and no gaps: the pages, joined, are exactly the trades matching the filters
    with an id up to the first page's first, newest first.

    Precisely: the writer commits one call at a time, so its ids follow commit order, and the
    trades committed after the first page was read all have larger ids than its first. So the
    trades with an id up to that first id, read from the database once the writer stopped, are
    exactly those that existed when the first page was read.
    """
    ids = [row["id"] for page in pages for row in page]
    assert ids, "the first page is empty: nothing was paged"
    first = ids[0]
    expected = [
        row for row in reversed(everything) if row["id"] <= first and _matches(row, filters)
    ]
    assert ids == [row["id"] for row in expected], (ids, [row["id"] for row in expected])
    assert [row for page in pages for row in page] == expected
    # Every page but the last two (short, then empty) is full: `limit` holds with `before`.
    assert all(len(page) == PAGE for page in pages[:-2])
    assert pages[-1] == []


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"currency": "btc"},
        {"userId": "bob"},
        {"currency": "ETH", "side": "SELL", "userId": "alice"},
    ],
    ids=["all", "currency", "user", "currency-side-user"],
)
async def test_paging_trades_with_before_while_trades_are_added(
    api: Api, services: Services, alice: Account, bob: Account, path: str, filters: dict[str, Any]
) -> None:
    await _seed(api, alice, bob)
    accounts = {"alice": alice.id, "bob": bob.id}
    filters = {k: accounts[v] if k == "userId" else v for k, v in filters.items()}

    async def read(before: int | None) -> list[dict[str, Any]]:
        data = await api.data(TRADES_PAGE, alice.token, limit=PAGE, before=before, **filters)
        page: list[dict[str, Any]] = data["trades"]
        return page

    writer = Writer(api, (alice, bob))
    with answered_by("Page") as paths:
        pages = await _walk(read, writer)
    assert writer.committed >= len(pages) - 1  # trades arrived between every two pages
    assert paths == [path == "compiled"] * len(pages)
    _check_walk(pages, await _all_trades(services), filters)


async def test_paging_a_users_trades_with_before_while_trades_are_added(
    api: Api, services: Services, alice: Account, bob: Account, path: str
) -> None:
    await _seed(api, alice, bob)

    async def read(before: int | None) -> list[dict[str, Any]]:
        data = await api.data(USER_TRADES_PAGE, bob.token, limit=PAGE, before=before, id=alice.id)
        assert data["user"]["id"] == alice.id
        page: list[dict[str, Any]] = data["user"]["trades"]
        return page

    writer = Writer(api, (alice, bob))
    with answered_by("Page") as paths:
        pages = await _walk(read, writer)
    assert paths == [path == "compiled"] * len(pages)
    _check_walk(pages, await _all_trades(services), {"userId": alice.id})


NESTED = """
query Nested($before: Int) {
  users(limit: 10) { id trades(limit: 3, offset: 1, before: $before) { id } }
  me { trades(limit: 2, before: $before) { id } newest: trades(limit: 2) { id } }
  trades(limit: 3, offset: 2, before: $before) { id }
}
"""


async def test_before_with_offset_and_nested_under_users(
    api: Api, services: Services, alice: Account, bob: Account, path: str
) -> None:
    """One statement pages every user's trades: the window ranks only the trades before the id,
    so `offset` and `limit` count among those. Asked with several values of `before` in a row
    and no write between, so each must be read under its own cache key."""
    await _seed(api, alice, bob)
    everything = await _all_trades(services)
    newest_first = [row["id"] for row in reversed(everything)]

    def older(before: int | None, user_id: int | None = None) -> list[int]:
        """Ids newest first, of one user's trades or all, smaller than `before` when given."""
        return [
            i
            for i, owner in ((row["id"], row["userId"]) for row in reversed(everything))
            if (before is None or i < before) and user_id in (None, owner)
        ]

    for before in (None, newest_first[0], newest_first[5], newest_first[-3], 1, 10**9):
        with answered_by("Nested") as paths:
            data = await api.data(NESTED, alice.token, before=before)
        assert paths == [path == "compiled"]
        users = {user["id"]: [t["id"] for t in user["trades"]] for user in data["users"]}
        assert set(users) >= {alice.id, bob.id}
        assert users == {user_id: older(before, user_id)[1:4] for user_id in users}, before
        assert [t["id"] for t in data["me"]["trades"]] == older(before, alice.id)[:2]
        # The same page but for `before`, in the same request: a DataLoader key of its own.
        assert [t["id"] for t in data["me"]["newest"]] == older(None, alice.id)[:2]
        assert [t["id"] for t in data["trades"]] == older(before)[2:5]


@pytest.mark.parametrize("before", [0, -1, -(2**31)])
@pytest.mark.parametrize(
    "query",
    [
        "query($b: Int) { trades(before: $b) { id } }",
        "query($b: Int) { me { id trades(limit: 5, before: $b) { id } } }",
        "query($b: Int) { users(limit: 1) { trades(before: $b) { id } } }",
    ],
    ids=["trades", "me.trades", "users.trades"],
)
async def test_before_that_names_no_trade_is_bad_user_input(
    api: Api, alice: Account, path: str, query: str, before: int
) -> None:
    body = await api.gql(query, {"b": before}, alice.token)
    error = only_error(body)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["argument"] == "before"
    assert error["message"].startswith("before: ")
