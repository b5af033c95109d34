"""Rows to records by name: the columns a record's fields name, and the record of a row.

A query selects `columns(Record, Table)` and builds `record(Record, row)`: no column list to
keep in step with the record, no position to get wrong. A field that is not a column of the
table (a joined table's, such as a user's role) is given as a labelled expression.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import ColumnElement, Row
from sqlalchemy.orm import QueryableAttribute

from db.models import Base

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")


@cache
def field_names(record: type[DataclassInstance]) -> tuple[str, ...]:
    return tuple(field.name for field in dataclasses.fields(record))


def columns(
    record: type[DataclassInstance],
    table: type[Base],
    *,
    prefix: str = "",
    **joined: ColumnElement[Any] | QueryableAttribute[Any],
) -> list[ColumnElement[Any]]:
    """The record's fields as columns of `table` (or `joined` expressions), in field order.

    With a prefix every column is labelled `prefix + field`: two records read in one statement
    (a trade and its trader) then do not share names.
    """
    selected: list[ColumnElement[Any]] = []
    for name in field_names(record):
        if name in joined:
            selected.append(joined[name].label(prefix + name))
            continue
        column = table.__table__.c[name]
        selected.append(column.label(prefix + name) if prefix else column)
    return selected


def record(record_type: type[R], row: Row[Any], *, prefix: str = "") -> R:
    """The record of a row selected with `columns(record_type, ..., prefix=prefix)`; the row's
    other columns are left alone."""
    values = row._mapping
    return record_type(**{name: values[prefix + name] for name in field_names(record_type)})
