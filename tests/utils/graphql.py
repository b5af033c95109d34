"""GraphQL documents the tests send (trades, renames, degrees, reports) and small helpers around
them: adding trades, reading errors, counting and inserting rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select

from db.models import Base, User
from services import Services
from tests.utils.api import Api

TRADE_FIELDS = "id userId currency side price amount createdAt"

ADD_TRADES = f"""
mutation AddTrades($trades: [TradeInput!]!, $key: String) {{
  addTrades(trades: $trades, idempotencyKey: $key) {{ {TRADE_FIELDS} user {{ id name }} }}
}}
"""

CHANGE_USER_NAME = """
mutation Rename($userId: Int!, $newName: String!) {
  changeUserName(userId: $userId, newName: $newName) { id name }
}
"""

ADD_DEGREE = """
mutation AddDegree($userId: Int!, $name: DegreeName!) {
  addDegree(userId: $userId, name: $name) { id name createdAt }
}
"""

REQUEST_TRADE_REPORT = "mutation { requestTradeReport { id status report { userId } } }"

JOB = """
query Job($id: String!) {
  job(id: $id) {
    id status
    report {
      userId generatedAt
      currencies { currency trades boughtAmount soldAmount netAmount averagePrice }
    }
  }
}
"""

USER_NAME = "query User($id: Int!) { user(id: $id) { id name } }"


def trade(
    currency: str = "BTC",
    side: str = "BUY",
    price: Any = "100",
    amount: Any = "1",
    user_id: int | None = None,
) -> dict[str, Any]:
    """One TradeInput as a client sends it in variables."""
    value: dict[str, Any] = {"currency": currency, "side": side, "price": price, "amount": amount}
    if user_id is not None:
        value["userId"] = user_id
    return value


async def add_trades(
    api: Api, token: str, trades: list[dict[str, Any]], key: str | None = None
) -> dict[str, Any]:
    """The whole response body of an addTrades call."""
    return await api.gql(ADD_TRADES, {"trades": trades, "key": key}, token=token)


async def added(
    api: Api, token: str, trades: list[dict[str, Any]], key: str | None = None
) -> list[dict[str, Any]]:
    """The trades an addTrades call returned; fails the test on any error."""
    body = await add_trades(api, token, trades, key)
    assert "errors" not in body, body
    result: list[dict[str, Any]] = body["data"]["addTrades"]
    return result


async def user_name(api: Api, token: str, user_id: int) -> str | None:
    body = await api.gql(USER_NAME, {"id": user_id}, token=token)
    assert "errors" not in body, body
    user = body["data"]["user"]
    return None if user is None else str(user["name"])


def only_error(body: dict[str, Any]) -> dict[str, Any]:
    """The single error of a response (fails when there are none or several)."""
    errors = body.get("errors")
    assert errors is not None and len(errors) == 1, body
    error: dict[str, Any] = errors[0]
    return error


def error_code(body: dict[str, Any]) -> str:
    return str(only_error(body)["extensions"]["code"])


async def count_rows(services: Services, model: type[Base]) -> int:
    """Rows of a table, read straight from the database."""
    async with services.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(model))
    return int(count or 0)


async def insert_users(services: Services, count: int, prefix: str = "bulk") -> list[int]:
    """Users inserted directly (no password hashing: they never log in); their ids, ascending."""
    rows = [
        {
            "email": f"{prefix}{n}@example.com",
            "name": f"{prefix.title()} {n}",
            "password_hash": "not-a-hash",
            "role_id": 1,
        }
        for n in range(count)
    ]
    async with services.sessions.begin() as session:
        result = await session.execute(
            insert(User).returning(User.id, sort_by_parameter_order=True), rows
        )
        return [row.id for row in result]


def assert_recent_utc(value: str) -> None:
    """An ISO 8601 timestamp with a +00:00 offset, from the last few minutes."""
    assert value.endswith("+00:00"), value
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - parsed) < timedelta(minutes=5), value
