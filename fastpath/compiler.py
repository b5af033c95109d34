"""Compiles a plain-data query into one SQL statement in which the database builds the JSON.

The same idea as PostGraphile's and Hasura's planners, for this schema: every field of `User`,
`Trade` and `Degree` and the reading root fields (`me`, `user`, `users`, `trade`, `trades`) map
to a column or a correlated subquery. The viewer's session check (the same one
`auth.identity.signed_in` makes) is the statement's first CTE, so a request is one round trip.

Only requests the general path would answer with data and no errors compile: anything else
(a field or argument this module does not know, introspection, a bad argument value, a failed
validation, an operation over budget) raises `NotCompilable`, and the request goes to
Strawberry, which produces the errors. So the fast path never has to reproduce an error message.
Variables, arguments and @skip/@include are coerced by graphql-core's own functions, the ones
Strawberry's executor calls, so an explicit null or a default means here what it means there.
"""

# SQL text here is assembled from this module's fixed fragments, aliases it numbers and GraphQL
# response keys (validated names); every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import functools
import hashlib
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLIncludeDirective,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionNode,
    SelectionSetNode,
    VariableValues,
    get_argument_values,
    get_directive_values,
    get_operation_ast,
    get_variable_values,
)
from pydantic import ValidationError

from db import data_versions
from fastpath.dialects import JSONDialect
from schema.models import Page, Side, TradeFilter

# The viewer's id, token version and session id come first in every statement's parameters.
VIEWER_PARAMETERS = 3
# PostgreSQL functions take at most 100 arguments: 50 key/value pairs per JSON object.
MAX_KEYS = 50


@dataclass(frozen=True)
class Bound:
    """A value sent as a statement parameter (never spliced into the SQL text)."""

    value: object


class NotCompilable(Exception):
    """Leave this request to the general path."""


@dataclass(frozen=True)
class Statement:
    sql: str
    params: tuple[object, ...]  # after the viewer's VIEWER_PARAMETERS
    tables: frozenset[str]
    per_viewer: bool  # the JSON depends on who asks (emails, `me`)
    # Worth caching: it reads lists. Single rows by id cost the database no more than the
    # session check a cached answer still needs, so they go straight to it.
    cacheable: bool
    operation_name: str | None = None  # as the document names it, for logs and metrics

    @functools.cached_property
    def digest(self) -> str:
        """Names the data this statement reads, for the result cache."""
        return hashlib.sha256(repr((self.sql, self.params)).encode()).hexdigest()


def viewer_query(dialect: JSONDialect, *, versions: bool = False) -> str:
    """The viewer's id and admin flag while their session is valid (`signed_in`'s rules: the
    token's version is current, the session was not logged out, the user is active); with
    `versions`, also the data versions (db/data_versions.py) that cache keys embed."""
    p = dialect.placeholder
    extra = ", " + data_versions.columns_sql() if versions else ""
    return (
        f"SELECT u.id, r.name = 'admin' AS admin{extra} "
        "FROM users u JOIN roles r ON r.id = u.role_id "
        f"WHERE u.id = {p(1)} AND u.token_version = {p(2)} AND u.is_active "
        f"AND NOT EXISTS (SELECT 1 FROM revoked_tokens x WHERE x.jti = {p(3)})"
    )


def compile_query(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    dialect: JSONDialect,
) -> Statement:
    """The statement answering a validated document; NotCompilable when it is not plain data."""
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is not OperationType.QUERY:
        raise NotCompilable("not a query")
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    coerced = get_variable_values(
        schema, operation.variable_definitions or (), dict(variables or {})
    )
    if not isinstance(coerced, VariableValues):
        raise NotCompilable("bad variables")
    return _Compiler(schema, dialect, fragments, coerced).statement(operation)


def _page(arguments: Mapping[str, Any]) -> Page:
    try:
        return Page(limit=arguments["limit"], offset=arguments["offset"])
    except ValidationError:
        raise NotCompilable("bad page") from None


# Fields that are a column of their row: (how it prints, the column).
_SCALARS = {
    ("User", "id"): ("plain", "id"),
    ("User", "name"): ("plain", "name"),
    ("User", "role"): ("plain", "role"),
    ("User", "registeredAt"): ("time", "registered_at"),
    ("Trade", "id"): ("plain", "id"),
    ("Trade", "userId"): ("plain", "user_id"),
    ("Trade", "currency"): ("plain", "currency"),
    ("Trade", "side"): ("enum", "side"),
    ("Trade", "price"): ("money", "price"),
    ("Trade", "amount"): ("money", "amount"),
    ("Trade", "createdAt"): ("time", "created_at"),
    ("Trade", "seq"): ("text", "seq"),
    ("Degree", "id"): ("plain", "id"),
    ("Degree", "name"): ("enum", "name"),
    ("Degree", "createdAt"): ("time", "created_at"),
}


