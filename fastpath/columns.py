"""Where the compiled path reads each object type's rows, and which of its fields are columns of
them: derived from the SQLAlchemy metadata and the served GraphQL schema, so a column served as a
field of its own name (Strawberry camel-cases `created_at` to `createdAt`) is compiled with no
edit here.

A field is a column when Strawberry serves it without a resolver and its Python name is a column
of the type's rows; how the column prints follows from its SQLAlchemy type and the field's GraphQL
type, as the general path's scalars print it. A pairing not listed in `_printer` is left out, and
the compiled path declines documents that select it (the general path answers them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLInt,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLString,
    get_named_type,
)
from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Integer,
    Select,
    String,
    Subquery,
    Text,
    UnaryExpression,
    cast,
    func,
    select,
)
from sqlalchemy.sql.elements import OrderByList
from sqlalchemy.types import TypeEngine

from compat.strawberry import strawberry_field
from db.models import Degree, Role, Trade, User
from db.types import Money, UTCDateTime
from fastpath.dialects import JSONBoolean
from rules.orderings import oldest_first, trades_after_in_order, trades_newest_first
from schema.scalars import DateTimeText, DecimalText

Printer = Callable[[ColumnElement[Any]], ColumnElement[Any]]
Order = OrderByList | UnaryExpression[Any]


@dataclass(frozen=True)
class Source:
    """The rows of one GraphQL object type."""

    table: str  # also the cache tag of the answers that read it (db/data_versions.py)
    rows: Callable[[], Select[Any]]  # every column of a row, from fresh aliases
    order: Callable[[ColumnElement[int]], Order]  # of its lists, by id (rules.orderings)
    # The rows after the one with this id in that order (keyset paging), where lists have it.
    after: Callable[[ColumnElement[int], ColumnElement[int]], ColumnElement[bool]] | None = None


def _users() -> Select[Any]:
    users, roles = User.__table__.alias(), Role.__table__.alias()
    return select(users, roles.c.name.label("role")).join_from(
        users, roles, roles.c.id == users.c.role_id
    )


def _table(table: Any) -> Callable[[], Select[Any]]:
    return lambda: select(table.alias())


SOURCES: Mapping[str, Source] = {
    "User": Source(User.__tablename__, _users, oldest_first),
    "Trade": Source(
        Trade.__tablename__,
        _table(Trade.__table__),
        trades_newest_first,
        trades_after_in_order,
    ),
    "Degree": Source(Degree.__tablename__, _table(Degree.__table__), oldest_first),
}


@dataclass(frozen=True)
class Column:
    """A field that is a column of its type's rows, and how that column prints."""

    name: str
    print: Printer

    def value(self, row: Subquery) -> ColumnElement[Any]:
        return self.print(row.c[self.name])


def column_fields(schema: GraphQLSchema) -> dict[tuple[str, str], Column]:
    """(type name, field name) -> the column it reads, for every served type with a Source."""
    columns = {}
    for type_name, source in SOURCES.items():
        graphql_type = schema.get_type(type_name)
        if not isinstance(graphql_type, GraphQLObjectType):
            continue
        row = {column.key: column.type for column in source.rows().selected_columns}
        for field_name, field in graphql_type.fields.items():
            definition = strawberry_field(field)
            if definition is None or definition.base_resolver is not None:
                continue  # a relation or a rule: the compiler's own case
            column_type = row.get(definition.python_name)
            printer = None if column_type is None else _printer(column_type, field.type)
            if printer is not None:
                columns[type_name, field_name] = Column(definition.python_name, printer)
    return columns


def _printer(column: TypeEngine[Any], field: GraphQLOutputType) -> Printer | None:
    """How a column of this type prints as a field of this GraphQL type, as the general path
    prints it; None when the compiled path does not know."""
    served = get_named_type(field)
    if isinstance(column, Money) and served.name == "Decimal":
        return DecimalText
    if isinstance(column, UTCDateTime) and served.name == "DateTime":
        return DateTimeText
    if isinstance(column, String) and isinstance(served, GraphQLEnumType):
        # Stored as the Python enum's value, served by its name: upper() when that is the name.
        if all(name == str(value.value).upper() for name, value in served.values.items()):
            return _upper
        return None
    if isinstance(column, Integer) and served is GraphQLString:
        # A number larger than GraphQL's Int takes, served as a String.
        return _text
    if isinstance(column, String) and served is GraphQLString:
        return _same
    # BigInteger's values may exceed GraphQL's Int, which the general path refuses to print.
    if isinstance(column, Integer) and not isinstance(column, BigInteger) and served is GraphQLInt:
        return _same
    if isinstance(column, Boolean) and served is GraphQLBoolean:
        return JSONBoolean
    return None


def _upper(value: ColumnElement[Any]) -> ColumnElement[Any]:
    return func.upper(value)


def _text(value: ColumnElement[Any]) -> ColumnElement[Any]:
    return cast(value, Text)


def _same(value: ColumnElement[Any]) -> ColumnElement[Any]:
    return value
