"""Who is asking: the access token from the HttpOnly cookie or an `Authorization: Bearer` header.

A request with no token is anonymous. One with a token that names no valid session (expired,
forged, logged out, from before a logout-all, of a deactivated user) is refused with
InvalidToken, never served as anonymous: a client must be able to tell "my session ended" from
"I am signed out".
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection
from starlette.responses import Response

from auth.tokens import Claims, read_token
from db import sessions
from db.data_versions import Versions
from db.models import UserRecord
from observability import record
from settings import Settings

COOKIE_NAME = "access_token"
SESSION_REFUSED = "The access token is invalid or has expired; sign in again"
# RFC 6750's answer to a bad bearer token (and to a bad session cookie: the same token).
REFUSAL_CHALLENGE = 'Bearer error="invalid_token"'


class InvalidToken(Exception):
    """A token was sent, but it names no valid session."""


@dataclass(frozen=True)
class SignedIn:
    user: UserRecord
    claims: Claims
    # The data versions as of this check: the cache keys of this request's reads.
    versions: Versions


def _bearer(connection: HTTPConnection) -> str | None:
    scheme, _, credentials = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


def token_from(connection: HTTPConnection) -> str | None:
    return _bearer(connection) or connection.cookies.get(COOKIE_NAME)


def token_is_cookie(connection: HTTPConnection) -> bool:
    """Whether `token_from` took the cookie: the one to delete when it is refused."""
    return _bearer(connection) is None and bool(connection.cookies.get(COOKIE_NAME))


async def signed_in(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], token: str | None
) -> SignedIn | None:
    """The session a token names; None for no token. InvalidToken for a bad or logged-out one, a
    token from before the user's last logout-all, or a deactivated user. One statement, on every
    request."""
    if not token:
        return None
    claims = read_token(settings, token)
    if claims is None:
        raise InvalidToken
    async with session_factory() as session:
        found = await sessions.session_user(
            session, claims.user_id, claims.version, claims.session_id
        )
    if found is None:
        raise InvalidToken
    user = found.user
    record.set_viewer(user.id)  # for this request's log line
    return SignedIn(user, claims, found.versions)


def clear_cookie(response: Response, settings: Settings) -> None:
    """Tells the browser to drop the session cookie (logout, or a cookie that was refused)."""
    response.delete_cookie(
        COOKIE_NAME, path="/", httponly=True, samesite="lax", secure=settings.is_production
    )


def clear_cookie_header(settings: Settings) -> str:
    """`clear_cookie`'s Set-Cookie header, for an answer built from an exception."""
    response = Response()
    clear_cookie(response, settings)
    return response.headers["set-cookie"]
