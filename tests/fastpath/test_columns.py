"""The compiled path's columns come from the metadata and the schema, not from fastpath/.

Every field of `User`, `Trade` and `Degree` that is a column is compiled without being named
there; and a type with new columns of every kind the API serves (money, a timestamp, text, an
enum, a flag, a big integer as a string), over a table the compiled path never saw, is compiled
and prints each value as Strawberry's general path prints it, on both databases.
"""

from __future__ import annotations

import enum
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import strawberry
from graphql import DocumentNode, parse, validate
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    select,
)
from sqlalchemy.ext.asyncio import create_async_engine

from compat.strawberry import graphql_core_schema
from db.models import User
from db.types import Money, UTCDateTime
from fastpath.columns import SOURCES, Source, column_fields
from fastpath.compiler import QueryCompiler
from fastpath.plan import SESSION_ID, TOKEN_VERSION, VIEWER_ID
from rules.orderings import trades_newest_first
from schema.scalars import SCALAR_OVERRIDES
from tests.utils.settings import make_settings
from web.graphql_schema import create_schema

# The fields the compiler builds itself: relations, and a value a rule decides.
RELATIONS_AND_RULES = {
    ("User", "email"),
    ("User", "degrees"),
    ("User", "trades"),
    ("Trade", "user"),
}


def test_every_column_field_of_the_served_types_is_compiled() -> None:
    schema = graphql_core_schema(create_schema(make_settings("sqlite+aiosqlite://")))
    served = {
        (type_name, field)
        for type_name in SOURCES
        for field in schema.get_type(type_name).fields  # type: ignore[union-attr]
    }
    derived = column_fields(schema)
    assert set(derived) == served - RELATIONS_AND_RULES
    # Under the column's own name, which Strawberry camel-cases for the schema.
    assert derived["Trade", "createdAt"].name == "created_at"
    assert derived["User", "role"].name == "role"  # the role's name, joined


@strawberry.enum
class Venue(enum.Enum):
    LIT = "lit"
    DARK = "dark"


@strawberry.type(name="Trade")  # where the compiler expects trades
class Fill:
    id: int
    fee: Decimal
    settled_at: datetime | None
    venue: Venue
    note: str | None
    flagged: bool
    sequence: str | None  # a BigInteger column, served as a String like Trade.seq


FILLS = [
    Fill(
        id=1,
        fee=Decimal("0.00000001"),
        settled_at=datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
        venue=Venue.LIT,
        note='quote " and \\ and 日本',
        flagged=True,
        sequence=str(2**40),
    ),
    Fill(
        id=2,
        fee=Decimal("99999999999.99999999"),
        settled_at=datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC),
        venue=Venue.DARK,
        note=None,
        flagged=False,
        sequence=None,
    ),
    Fill(
        id=3,
        fee=Decimal(0),
        settled_at=None,
        venue=Venue.DARK,
        note="",
        flagged=False,
        sequence="7",
    ),
]


@strawberry.type
class Query:
    """Served as `trade`/`trades` (the compiler's root fields), over the `fills` table; the
    fills as the database returns them through their column types are the context."""

    @strawberry.field
    def trade(self, info: strawberry.Info[list[Fill], None], id: int) -> Fill | None:
        return next((fill for fill in info.context if fill.id == id), None)

    @strawberry.field
    def trades(
        self, info: strawberry.Info[list[Fill], None], limit: int = 10, offset: int = 0
    ) -> list[Fill]:
        return sorted(info.context, key=lambda fill: -fill.id)[offset : offset + limit]


def _fills_table() -> Table:
    """A table the project does not have, with a column the type does not serve."""
    return Table(
        "fills",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("fee", Money),
        Column("settled_at", UTCDateTime),
        Column("venue", String(8)),
        Column("note", String(100)),
        Column("flagged", Boolean),
        Column("sequence", BigInteger),
        Column("secret", String(20)),
    )


async def test_new_columns_of_a_new_table_print_as_the_general_path_prints_them(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fills = _fills_table()
    monkeypatch.setitem(
        SOURCES,
        "Trade",
        Source("fills", lambda: select(fills.alias()), trades_newest_first),
    )
    schema = strawberry.Schema(query=Query, scalar_overrides=SCALAR_OVERRIDES)
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(fills.metadata.create_all)
            await connection.execute(
                insert(fills),
                [
                    {
                        "id": fill.id,
                        "fee": fill.fee,
                        "settled_at": fill.settled_at,
                        "venue": fill.venue.value,
                        "note": fill.note,
                        "flagged": fill.flagged,
                        "sequence": None if fill.sequence is None else int(fill.sequence),
                        "secret": "never served",
                    }
                    for fill in FILLS
                ],
            )
            read = [
                Fill(
                    id=row.id,
                    fee=row.fee,
                    settled_at=row.settled_at,
                    venue=Venue(row.venue),
                    note=row.note,
                    flagged=row.flagged,
                    sequence=None if row.sequence is None else str(row.sequence),
                )
                for row in await connection.execute(select(fills))
            ]
            viewer_id = await connection.scalar(
                insert(User)
                .values(email="v@example.com", name="V", password_hash="x")
                .returning(User.id)
            )
        compiler = QueryCompiler(graphql_core_schema(schema), engine.dialect)
        fields = "id fee settledAt venue note flagged sequence __typename"
        for query in (
            f"{{ trades(limit: 5) {{ {fields} }} }}",
            f"{{ a: trade(id: 2) {{ {fields} }} b: trade(id: 9) {{ id }} }}",
        ):
            statement = compiler.compile(_document(schema, query), None, None)
            viewer = {VIEWER_ID: viewer_id, TOKEN_VERSION: 0, SESSION_ID: "session"}
            async with engine.connect() as connection:
                result = await connection.exec_driver_sql(
                    statement.query.sql, statement.parameters(viewer)
                )
                compiled = result.scalar()
            general = await schema.execute(query, context_value=read)
            assert general.errors is None
            assert _loads(compiled) == general.data, query
            assert "secret" not in statement.query.sql
    finally:
        await engine.dispose()


def _document(schema: strawberry.Schema, query: str) -> DocumentNode:
    document = parse(query)
    assert validate(graphql_core_schema(schema), document) == []
    return document


def _loads(text: str | None) -> Any:
    assert text is not None
    return json.loads(text)