def _print(dialect: JSONDialect, kind: str, column: str) -> str:
    """A column as the general path's scalars print it: enums by their upper-case GraphQL
    names (stored lower-case), Decimal in fixed point, DateTime as `isoformat()`."""
    if kind == "enum":
        return f"upper({column})"
    if kind == "money":
        return dialect.money(column)
    if kind == "time":
        return dialect.timestamp(column)
    if kind == "text":  # an integer the schema serves as a String (too large for Int)
        return f"CAST({column} AS TEXT)"
    return column


@dataclass(frozen=True)
class _Table:
    name: str  # also the cache tag of responses that read it
    type_name: str
    select: str  # the columns the type's fields read, under the names they read
    key: str
    direction: str  # of the list order: users by id, trades newest (highest id) first


_USERS = _Table(
    "users",
    "User",
    "SELECT u.id, u.name, u.email, u.registered_at, r.name AS role "
    "FROM users u JOIN roles r ON r.id = u.role_id",
    "u.id",
    "ASC",
)
_TRADES = _Table(
    "trades",
    "Trade",
    "SELECT t.id, t.user_id, t.currency, t.side, t.price, t.amount, t.created_at, t.seq "
    "FROM trades t",
    "t.id",
    "DESC",
)
_DEGREES = _Table(
    "degrees", "Degree", "SELECT g.id, g.name, g.created_at FROM degrees g", "g.id", "ASC"
)
# `column = other column` or `column = bound value`.
Condition = tuple[str, "str | Bound"]


