"""Account operations shared by registration, sign-in, start-up (first admin) and the demo data."""

from __future__ import annotations

import logging

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth.passwords import PasswordHasher
from db import sessions, users
from db.models import ADMIN_ROLE_ID, USER_ROLE_ID, User, UserRecord

logger = logging.getLogger(__name__)


class EmailTakenError(Exception):
    pass


async def register(
    session: AsyncSession, email: str, name: str, password_hash: str, *, admin: bool = False
) -> UserRecord:
    """Create a user in the caller's transaction; EmailTakenError if the email is in use.

    The caller validates the email and name (schema/models.py's UserCreate) and hashes the
    password first, before its transaction holds a connection."""
    try:
        async with session.begin_nested():
            return await users.create_user(
                session,
                email=email,
                name=name,
                password_hash=password_hash,
                role_id=ADMIN_ROLE_ID if admin else USER_ROLE_ID,
            )
    except IntegrityError as error:
        raise EmailTakenError(email) from error


async def authenticate(
    session_factory: async_sessionmaker[AsyncSession],
    passwords: PasswordHasher,
    email: str,
    password: str,
) -> tuple[UserRecord, int] | None:
    """The active user with these credentials and their token version, in the same time whether
    or not the email exists. The connection goes back to the pool before argon2 runs."""
    async with session_factory() as session:
        found = await users.user_with_hash(session, email.strip().lower())
        version = await sessions.token_version(session, found[0].id) if found else 0
    user, password_hash = found if found else (None, None)
    if not await passwords.verify(password, password_hash) or user is None:
        return None
    return (user, version) if user.is_active else None


async def ensure_admin(
    session: AsyncSession, passwords: PasswordHasher, email: str, password: str, name: str
) -> int | None:
    """Make sure this admin exists and is active (idempotent: run at every start-up). The caller
    validates the email, password and name as for any sign-up.

    Returns the admin's id, or None when the account was left alone.

    An existing account with that email is promoted only if it has the configured password:
    whoever registered the address first must not become an admin by it being configured later.
    """
    found = await users.user_with_hash(session, email)
    if found is None:
        hashed = await passwords.hash(password)
        return (await register(session, email, name, hashed, admin=True)).id
    user, password_hash = found
    if not user.is_admin and not await passwords.verify(password, password_hash):
        logger.error(
            "FIRST_ADMIN_EMAIL %s belongs to an account with another password: not promoted",
            email,
        )
        return None
    await session.execute(
        update(User).where(User.id == user.id).values(role_id=ADMIN_ROLE_ID, is_active=True)
    )
    return user.id
