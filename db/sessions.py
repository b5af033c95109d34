"""Sign-in sessions: who a token belongs to, and ending one session or all of a user's."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db import data_versions
from db.models import RevokedToken, User
from db.records import UserRecord
from db.users import user_columns_select


@dataclass(frozen=True)
class SessionUser:
    user: UserRecord
    token_version: int
    revoked: bool  # this session was logged out
    # The data versions the request reads the cache with: fetched here, in the statement the
    # request sends anyway, so they are at least as new as any commit the request can see.
    versions: data_versions.Versions


async def session_user(session: AsyncSession, user_id: int, session_id: str) -> SessionUser | None:
    """The user, their token version, whether this session was logged out, and the data
    versions: one statement."""
    revoked = exists().where(RevokedToken.jti == session_id).label("revoked")
    query = (
        user_columns_select()
        .add_columns(User.token_version, revoked, *data_versions.columns())
        .where(User.id == user_id)
    )
    row = (await session.execute(query)).one_or_none()
    if row is None:
        return None
    values = row._mapping
    return SessionUser(
        UserRecord(**{field.name: values[field.name] for field in fields(UserRecord)}),
        values["token_version"],
        bool(values["revoked"]),
        data_versions.from_mapping(values),
    )


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