class _Compiler:
    def __init__(
        self,
        schema: GraphQLSchema,
        dialect: JSONDialect,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: VariableValues,
    ) -> None:
        self.schema = schema
        self.dialect = dialect
        self.fragments = fragments
        self.variables = variables
        self.params: list[object] = []
        self.tables: set[str] = set()
        self.per_viewer = False
        self.lists = False
        self._aliases = itertools.count()
        self._depth = 0  # JSON objects open in the statement being built

    def statement(self, operation: OperationDefinitionNode) -> Statement:
        d = self.dialect
        data = self._object("Query", [operation.selection_set], "")
        sql = f"WITH v AS ({viewer_query(d)}) SELECT {d.as_text(data)} FROM v"
        return Statement(
            sql,
            tuple(self.params),
            frozenset(self.tables),
            self.per_viewer,
            self.lists,
            operation.name.value if operation.name else None,
        )

    # Selections

    def _collect(self, selection_sets: Iterable[SelectionSetNode]) -> dict[str, list[FieldNode]]:
        """Fields by response key, fragments spread and @skip/@include applied, as GraphQL's
        CollectFields does (every type here is an object type, so type conditions hold)."""
        fields: dict[str, list[FieldNode]] = {}

        def visit(selection_set: SelectionSetNode, seen: frozenset[str]) -> None:
            for selection in selection_set.selections:
                if not self._included(selection):
                    continue
                if isinstance(selection, FieldNode):
                    key = (selection.alias or selection.name).value
                    fields.setdefault(key, []).append(selection)
                elif isinstance(selection, InlineFragmentNode):
                    visit(selection.selection_set, seen)
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    if name not in seen:
                        visit(self.fragments[name].selection_set, seen | {name})

        for selection_set in selection_sets:
            visit(selection_set, frozenset())
        return fields

    def _included(self, selection: SelectionNode) -> bool:
        if any(d.name.value not in ("skip", "include") for d in selection.directives or ()):
            raise NotCompilable("a directive other than @skip and @include")
        try:
            skip = get_directive_values(GraphQLSkipDirective, selection, self.variables)
            include = get_directive_values(GraphQLIncludeDirective, selection, self.variables)
        except GraphQLError:  # an explicit null for `if`
            raise NotCompilable("bad directive argument") from None
        return not (skip and skip["if"]) and not (include and not include["if"])

    def _arguments(self, type_name: str, node: FieldNode) -> dict[str, Any]:
        type_ = self.schema.get_type(type_name)
        # `__schema` and `__type` are no field of Query's: introspection is Strawberry's.
        definition = type_.fields.get(node.name.value)  # type: ignore[union-attr]
        if definition is None:
            raise NotCompilable(f"{type_name}.{node.name.value}")
        try:
            return get_argument_values(definition, node, self.variables)
        except GraphQLError:  # e.g. an explicit null for a non-null argument
            raise NotCompilable("bad argument") from None

    def _object(self, type_name: str, selection_sets: Iterable[SelectionSetNode], row: str) -> str:
        fields = self._collect(selection_sets)
        if len(fields) > MAX_KEYS:
            raise NotCompilable("too many keys for one JSON object")
        limit = self.dialect.max_object_depth
        if limit is not None and self._depth >= limit:
            raise NotCompilable("nested deeper than the database's parser follows")
        self._depth += 1
        try:
            return self._pairs(type_name, fields, row)
        finally:
            self._depth -= 1

    def _pairs(self, type_name: str, fields: dict[str, list[FieldNode]], row: str) -> str:
        pairs = []
        for key, nodes in fields.items():
            node = nodes[0]
            name = node.name.value
            if name == "__typename":
                value = self.dialect.as_text(f"'{type_name}'")
            else:
                subselections = [n.selection_set for n in nodes if n.selection_set is not None]
                arguments = self._arguments(type_name, node)
                value = self._field(type_name, name, arguments, subselections, row)
            pairs.append((key, value))
        return self.dialect.object(pairs)

    # Fields

    def _param(self, value: object) -> str:
        self.params.append(value)
        return self.dialect.placeholder(VIEWER_PARAMETERS + len(self.params))

    def _alias(self) -> str:
        return f"a{next(self._aliases)}"

    def _field(
        self,
        type_name: str,
        name: str,
        arguments: Mapping[str, Any],
        selections: list[SelectionSetNode],
        row: str,
    ) -> str:
        d = self.dialect
        scalar = _SCALARS.get((type_name, name))
        if scalar is not None:
            kind, column = scalar
            return _print(d, kind, f"{row}.{column}")
        match type_name, name:
            case "Query", "me":
                self.per_viewer = True
                return self._one(_USERS, selections, "v.id")
            case "Query", "user":
                return self._one(_USERS, selections, Bound(arguments["id"]))
            case "Query", "users":
                return self._list(_USERS, selections, page=_page(arguments))
            case "Query", "trade":
                return self._one(_TRADES, selections, Bound(arguments["id"]))
            case "Query", "trades":
                filters = _trade_filters(arguments)
                return self._list(_TRADES, selections, filters, _page(arguments))
            case "User", "email":
                self.per_viewer = True
                return f"CASE WHEN {row}.id = v.id OR v.admin THEN {row}.email END"
            case "User", "degrees":
                return self._list(_DEGREES, selections, [("g.user_id", f"{row}.id")])
            case "User", "trades":
                where = [("t.user_id", f"{row}.id")]
                return self._list(_TRADES, selections, where, _page(arguments))
            case "Trade", "user":
                return self._one(_USERS, selections, f"{row}.user_id")
        raise NotCompilable(f"{type_name}.{name}")

    def _id(self, id_: str | Bound) -> str:
        return self._param(id_.value) if isinstance(id_, Bound) else id_

    def _one(self, table: _Table, selections: list[SelectionSetNode], id_: str | Bound) -> str:
        """The row whose id is `id_` (a column, or a bound value) as an object, or null."""
        self.tables.add(table.name)
        alias = self._alias()
        # Parameters are numbered in the order they appear in the text: the element first.
        element = self._object(table.type_name, selections, alias)
        source = f"{table.select} WHERE {table.key} = {self._id(id_)}"
        return self.dialect.nested(f"SELECT {element} FROM ({source}) AS {alias}")

    def _list(
        self,
        table: _Table,
        selections: list[SelectionSetNode],
        where: Sequence[Condition] = (),
        page: Page | None = None,
    ) -> str:
        """The rows matching `where` (column = column or bound value), in the table's order,
        one page of them, as an array of objects."""
        self.tables.add(table.name)
        self.lists = True
        alias = self._alias()
        element = self._object(table.type_name, selections, alias)
        conditions = " AND ".join(f"{column} = {self._id(value)}" for column, value in where)
        clause = f" WHERE {conditions}" if conditions else ""
        window = (
            f" LIMIT {self._param(page.limit)} OFFSET {self._param(page.offset)}" if page else ""
        )
        source = (
            f"FROM ({table.select}{clause} ORDER BY {table.key} {table.direction}{window}) "
            f"AS {alias}"
        )
        return self.dialect.array(element, source, f"{alias}.id {table.direction}")


def _trade_filters(arguments: Mapping[str, Any]) -> list[Condition]:
    """The `trades` filters, validated as the general path does."""
    try:
        currency = TradeFilter(currency=arguments.get("currency")).currency
    except ValidationError:
        raise NotCompilable("bad currency") from None
    side = arguments.get("side")
    filters = {
        "t.currency": currency,
        "t.side": Side(side).value if side is not None else None,
        "t.user_id": arguments.get("userId"),
    }
    return [(column, Bound(value)) for column, value in filters.items() if value is not None]
