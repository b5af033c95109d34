"""The order of every list the API serves, in SQL and in Python.

Trades are newest first, which is highest id first: ids grow with commit order. Users and
degrees come in the order they were created (ascending id).
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import ColumnElement, UnaryExpression


class _HasId(Protocol):
    @property
    def id(self) -> int: ...


def trades_newest_first(trade_id: ColumnElement[int]) -> UnaryExpression[Any]:
    return trade_id.desc()


def trade_sort_key(trade: _HasId) -> int:
    """`sorted(trades, key=trade_sort_key)` is newest first, as trades_newest_first."""
    return -trade.id


def oldest_first(row_id: ColumnElement[int]) -> UnaryExpression[Any]:
    """Users and degrees."""
    return row_id.asc()
