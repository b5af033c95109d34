"""Each record is its table's row: every field a column of the same name (or a joined column),
of the column's Python type, and records are built from rows by name."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

import pytest
from sqlalchemy import Column, ColumnElement, TypeDecorator, select

from db import rows
from db.models import (
    Base,
    Degree,
    DegreeRecord,
    Job,
    JobSummary,
    Role,
    Trade,
    TradeRecord,
    User,
    UserRecord,
)

# A record, its table, and the columns its fields name in other tables.
RECORDS = [
    (UserRecord, User, {"role": Role.__table__.c.name}),
    (TradeRecord, Trade, {}),
    (DegreeRecord, Degree, {}),
    (JobSummary, Job, {}),
]


def python_type(column: ColumnElement[Any]) -> type:
    """What the column reads as: a decorated type (Money, UTCDateTime) reads as its base's."""
    type_ = column.type
    return (type_.impl_instance if isinstance(type_, TypeDecorator) else type_).python_type


@pytest.mark.parametrize(
    ("record", "table", "joined"), RECORDS, ids=[r[0].__name__ for r in RECORDS]
)
def test_every_field_is_a_column_of_its_type(
    record: type, table: type[Base], joined: dict[str, Column[object]]
) -> None:
    hints = typing.get_type_hints(record)
    for field in dataclasses.fields(record):
        column = joined.get(field.name, table.__table__.c.get(field.name))
        assert column is not None, f"{record.__name__}.{field.name} is no column"
        declared = hints[field.name]
        optional = typing.get_origin(declared) is types.UnionType
        base = (
            [t for t in typing.get_args(declared) if t is not type(None)]
            if optional
            else [declared]
        )
        assert base == [python_type(column)], f"{record.__name__}.{field.name}"
        assert optional or not column.nullable, f"{record.__name__}.{field.name} may be NULL"


def test_columns_follow_the_fields_and_prefixes_keep_records_apart() -> None:
    selected = rows.columns(UserRecord, User, prefix="trader_", role=Role.name)
    assert [c.name for c in selected] == [
        f"trader_{f.name}" for f in dataclasses.fields(UserRecord)
    ]
    assert [c.name for c in rows.columns(TradeRecord, Trade)] == list(rows.field_names(TradeRecord))
    # A statement that reads a trade and its trader: both ids, both records, by name.
    statement = select(*rows.columns(TradeRecord, Trade), *selected)
    assert len(statement.selected_columns) == len(set(statement.selected_columns.keys()))
