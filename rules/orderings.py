"""The order of every list the API serves (only SQL sorts them).

Trades are newest first, which is highest id first: ids grow with commit order. Users and
degrees come in the order they were created (ascending id).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnExpressionArgument, asc, desc
from sqlalchemy.sql.elements import OrderByList, UnaryExpression


def trades_newest_first(
    trade_id: ColumnExpressionArgument[int],
) -> OrderByList | UnaryExpression[Any]:
    return desc(trade_id)


def oldest_first(row_id: ColumnExpressionArgument[int]) -> OrderByList | UnaryExpression[Any]:
    """Users and degrees."""
    return asc(row_id)
