"""Documents that differ only in values share one compiled statement (SQLAlchemy builds and
compiles a plan once); their parameters and cache digests still differ."""

from __future__ import annotations

import gc

from graphql import parse
from sqlalchemy.engine import make_url

from compat.strawberry import graphql_core_schema
from fastpath.compiler import QueryCompiler
from fastpath.plan import SESSION_ID, TOKEN_VERSION, VIEWER_ID
from tests.utils.settings import make_settings
from web.graphql_schema import create_schema

QUERY = parse(
    "query($id: Int!, $limit: Int!) { user(id: $id) { id trades(limit: $limit) { id } } }"
)
VIEWER = {VIEWER_ID: 7, TOKEN_VERSION: 2, SESSION_ID: "session"}


def _compiler(driver: str) -> QueryCompiler:
    schema = graphql_core_schema(create_schema(make_settings("sqlite+aiosqlite://")))
    return QueryCompiler(schema, make_url(f"{driver}://").get_dialect()())


def test_values_are_parameters_of_one_statement() -> None:
    for driver in ("postgresql+asyncpg", "sqlite+aiosqlite"):
        compiler = _compiler(driver)
        first = compiler.compile(QUERY, None, {"id": 1, "limit": 5})
        second = compiler.compile(QUERY, None, {"id": 2, "limit": 6})
        assert second.query is first.query  # built and compiled once
        assert first.parameters(VIEWER) != second.parameters(VIEWER)
        for values, statement in ((1, first), (2, second)):
            parameters = statement.parameters(VIEWER)
            assert values in parameters and "session" in parameters
        assert first.digest != second.digest
        again = compiler.compile(QUERY, None, {"id": 1, "limit": 5})
        assert again.digest == first.digest


def test_a_statement_is_kept_while_a_compiled_document_holds_it() -> None:
    compiler = _compiler("sqlite+aiosqlite")
    statement = compiler.compile(QUERY, None, {"id": 1, "limit": 5})
    sql = statement.query
    assert compiler.compile(QUERY, None, {"id": 3, "limit": 5}).query is sql
    del statement, sql
    gc.collect()
    assert not compiler._built  # nothing holds it: no memory beyond the documents' cache


def test_a_statement_names_the_tables_it_reads() -> None:
    """The result cache keys an answer by their data versions (a stale answer otherwise)."""
    compiler = _compiler("sqlite+aiosqlite")
    for query, tables in (
        ("{ me { id } }", {"users"}),
        ("{ trade(id: 1) { id } }", {"trades"}),
        ("{ users { degrees { id } } }", {"users", "degrees"}),
        ("{ trades { user { trades { id } } } }", {"trades", "users"}),
    ):
        assert compiler.compile(parse(query), None, None).tables == tables, query
