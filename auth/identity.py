"""Who is asking: the access token from the HttpOnly cookie or an `Authorization: Bearer` header."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from auth.tokens import user_id_from_token
from db.records import UserRecord
from db.users import users_by_ids
from services import Services

COOKIE_NAME = "access_token"


def token_from(connection: HTTPConnection) -> str | None:
    scheme, _, credentials = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials:
        return credentials.strip()
    return connection.cookies.get(COOKIE_NAME)


async def viewer_for_token(services: Services, token: str | None) -> UserRecord | None:
    """The active user a valid token names; None for no token, a bad one, or a deactivated user."""
    if not token:
        return None
    user_id = user_id_from_token(services.settings, token)
    if user_id is None:
        return None
    async with services.sessions() as session:
        found = await users_by_ids(session, [user_id])
    return found[0] if found and found[0].is_active else None
