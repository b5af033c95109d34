"""How each database spells the JSON the compiled path asks it to build, as SQLAlchemy constructs
compiled per dialect (`@compiles`): on PostgreSQL, text put together from `to_json` of each value
(its `json_build_object` and `json_agg` print `{"id" : 1}` and `}, {`: 8% more bytes on a page
than compact JSON); SQLite's `json_object` and `json_group_array` print compact JSON themselves.
Values print as the general path's scalars print them (schema/scalars.py); this module only
builds objects and arrays around them.

Also the one step from a Core statement to the text the driver runs: compiled once per document
and dialect, then executed with `exec_driver_sql`, which skips SQLAlchemy's per-execution work.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Dialect, String, UnaryExpression, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter, ClauseElement, OrderByList
from sqlalchemy.sql.functions import FunctionElement

# JSON objects nested in one statement, the query's own included. SQLite's parser has a fixed
# stack: six levels of the compiled path's subqueries overflow it ("parser stack overflow") when
# most of them are lists, so deeper documents are left to the general path.
_MAX_OBJECT_DEPTH = {"sqlite": 5}


def max_object_depth(dialect: Dialect) -> int | None:
    return _MAX_OBJECT_DEPTH.get(dialect.name)


class JSONObject(FunctionElement[str]):
    """A JSON object of (key, value) pairs, in their order."""

    type = String()
    inherit_cache = True

    def __init__(self, pairs: Sequence[tuple[str, ColumnElement[Any]]]) -> None:
        # Keys are part of the statement's text (rendered as quoted SQL literals when compiled
        # with `render_postcompile`), not parameters: a key is a GraphQL name or alias.
        arguments: list[ColumnElement[Any]] = []
        for key, value in pairs:
            arguments += [literal(key, String(), literal_execute=True), value]
        super().__init__(*arguments)


@compiles(JSONObject)
def _json_object(element: JSONObject, compiler: SQLCompiler, **kw: Any) -> str:
    """'{"key":' || value || ',"next":' || ... || '}': compact, in the pairs' order."""
    clauses = list(element.clauses)
    parts = []
    for i, (key, value) in enumerate(zip(clauses[::2], clauses[1::2], strict=True)):
        opening = ("{" if i == 0 else ",") + json.dumps(_key(key)) + ":"
        parts += [_sql_string(opening), _json_text_of(value, compiler, **kw)]
    return "(" + " || ".join([*parts, "'}'"]) + ")" if parts else "'{}'"


def _json_text_of(value: ClauseElement, compiler: SQLCompiler, **kw: Any) -> str:
    """A value as JSON text: what this module built already is; anything else through to_json."""
    text = compiler.process(value, **kw)
    if not isinstance(value, (JSONObject, JSONArray, JSONValue)):
        text = f"CAST(to_json({text}) AS TEXT)"
    return f"coalesce({text}, 'null')"


def _key(clause: ClauseElement) -> str:
    """A key JSONObject was given (a literal) as the text it holds."""
    if not isinstance(clause, BindParameter) or not isinstance(clause.value, str):
        raise TypeError(f"not a JSON object's key: {clause!r}")
    return clause.value


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@compiles(JSONObject, "sqlite")
def _json_object_sqlite(element: JSONObject, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_object({compiler.process(element.clauses, **kw)})"


class JSONArray(FunctionElement[str]):
    """The aggregate of `element` over a source's rows as a JSON array in `order`; [] when there
    are none. The source must be ordered the same way: SQLite (3.40) has no ORDER BY inside an
    aggregate and keeps the order of its source."""

    type = String()
    inherit_cache = True

    def __init__(
        self, element: ColumnElement[Any], order: OrderByList | UnaryExpression[Any]
    ) -> None:
        super().__init__(element, order)


@compiles(JSONArray)
def _json_array(element: JSONArray, compiler: SQLCompiler, **kw: Any) -> str:
    value, order = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"coalesce('[' || string_agg({value}, ',' ORDER BY {order}) || ']', '[]')"


@compiles(JSONArray, "sqlite")
def _json_array_sqlite(element: JSONArray, compiler: SQLCompiler, **kw: Any) -> str:
    value = compiler.process(element.clauses.clauses[0], **kw)
    return f"json_group_array(json({value}))"


class JSONValue(FunctionElement[str]):
    """A JSON value a scalar subquery returns, as JSON: SQLite forgets that it is unless told
    again (it would nest it as a string)."""

    type = String()
    inherit_cache = True


@compiles(JSONValue)
def _json_value(element: JSONValue, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(JSONValue, "sqlite")
def _json_value_sqlite(element: JSONValue, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json({compiler.process(element.clauses, **kw)})"


class JSONText(FunctionElement[str]):
    """A JSON value as text, for the driver (a json type would be decoded)."""

    type = String()
    inherit_cache = True


@compiles(JSONText)
def _json_text(element: JSONText, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS TEXT)"


@compiles(JSONText, "sqlite")
def _json_text_sqlite(element: JSONText, compiler: SQLCompiler, **kw: Any) -> str:
    # Already text; and a CAST would take one more of the parser's levels (see max_object_depth).
    return compiler.process(element.clauses, **kw)


class JSONBoolean(FunctionElement[str]):
    """A boolean column as JSON true/false: SQLite stores booleans as 0 and 1."""

    type = String()
    inherit_cache = True


@compiles(JSONBoolean)
def _json_boolean(element: JSONBoolean, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(JSONBoolean, "sqlite")
def _json_boolean_sqlite(element: JSONBoolean, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"json(CASE WHEN {column} THEN 'true' WHEN NOT {column} THEN 'false' END)"


@dataclass(frozen=True)
class DriverSQL:
    """A statement as its driver runs it: the SQL text and its values in the placeholders'
    order, some of them given per execution by name (the viewer's, the document's)."""

    sql: str
    values: tuple[object, ...]  # None where given per execution
    given: tuple[tuple[int, str], ...]  # (index in values, parameter name)

    def parameters(self, given: Mapping[str, object]) -> tuple[object, ...]:
        values = list(self.values)
        for position, name in self.given:
            values[position] = given[name]
        return tuple(values)


def driver_sql(statement: ClauseElement, dialect: Dialect, given: Collection[str]) -> DriverSQL:
    """`statement` compiled for `dialect` (whose drivers here, asyncpg and aiosqlite, take
    positional parameters); `given`: the names of the parameters given per execution. Values
    are bound as they come: the compiled path binds ints and strings only, which neither
    driver's dialect converts before sending."""
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    if not isinstance(compiled, SQLCompiler) or compiled.positiontup is None:
        raise ValueError(f"{dialect.name}'s driver takes named parameters, not positions")
    names = compiled.positiontup
    values = compiled.construct_params()
    return DriverSQL(
        compiled.string,
        tuple(None if name in given else values[name] for name in names),
        tuple((i, name) for i, name in enumerate(names) if name in given),
    )
