"""Queries on users (joined with their role's name)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Role, User
from db.records import UserRecord
from rules.orderings import oldest_first

_COLUMNS = (
    User.id,
    User.email,
    User.name,
    Role.name.label("role"),
    User.is_active,
    User.registered_at,
)


def user_columns_select() -> Select[*tuple[Any, ...]]:
    """The columns of a UserRecord, in order; callers add filters and columns."""
    return select(*_COLUMNS).join(Role, Role.id == User.role_id)


def _record(row: Sequence[Any]) -> UserRecord:
    return UserRecord(*row)


async def users_by_ids(session: AsyncSession, ids: Sequence[int]) -> list[UserRecord]:
    rows = await session.execute(user_columns_select().where(User.id.in_(ids)))
    return [_record(row) for row in rows]


async def user_page(session: AsyncSession, limit: int, offset: int) -> list[UserRecord]:
    rows = await session.execute(
        user_columns_select().order_by(oldest_first(User.id)).limit(limit).offset(offset)
    )
    return [_record(row) for row in rows]


async def user_with_hash(session: AsyncSession, email: str) -> tuple[UserRecord, str] | None:
    """The user with this (lower-cased) email and their password hash, for login."""
    row = (
        await session.execute(
            user_columns_select().add_columns(User.password_hash).where(User.email == email)
        )
    ).one_or_none()
    if row is None:
        return None
    *fields, password_hash = row
    return UserRecord(*fields), password_hash


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
