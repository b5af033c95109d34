"""What a compiled statement selects, as a plan, and the SQLAlchemy Core statement it stands for.

A plan names every value the statement binds by its position among the document's values
(`Arg`), never by the value itself: documents that differ only in values (`user(id: $id)` for
every id) share one plan, so SQLAlchemy builds and compiles each plan once (a few milliseconds)
and a request pays only for walking its document (fastpath/compiler.py).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    Dialect,
    FromClause,
    Integer,
    Select,
    String,
    Subquery,
    Text,
    bindparam,
    cast,
    literal,
    select,
)
from sqlalchemy import case as case_when

from db.models import Role, User
from db.sessions import session_is_valid
from fastpath.columns import SOURCES, Column
from fastpath.dialects import (
    DriverSQL,
    JSONArray,
    JSONObject,
    JSONText,
    JSONValue,
    driver_sql,
)
from rules.emails import sees_email_sql

# The viewer's bound parameters, given per request from their token's claims.
VIEWER_ID, TOKEN_VERSION, SESSION_ID = VIEWER = (
    "viewer_id",
    "viewer_token_version",
    "viewer_session_id",
)


def viewer_select(*columns: ColumnElement[Any]) -> Select[Any]:
    """The viewer's id and admin flag while their session is valid
    (db.sessions.session_is_valid), and `columns`; no row otherwise."""
    user_id = bindparam(VIEWER_ID, type_=Integer(), required=False)
    version = bindparam(TOKEN_VERSION, type_=Integer(), required=False)
    session_id = bindparam(SESSION_ID, type_=String(), required=False)
    return (
        select(User.id, (Role.name == "admin").label("admin"), *columns)
        .join_from(User, Role, Role.id == User.role_id)
        .where(session_is_valid(user_id, version, session_id))
    )


@dataclass(frozen=True)
class Arg:
    """The document's value at this position, bound as the parameter `arg_name(index)`."""

    index: int


def arg_name(index: int) -> str:
    return f"arg{index}"


@dataclass(frozen=True)
class Outer:
    """A column of the enclosing object's row."""

    column: str


@dataclass(frozen=True)
class ViewerId:
    """The signed-in viewer's id."""


@dataclass(frozen=True)
class TypeName:
    name: str


@dataclass(frozen=True)
class Email:
    """The row's email, when the viewer may see it (rules.emails)."""


@dataclass(frozen=True)
class Rows:
    """The rows of a type where each named column equals a value: one row as an object (or
    null), or many as an array in the type's order, one page of them when `page` is given,
    only those after the row whose id is `after` in that order when it is given."""

    type_name: str
    where: tuple[tuple[str, Arg | Outer | ViewerId], ...]
    fields: Object
    many: bool
    page: tuple[Arg, Arg] | None = None  # limit, offset
    after: Arg | None = None  # a keyset: `before` of the trades


@dataclass(frozen=True)
class Object:
    """A JSON object: response keys and what each holds."""

    pairs: tuple[tuple[str, Column | TypeName | Email | Rows], ...]


def build(plan: Object, dialect: Dialect, args: int) -> DriverSQL:
    """The statement answering `plan` for a viewer, with `args` values bound as arguments."""
    viewer = viewer_select().cte("v")
    data = _Builder(viewer).object(plan, None)
    statement = select(JSONText(data)).select_from(viewer)
    given: Collection[str] = {*VIEWER, *(arg_name(i) for i in range(args))}
    return driver_sql(statement, dialect, given)


class _Builder:
    def __init__(self, viewer: CTE) -> None:
        self.viewer = viewer

    def object(self, plan: Object, row: Subquery | None) -> ColumnElement[Any]:
        return JSONObject([(key, self.value(value, row)) for key, value in plan.pairs])

    def value(
        self, value: Column | TypeName | Email | Rows, row: Subquery | None
    ) -> ColumnElement[Any]:
        match value:
            case Column() if row is not None:
                return value.value(row)
            case TypeName():
                return cast(literal(value.name, String(), literal_execute=True), Text)
            case Email() if row is not None:
                v = self.viewer.c
                return case_when((sees_email_sql(v.id, v.admin, row.c.id), row.c.email))
            case Rows():
                return self.rows(value, row)
        raise ValueError(f"{value!r} outside a row")

    def rows(self, plan: Rows, outer: Subquery | None) -> ColumnElement[Any]:
        source = SOURCES[plan.type_name]
        rows = source.rows()
        columns = rows.selected_columns
        # Only what the fields read: a page of rows is sorted and cut whole, every column.
        read = _read(plan.fields)
        rows = rows.with_only_columns(*(column for key, column in columns.items() if key in read))
        for key, ref in plan.where:
            value, correlated = self._ref(ref, outer)
            rows = rows.where(columns[key] == value)
            if correlated is not None:
                rows = rows.correlate(correlated)
        if not plan.many:
            row = rows.subquery()
            element = select(self.object(plan.fields, row)).select_from(row)
            return JSONValue(self._inside(element))
        if plan.after is not None:
            if source.after is None:
                raise ValueError(f"{plan.type_name} lists have no keyset")
            after = bindparam(arg_name(plan.after.index), type_=Integer(), required=False)
            rows = rows.where(source.after(columns["id"], after))
        rows = rows.order_by(source.order(columns["id"]))
        if plan.page is not None:
            limit, offset = (
                bindparam(arg_name(a.index), type_=Integer(), required=False) for a in plan.page
            )
            rows = rows.limit(limit).offset(offset)
        row = rows.subquery()
        array = JSONArray(self.object(plan.fields, row), source.order(row.c.id))
        return JSONValue(self._inside(select(array).select_from(row)))

    def _inside(self, element: Select[Any]) -> ColumnElement[Any]:
        """A select of JSON as a value of the select around it. SQLAlchemy correlates only with
        the select right around it by itself; the viewer's CTE may be further out (a field
        that reads it, as an email does, would otherwise join it once more)."""
        return element.correlate(self.viewer).scalar_subquery()

    def _ref(
        self, ref: Arg | Outer | ViewerId, outer: Subquery | None
    ) -> tuple[ColumnElement[Any], FromClause | None]:
        """The value a condition compares with, and the enclosing row it correlates with."""
        match ref:
            case Arg():
                return bindparam(arg_name(ref.index), required=False), None
            case Outer() if outer is not None:
                return outer.c[ref.column], outer
            case ViewerId():
                return self.viewer.c.id, self.viewer
        raise ValueError(f"{ref!r} outside a row")


def _read(plan: Object) -> set[str]:
    """The columns of its row an object's fields read (the id orders lists)."""
    read = {"id"}
    for _, value in plan.pairs:
        match value:
            case Column():
                read.add(value.name)
            case Email():
                read.add("email")  # and the id, for rules.emails
            case Rows():
                read.update(ref.column for _, ref in value.where if isinstance(ref, Outer))
    return read
