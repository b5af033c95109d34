"""Queries on users (joined with their role's name)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db import rows
from db.models import Role, User, UserRecord
from rules.orderings import oldest_first


def user_columns(*, prefix: str = "") -> list[ColumnElement[Any]]:
    """The columns a UserRecord names (its role's name from the joined `roles`)."""
    return rows.columns(UserRecord, User, prefix=prefix, role=Role.name)


def user_columns_select(*, prefix: str = "") -> Select[*tuple[Any, ...]]:
    """The columns of a UserRecord, joined with the role; callers add filters and columns."""
    return select(*user_columns(prefix=prefix)).join(Role, Role.id == User.role_id)


def record(row: Row[Any], *, prefix: str = "") -> UserRecord:
    return rows.record(UserRecord, row, prefix=prefix)


async def users_by_ids(session: AsyncSession, ids: Sequence[int]) -> list[UserRecord]:
    found = await session.execute(user_columns_select().where(User.id.in_(ids)))
    return [record(row) for row in found]


async def user_page(session: AsyncSession, limit: int, offset: int) -> list[UserRecord]:
    found = await session.execute(
        user_columns_select().order_by(oldest_first(User.id)).limit(limit).offset(offset)
    )
    return [record(row) for row in found]


async def user_with_hash(session: AsyncSession, email: str) -> tuple[UserRecord, str] | None:
    """The user with this (lower-cased) email and their password hash, for login."""
    row = (
        await session.execute(
            user_columns_select().add_columns(User.password_hash).where(User.email == email)
        )
    ).one_or_none()
    if row is None:
        return None
    return record(row), row.password_hash


async def create_user(
    session: AsyncSession, *, email: str, name: str, password_hash: str, role_id: int
) -> UserRecord:
    user = User(email=email, name=name, password_hash=password_hash, role_id=role_id)
    session.add(user)
    await session.flush()
    return (await users_by_ids(session, [user.id]))[0]


async def rename_user(session: AsyncSession, user_id: int, name: str) -> UserRecord | None:
    result = await session.execute(
        update(User).where(User.id == user_id).values(name=name).returning(User.id)
    )
    if result.scalar_one_or_none() is None:
        return None
    return (await users_by_ids(session, [user_id]))[0]
