"""Password hashing: argon2id through passlib's API (the `libpass` fork), off the event loop."""

from __future__ import annotations

import anyio.to_thread
from passlib.context import CryptContext

_context = CryptContext(schemes=["argon2"], argon2__type="ID", deprecated="auto")

# Verified when the email is unknown, so a wrong email costs as long as a wrong password and
# response times do not reveal which accounts exist.
_DUMMY_HASH = _context.hash("not-a-real-password")


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_context.hash, password)


async def verify_password(password: str, password_hash: str | None) -> bool:
    matches = await anyio.to_thread.run_sync(
        _context.verify, password, password_hash or _DUMMY_HASH
    )
    return matches and password_hash is not None
