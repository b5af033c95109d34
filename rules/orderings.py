"""The order of every list the API serves (only SQL sorts them).

Trades are newest first, which is highest id first: ids are taken at insert, so they follow
commit order except between writes in flight together (one may commit after a larger id did;
docs/api.md says what that means for keyset paging). Users and degrees come in the order they
were created (ascending id). A page of trades `before` an id
continues that order after the trade with that id: the trades with a smaller id.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, ColumnExpressionArgument, asc, desc
from sqlalchemy.sql.elements import OrderByList, SQLCoreOperations, UnaryExpression


def trades_newest_first(
    trade_id: ColumnExpressionArgument[int],
) -> OrderByList | UnaryExpression[Any]:
    return desc(trade_id)


def trades_after_in_order(
    trade_id: SQLCoreOperations[int], before: ColumnElement[int] | int
) -> ColumnElement[bool]:
    """The trades that come after the trade with id `before` in newest-first order."""
    return trade_id < before


def oldest_first(row_id: ColumnExpressionArgument[int]) -> OrderByList | UnaryExpression[Any]:
    """Users and degrees."""
    return asc(row_id)
