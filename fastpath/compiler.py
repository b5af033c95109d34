"""Compiles a plain-data query into one SQL statement in which the database builds the JSON.

The same idea as PostGraphile's and Hasura's planners, for this schema: every field of `User`,
`Trade` and `Degree` and the reading root fields (`me`, `user`, `users`, `trade`, `trades`) map
to a column or a correlated subquery. This module walks the document into a plan
(fastpath/plan.py), which SQLAlchemy Core turns into the statement: columns come from the
metadata (fastpath/columns.py), the rules (who sees an email, when a session is valid, how lists
are ordered) from rules/, and every value is a bound parameter. The viewer's session check is the
statement's first CTE, so a request is one round trip.

Only requests the general path would answer with data and no errors compile: anything else
(a field or argument this module does not know, introspection, a bad argument value, a failed
validation, an operation over budget) raises `NotCompilable`, and the request goes to
Strawberry, which produces the errors. So the fast path never has to reproduce an error message.
Variables, arguments and @skip/@include are coerced by graphql-core's own functions, the ones
Strawberry's executor calls, so an explicit null or a default means here what it means there.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from weakref import WeakValueDictionary

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
from sqlalchemy import Dialect

from db import data_versions
from fastpath.columns import SOURCES, Column, column_fields
from fastpath.dialects import DriverSQL, driver_sql
from fastpath.dialects import max_object_depth as dialect_max_object_depth
from fastpath.plan import (
    VIEWER,
    Arg,
    Email,
    Object,
    Outer,
    Rows,
    TypeName,
    ViewerId,
    arg_name,
    build,
    viewer_select,
)
from rules.emails import VIEWER_DEPENDENT_FIELDS
from schema.models import Page, Side, TradeFilter, TradePage

# PostgreSQL functions take at most 100 arguments: 50 key/value pairs per JSON object.
MAX_KEYS = 50


class NotCompilable(Exception):
    """Leave this request to the general path."""


@dataclass(frozen=True)
class Statement:
    query: DriverSQL
    arguments: Mapping[str, object]  # the document's values, by parameter name
    tables: frozenset[str]
    per_viewer: bool  # the JSON depends on who asks (emails, `me`)
    # Worth caching: it reads lists. Single rows by id cost the database no more than the
    # session check a cached answer still needs, so they go straight to it.
    cacheable: bool
    operation_name: str | None = None  # as the document names it, for logs and metrics

    def parameters(self, viewer: Mapping[str, object]) -> tuple[object, ...]:
        return self.query.parameters({**self.arguments, **viewer})

    @functools.cached_property
    def digest(self) -> str:
        """Names the data this statement reads, for the result cache: its text and its values
        (the viewer's are not among them; see `per_viewer`)."""
        values = (self.query.values, sorted(self.arguments.items()))
        return hashlib.sha256(repr((self.query.sql, values)).encode()).hexdigest()


class QueryCompiler:
    """Compiles documents of one schema for one database."""

    def __init__(self, schema: GraphQLSchema, dialect: Dialect) -> None:
        self.schema = schema
        self.dialect = dialect
        self.columns = column_fields(schema)
        self.max_object_depth = dialect_max_object_depth(dialect)
        # For answers from the result cache: the session check alone, with the data versions
        # (db/data_versions.py) that cache keys embed.
        self.viewer_check = driver_sql(viewer_select(*data_versions.columns()), dialect, VIEWER)
        # Each plan's statement while a compiled document (middleware.py's cache) holds it.
        self._built: WeakValueDictionary[Object, DriverSQL] = WeakValueDictionary()

    def compile(
        self,
        document: DocumentNode,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
    ) -> Statement:
        """The statement answering a validated document; NotCompilable when it is not plain
        data."""
        operation = get_operation_ast(document, operation_name)
        if operation is None or operation.operation is not OperationType.QUERY:
            raise NotCompilable("not a query")
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        coerced = get_variable_values(
            self.schema, operation.variable_definitions or (), dict(variables or {})
        )
        if not isinstance(coerced, VariableValues):
            raise NotCompilable("bad variables")
        walk = _Walk(self, fragments, coerced)
        plan = walk.fields_of("Query", [operation.selection_set])
        return Statement(
            self._build(plan, len(walk.values)),
            {arg_name(i): value for i, value in enumerate(walk.values)},
            frozenset(walk.tables),
            walk.per_viewer,
            walk.lists,
            operation.name.value if operation.name else None,
        )

    def _build(self, plan: Object, args: int) -> DriverSQL:
        built = self._built.get(plan)
        if built is None:  # `args` follows from the plan
            built = self._built[plan] = build(plan, self.dialect, args)
        return built


def _page(arguments: Mapping[str, Any]) -> Page:
    try:
        return Page(limit=arguments["limit"], offset=arguments["offset"])
    except ValidationError:
        raise NotCompilable("bad page") from None


def _trade_page(arguments: Mapping[str, Any]) -> TradePage:
    try:
        return TradePage(
            limit=arguments["limit"], offset=arguments["offset"], before=arguments.get("before")
        )
    except ValidationError:
        raise NotCompilable("bad page") from None


class _Walk:
    """One document's plan, field by field, and the values it binds in their order."""

    def __init__(
        self,
        compiler: QueryCompiler,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: VariableValues,
    ) -> None:
        self.schema = compiler.schema
        self.columns: Mapping[tuple[str, str], Column] = compiler.columns
        self.max_object_depth = compiler.max_object_depth
        self.fragments = fragments
        self.variables = variables
        self.values: list[object] = []
        self.tables: set[str] = set()
        self.per_viewer = False
        self.lists = False
        self._depth = 0  # JSON objects open in the statement being built

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

    def fields_of(self, type_name: str, selection_sets: Iterable[SelectionSetNode]) -> Object:
        """The fields selected on an object of the type."""
        fields = self._collect(selection_sets)
        if len(fields) > MAX_KEYS:
            raise NotCompilable("too many keys for one JSON object")
        if self.max_object_depth is not None and self._depth >= self.max_object_depth:
            raise NotCompilable("nested deeper than the database's parser follows")
        self._depth += 1
        try:
            return Object(tuple(self._pair(type_name, key, nodes) for key, nodes in fields.items()))
        finally:
            self._depth -= 1

    def _pair(
        self, type_name: str, key: str, nodes: list[FieldNode]
    ) -> tuple[str, Column | TypeName | Email | Rows]:
        node = nodes[0]
        name = node.name.value
        if name == "__typename":
            return key, TypeName(type_name)
        subselections = [n.selection_set for n in nodes if n.selection_set is not None]
        arguments = self._arguments(type_name, node)
        return key, self._field(type_name, name, arguments, subselections)

    # Fields

    def _arg(self, value: object) -> Arg:
        self.values.append(value)
        return Arg(len(self.values) - 1)

    def _field(
        self,
        type_name: str,
        name: str,
        arguments: Mapping[str, Any],
        selections: list[SelectionSetNode],
    ) -> Column | Email | Rows:
        column = self.columns.get((type_name, name))
        if column is not None:
            return column
        if (type_name, name) in VIEWER_DEPENDENT_FIELDS:
            self.per_viewer = True
        match type_name, name:
            case "Query", "me":
                self.per_viewer = True
                return self._one("User", selections, [("id", ViewerId())])
            case "Query", "user":
                return self._one("User", selections, [("id", self._arg(arguments["id"]))])
            case "Query", "users":
                return self._list("User", selections, page=_page(arguments))
            case "Query", "trade":
                return self._one("Trade", selections, [("id", self._arg(arguments["id"]))])
            case "Query", "trades":
                filters = [(k, self._arg(v)) for k, v in _trade_filters(arguments)]
                page = _trade_page(arguments)
                return self._list("Trade", selections, filters, page, page.before)
            case "User", "email":
                return Email()
            case "User", "degrees":
                return self._list("Degree", selections, [("user_id", Outer("id"))])
            case "User", "trades":
                where = [("user_id", Outer("id"))]
                page = _trade_page(arguments)
                return self._list("Trade", selections, where, page, page.before)
            case "Trade", "user":
                return self._one("User", selections, [("id", Outer("user_id"))])
        raise NotCompilable(f"{type_name}.{name}")

    def _one(
        self, type_name: str, selections: list[SelectionSetNode], where: Sequence[Condition]
    ) -> Rows:
        """The row matching `where`, as an object or null."""
        self.tables.add(SOURCES[type_name].table)
        fields = self.fields_of(type_name, selections)
        return Rows(type_name, tuple(where), fields, many=False)

    def _list(
        self,
        type_name: str,
        selections: list[SelectionSetNode],
        where: Sequence[Condition] = (),
        page: Page | None = None,
        after_id: int | None = None,
    ) -> Rows:
        """The rows matching `where`, in the type's order, one page of them (of those after the
        row with id `after_id` in that order, when given), as an array."""
        self.lists = True
        self.tables.add(SOURCES[type_name].table)
        fields = self.fields_of(type_name, selections)
        window = None if page is None else (self._arg(page.limit), self._arg(page.offset))
        after = None if after_id is None else self._arg(after_id)
        return Rows(type_name, tuple(where), fields, many=True, page=window, after=after)


# `column of the rows = a value`: a bound value, a column of the enclosing row, the viewer's id.
Condition = tuple[str, Arg | Outer | ViewerId]


def _trade_filters(arguments: Mapping[str, Any]) -> list[tuple[str, object]]:
    """The `trades` filters, validated as the general path does."""
    try:
        currency = TradeFilter(currency=arguments.get("currency")).currency
    except ValidationError:
        raise NotCompilable("bad currency") from None
    side = arguments.get("side")
    filters = {
        "currency": currency,
        "side": Side(side).value if side is not None else None,
        "user_id": arguments.get("userId"),
    }
    return [(column, value) for column, value in filters.items() if value is not None]
