"""Sign-in sessions: who a token belongs to, and ending one session or all of a user's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db import data_versions, users
from db.models import RevokedToken, User, UserRecord
from db.users import user_columns_select


def session_is_valid(
    user_id: ColumnElement[int], token_version: ColumnElement[int], session_id: ColumnElement[str]
) -> ColumnElement[bool]:
    """When a token's session is valid, as one SQL predicate: the token's version is the user's
    current one (no logout-all since it was issued), this session was not logged out, and the
    user is active. The general path's check (`session_user`) and the compiled path's viewer
    CTE (fastpath/) both use it; the arguments are bound parameters or columns."""
    return and_(
        User.id == user_id,
        User.token_version == token_version,
        User.is_active,
        ~exists().where(RevokedToken.jti == session_id),
    )


@dataclass(frozen=True)
class SessionUser:
    user: UserRecord
    # The data versions the request reads the cache with: fetched here, in the statement the
    # request sends anyway, so they are at least as new as any commit the request can see.
    versions: data_versions.Versions


async def session_user(
    session: AsyncSession, user_id: int, token_version: int, session_id: str
) -> SessionUser | None:
    """The user while the session is valid (session_is_valid), with the data versions: one
    statement. None when the token names no valid session."""
    query = (
        user_columns_select()
        .add_columns(*data_versions.columns())
        .where(session_is_valid(literal(user_id), literal(token_version), literal(session_id)))
    )
    row = (await session.execute(query)).one_or_none()
    if row is None:
        return None
    return SessionUser(users.record(row), data_versions.from_mapping(row._mapping))


async def token_version(session: AsyncSession, user_id: int) -> int:
    version: int = (
        await session.execute(select(User.token_version).where(User.id == user_id))
    ).scalar_one()
    return version


async def revoke(
    session: AsyncSession, *, session_id: str, user_id: int, expires_at: datetime
) -> None:
    """Logout: this token is refused from now on (twice is the same as once)."""
    try:
        async with session.begin_nested():
            session.add(RevokedToken(jti=session_id, user_id=user_id, expires_at=expires_at))
    except IntegrityError:
        pass  # already logged out


async def end_all(session: AsyncSession, user_id: int, *, deactivate: bool = False) -> int:
    """Every token issued so far for the user is refused; returns the new version."""
    values: dict[str, object] = {"token_version": User.token_version + 1}
    if deactivate:
        values["is_active"] = False
    result = await session.execute(
        update(User).where(User.id == user_id).values(**values).returning(User.token_version)
    )
    version: int = result.scalar_one()
    return version
