"""Every query of the contract, as a signed-in client sees it."""

from __future__ import annotations

from sqlalchemy import select

from db.models import User
from services import Services
from tests.utils.accounts import Account
from tests.utils.api import Api
from tests.utils.graphql import (
    ADD_DEGREE,
    TRADE_FIELDS,
    added,
    assert_recent_utc,
    insert_users,
    trade,
)

USER_FIELDS = "id name role email registeredAt"


async def trade_ids(api: Api, token: str, arguments: str = "") -> list[int]:
    """Ids returned by `trades(<arguments>)`, in the order the API returns them."""
    query = f"{{ trades{f'({arguments})' if arguments else ''} {{ id }} }}"
    return [t["id"] for t in (await api.data(query, token))["trades"]]


async def all_user_ids(services: Services) -> list[int]:
    async with services.sessions() as session:
        return list(await session.scalars(select(User.id).order_by(User.id)))


# --- me, user, users -------------------------------------------------------------------------


async def test_me_is_null_when_anonymous(api: Api) -> None:
    assert await api.gql("{ me { id name } }") == {"data": {"me": None}}


async def test_me_is_the_signed_in_user(api: Api, alice: Account) -> None:
    me = (await api.data(f"{{ me {{ {USER_FIELDS} }} }}", alice.token))["me"]
    assert {k: me[k] for k in ("id", "name", "role", "email")} == {
        "id": alice.id,
        "name": "Alice",
        "role": "user",
        "email": "alice@example.com",
    }
    assert_recent_utc(me["registeredAt"])


async def test_user_by_id(api: Api, alice: Account, bob: Account) -> None:
    query = f"query($id: Int!) {{ user(id: $id) {{ {USER_FIELDS} }} }}"
    user = (await api.data(query, alice.token, id=bob.id))["user"]
    assert (user["id"], user["name"], user["role"]) == (bob.id, "Bob", "user")
    assert_recent_utc(user["registeredAt"])


async def test_unknown_user_is_null(api: Api, alice: Account) -> None:
    body = await api.gql("{ user(id: 999999) { id } }", token=alice.token)
    assert body == {"data": {"user": None}}


async def test_users_default_page_is_the_first_ten_by_id(
    api: Api, services: Services, alice: Account
) -> None:
    await insert_users(services, 12)
    ids = await all_user_ids(services)
    assert len(ids) == 14  # the admin, alice and the 12 inserted users
    users = (await api.data("{ users { id } }", alice.token))["users"]
    assert [u["id"] for u in users] == ids[:10]


async def test_users_limit_and_offset(api: Api, services: Services, alice: Account) -> None:
    await insert_users(services, 6)
    ids = await all_user_ids(services)
    query = "query($limit: Int!, $offset: Int!) { users(limit: $limit, offset: $offset) { id } }"
    page = (await api.data(query, alice.token, limit=3, offset=2))["users"]
    assert [u["id"] for u in page] == ids[2:5]
    rest = (await api.data(query, alice.token, limit=100, offset=5))["users"]
    assert [u["id"] for u in rest] == ids[5:]
    beyond = (await api.data(query, alice.token, limit=10, offset=len(ids)))["users"]
    assert beyond == []


async def test_role_is_user_or_admin(api: Api, admin: Account, alice: Account) -> None:
    users = (await api.data("{ users { id role } }", alice.token))["users"]
    assert {u["id"]: u["role"] for u in users} == {admin.id: "admin", alice.id: "user"}


# --- trade, trades ---------------------------------------------------------------------------


async def test_trade_by_id(api: Api, alice: Account) -> None:
    [stored] = await added(api, alice.token, [trade("ETH", "SELL", "2500.5", "0.25")])
    query = f"query($id: Int!) {{ trade(id: $id) {{ {TRADE_FIELDS} }} }}"
    found = (await api.data(query, alice.token, id=stored["id"]))["trade"]
    assert found == {
        "id": stored["id"],
        "userId": alice.id,
        "currency": "ETH",
        "side": "SELL",
        "price": "2500.50000000",
        "amount": "0.25000000",
        "createdAt": stored["createdAt"],
    }
    assert_recent_utc(found["createdAt"])


async def test_unknown_trade_is_null(api: Api, alice: Account) -> None:
    assert await api.gql("{ trade(id: 999999) { id } }", token=alice.token) == {
        "data": {"trade": None}
    }


async def _mixed_trades(api: Api, alice: Account, bob: Account) -> dict[str, int]:
    """Five trades by two users; their ids by a short label."""
    a = await added(
        api,
        alice.token,
        [trade("BTC", "BUY"), trade("ETH", "SELL"), trade("btc", "SELL")],
    )
    b = await added(api, bob.token, [trade("BTC", "BUY"), trade("eth", "BUY")])
    return {
        "alice_btc_buy": a[0]["id"],
        "alice_eth_sell": a[1]["id"],
        "alice_btc_sell": a[2]["id"],
        "bob_btc_buy": b[0]["id"],
        "bob_eth_buy": b[1]["id"],
    }


async def test_trades_newest_first(api: Api, alice: Account, bob: Account) -> None:
    ids = await _mixed_trades(api, alice, bob)
    assert await trade_ids(api, alice.token) == sorted(ids.values(), reverse=True)


async def test_trades_filtered_by_currency_case_insensitively(
    api: Api, alice: Account, bob: Account
) -> None:
    ids = await _mixed_trades(api, alice, bob)
    btc = [ids["bob_btc_buy"], ids["alice_btc_sell"], ids["alice_btc_buy"]]
    assert await trade_ids(api, alice.token, 'currency: "btc"') == btc
    assert await trade_ids(api, alice.token, 'currency: "BTC"') == btc
    currencies = await api.data('{ trades(currency: "Eth") { currency } }', alice.token)
    assert currencies["trades"] == [{"currency": "ETH"}, {"currency": "ETH"}]


async def test_trades_filtered_by_side(api: Api, alice: Account, bob: Account) -> None:
    ids = await _mixed_trades(api, alice, bob)
    assert await trade_ids(api, alice.token, "side: SELL") == [
        ids["alice_btc_sell"],
        ids["alice_eth_sell"],
    ]
    assert await trade_ids(api, alice.token, "side: BUY") == [
        ids["bob_eth_buy"],
        ids["bob_btc_buy"],
        ids["alice_btc_buy"],
    ]


async def test_trades_filtered_by_user(api: Api, alice: Account, bob: Account) -> None:
    ids = await _mixed_trades(api, alice, bob)
    assert await trade_ids(api, alice.token, f"userId: {bob.id}") == [
        ids["bob_eth_buy"],
        ids["bob_btc_buy"],
    ]
    assert await trade_ids(api, alice.token, "userId: 999999") == []


async def test_trades_filters_combine_with_and(api: Api, alice: Account, bob: Account) -> None:
    ids = await _mixed_trades(api, alice, bob)
    both = f'currency: "btc", side: BUY, userId: {alice.id}'
    assert await trade_ids(api, alice.token, both) == [ids["alice_btc_buy"]]
    assert await trade_ids(api, alice.token, 'currency: "eth", side: BUY') == [ids["bob_eth_buy"]]
    assert await trade_ids(api, alice.token, f'currency: "eth", userId: {alice.id}') == [
        ids["alice_eth_sell"]
    ]
    assert await trade_ids(api, alice.token, f"side: SELL, userId: {bob.id}") == []


async def test_trades_default_page_and_offset(api: Api, alice: Account) -> None:
    stored = await added(api, alice.token, [trade(price=str(n)) for n in range(12)])
    newest_first = sorted((t["id"] for t in stored), reverse=True)
    assert await trade_ids(api, alice.token) == newest_first[:10]
    assert await trade_ids(api, alice.token, "limit: 4, offset: 9") == newest_first[9:]


# --- User.trades, User.degrees, Trade.user ---------------------------------------------------


async def test_user_trades_are_the_users_own_newest_first_and_paged(
    api: Api, alice: Account, bob: Account
) -> None:
    mine = [t["id"] for t in await added(api, alice.token, [trade() for _ in range(5)])]
    await added(api, bob.token, [trade(), trade()])
    newest_first = sorted(mine, reverse=True)
    query = """
    query($id: Int!) {
      user(id: $id) {
        all: trades { id userId }
        page: trades(limit: 2, offset: 1) { id }
        last: trades(limit: 10, offset: 4) { id }
      }
    }
    """
    user = (await api.data(query, bob.token, id=alice.id))["user"]
    assert [t["id"] for t in user["all"]] == newest_first
    assert {t["userId"] for t in user["all"]} == {alice.id}
    assert [t["id"] for t in user["page"]] == newest_first[1:3]
    assert [t["id"] for t in user["last"]] == newest_first[4:]


async def test_user_trades_default_limit_is_ten(api: Api, alice: Account) -> None:
    stored = await added(api, alice.token, [trade() for _ in range(12)])
    me = (await api.data("{ me { trades { id } } }", alice.token))["me"]
    assert [t["id"] for t in me["trades"]] == sorted((t["id"] for t in stored), reverse=True)[:10]


async def test_user_degrees(api: Api, admin: Account, alice: Account) -> None:
    given = []
    for name in ("NEWBIE", "EXPERT"):
        body = await api.gql(ADD_DEGREE, {"userId": alice.id, "name": name}, token=admin.token)
        assert "errors" not in body, body
        given.append(body["data"]["addDegree"])
    query = "query($id: Int!) { user(id: $id) { degrees { id name createdAt } } }"
    degrees = (await api.data(query, alice.token, id=alice.id))["user"]["degrees"]
    assert degrees == given
    assert [d["name"] for d in degrees] == ["NEWBIE", "EXPERT"]
    for degree in degrees:
        assert_recent_utc(degree["createdAt"])
    others = (await api.data(query, alice.token, id=admin.id))["user"]["degrees"]
    assert others == []


async def test_trade_user_is_the_owner(api: Api, alice: Account, bob: Account) -> None:
    [a] = await added(api, alice.token, [trade("BTC")])
    [b] = await added(api, bob.token, [trade("ETH")])
    trades = (await api.data("{ trades { id user { id name role } } }", alice.token))["trades"]
    assert trades == [
        {"id": b["id"], "user": {"id": bob.id, "name": "Bob", "role": "user"}},
        {"id": a["id"], "user": {"id": alice.id, "name": "Alice", "role": "user"}},
    ]


async def test_decimals_are_strings_with_eight_places(api: Api, alice: Account) -> None:
    await added(api, alice.token, [trade(price="64000", amount="0.5")])
    [found] = (await api.data("{ trades { price amount } }", alice.token))["trades"]
    assert found == {"price": "64000.00000000", "amount": "0.50000000"}
